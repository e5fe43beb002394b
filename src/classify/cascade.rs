//! Cascade (in progress).
