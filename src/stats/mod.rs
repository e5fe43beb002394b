//! Pure statistical numerics: no I/O, no records, just numbers in and named
//! results out. Every function here is checked against reference values
//! computed with scipy and statsmodels (see `scripts/` and `tests/`).

pub mod agreement;

use serde::{Deserialize, Serialize};

/// Why a statistic could not be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum StatsError {
    /// No observations where at least one is needed (for example a proportion
    /// of zero trials).
    #[error("no observations: {0}")]
    Empty(String),
    /// An argument is out of its domain (a count above its total, a confidence
    /// level outside (0, 1), ...).
    #[error("invalid input: {0}")]
    Invalid(String),
    /// The estimate is undefined for these data without a correction (a zero
    /// cell in a ratio, separation in a regression).
    #[error("undefined: {0}")]
    Undefined(String),
    /// An iterative method did not converge.
    #[error("did not converge: {0}")]
    NoConvergence(String),
}

/// A two-sided confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Lower bound.
    pub lower: f64,
    /// Upper bound.
    pub upper: f64,
    /// Confidence level, for example 0.95.
    pub level: f64,
}

/// A point estimate with its interval, the method that produced them, and the
/// number of observations behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// The point estimate.
    pub estimate: f64,
    /// The confidence interval.
    pub interval: Interval,
    /// The method, named as a reader would cite it (for example `wilson`).
    pub method: String,
    /// The number of observations.
    pub n: u64,
}

/// The result of a hypothesis test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestResult {
    /// The test statistic, where the test has one.
    pub statistic: Option<f64>,
    /// Degrees of freedom, where they apply.
    pub df: Option<f64>,
    /// The p-value.
    pub p_value: f64,
    /// The method, named as a reader would cite it.
    pub method: String,
    /// The number of observations.
    pub n: u64,
}
