//! Paired proportions.
