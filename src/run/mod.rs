//! The runner and its journal.
