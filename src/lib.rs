//! Measure defensive refusal bias in language models.

pub mod analysis;
pub mod classify;
pub mod error;
pub mod model;
pub mod prompt;
pub mod record;
pub mod report;
pub mod run;
pub mod stats;

pub use error::{Error, Result};
