//! Pure statistical numerics: no I/O, no records, just numbers in and named
//! results out. Every function here is checked against reference values
//! computed with scipy and statsmodels (see `scripts/stats_reference.py`
//! and `tests/stats_reference.rs`).
//!
//! - [`proportion`]: one proportion (Wilson, Clopper-Pearson, Jeffreys,
//!   Agresti-Coull).
//! - [`two_sample`]: two independent proportions (rate ratio, risk
//!   difference, Woolf and conditional exact odds ratios, chi-square,
//!   Fisher's exact test).
//! - [`paired`]: paired proportions (McNemar exact, mid-p and asymptotic;
//!   ratio and difference of the paired proportions).
//! - [`stratified`]: Cochran-Mantel-Haenszel, Mantel-Haenszel pooled odds
//!   and rate ratios, Breslow-Day.
//! - [`multiple`]: Bonferroni, Holm, Benjamini-Hochberg.
//! - [`bootstrap`]: seeded, thread-count-independent cluster bootstrap with
//!   percentile and BCa intervals.
//! - [`regression`]: logistic regression with model-based and
//!   cluster-robust standard errors.
//! - [`power`]: power and sample size for the paired McNemar design.
//!
//! Conventions: functions take counts and return `Result<_, StatsError>`;
//! zero observations are [`StatsError::Empty`], never NaN; an estimate that
//! would be zero-divided or infinite is [`StatsError::Undefined`] unless a
//! [`ZeroCellCorrection`] is asked for, and the method name of the result
//! says when one was applied. Confidence levels are fractions in (0, 1).

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

pub mod bootstrap;
mod dist;
pub mod multiple;
pub mod paired;
pub mod power;
pub mod proportion;
pub mod regression;
pub mod stratified;
pub mod two_sample;

/// Which way a one-sided test looks, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Alternative {
    /// The effect may go either way.
    TwoSided,
    /// The effect is below the null value (for a 2x2 table: an odds ratio
    /// below one, the top-left cell smaller than expected).
    Less,
    /// The effect is above the null value.
    Greater,
}

/// What to do with a zero cell in a ratio of counts.
///
/// A ratio or odds ratio with a zero cell is zero or infinite and its log
/// interval is undefined. With [`ZeroCellCorrection::None`] such a table is an
/// [`StatsError::Undefined`] error; the Haldane-Anscombe variants add 0.5 to
/// every cell of the 2x2 table (so each group total grows by one) and say so
/// in the method name of the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZeroCellCorrection {
    /// No correction: a zero cell that makes the estimate undefined is an
    /// error.
    None,
    /// Add 0.5 to every cell, always.
    HaldaneAnscombe,
    /// Add 0.5 to every cell only when at least one cell is zero (what
    /// statsmodels' `Table2x2(shift_zeros=True)` does).
    HaldaneAnscombeIfZero,
}

/// A 2x2 table of two independent groups (rows) by outcome (columns).
///
/// Row one is the first group: `a` events out of `a + b`; row two is the
/// second group: `c` events out of `c + d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Table2x2 {
    /// First group, with the event.
    pub a: u64,
    /// First group, without the event.
    pub b: u64,
    /// Second group, with the event.
    pub c: u64,
    /// Second group, without the event.
    pub d: u64,
}

impl Table2x2 {
    /// The table of `x1` events out of `n1` against `x2` out of `n2`.
    ///
    /// # Errors
    ///
    /// [`StatsError::Invalid`] when a count exceeds its total.
    pub fn from_counts(x1: u64, n1: u64, x2: u64, n2: u64) -> Result<Self, StatsError> {
        if x1 > n1 || x2 > n2 {
            return Err(StatsError::Invalid(format!(
                "count above its total: {x1}/{n1} vs {x2}/{n2}"
            )));
        }
        Ok(Table2x2 {
            a: x1,
            b: n1 - x1,
            c: x2,
            d: n2 - x2,
        })
    }

    /// The total number of observations.
    pub fn total(&self) -> u64 {
        self.a + self.b + self.c + self.d
    }

    /// The same table with the two groups (rows) swapped.
    #[must_use]
    pub fn swap_groups(&self) -> Self {
        Table2x2 {
            a: self.c,
            b: self.d,
            c: self.a,
            d: self.b,
        }
    }
}

/// A 2x2 table of paired binary outcomes: each of `n` units (a task, a
/// prompt) observed under a first and a second condition.
///
/// `a` = yes/yes, `b` = yes under the first condition only (discordant
/// yes/no), `c` = yes under the second only (discordant no/yes), `d` = no/no.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PairedTable {
    /// Event under both conditions.
    pub a: u64,
    /// Event under the first condition only.
    pub b: u64,
    /// Event under the second condition only.
    pub c: u64,
    /// Event under neither condition.
    pub d: u64,
}

impl PairedTable {
    /// The number of pairs.
    pub fn pairs(&self) -> u64 {
        self.a + self.b + self.c + self.d
    }

    /// The same table with the two conditions swapped (`b` and `c` trade
    /// places).
    #[must_use]
    pub fn swap_conditions(&self) -> Self {
        PairedTable {
            a: self.a,
            b: self.c,
            c: self.b,
            d: self.d,
        }
    }
}

/// Check a confidence level is strictly between zero and one.
pub(crate) fn check_level(level: f64) -> Result<(), StatsError> {
    if level.is_finite() && level > 0.0 && level < 1.0 {
        Ok(())
    } else {
        Err(StatsError::Invalid(format!(
            "confidence level {level} is not strictly between 0 and 1"
        )))
    }
}
