//! Confidence intervals for one binomial proportion `x / n`.
//!
//! All four intervals return the sample proportion `x / n` as the estimate,
//! are finite at `x = 0` and `x = n` (where the bound on the observed side is
//! exactly 0 or 1), and refuse `n = 0`.
//!
//! ```
//! use refusal_bias::stats::proportion::wilson;
//!
//! let e = wilson(3, 10, 0.95).unwrap();
//! assert_eq!(e.estimate, 0.3);
//! assert!(e.interval.lower < 0.3 && 0.3 < e.interval.upper);
//! ```

use super::dist::{beta_quantile, z_for_level};
use super::{Estimate, Interval, StatsError, check_level};

fn check(x: u64, n: u64, level: f64) -> Result<(), StatsError> {
    if n == 0 {
        return Err(StatsError::Empty("proportion of zero trials".into()));
    }
    if x > n {
        return Err(StatsError::Invalid(format!(
            "{x} successes out of {n} trials"
        )));
    }
    check_level(level)
}

fn estimate(x: u64, n: u64, lower: f64, upper: f64, level: f64, method: &str) -> Estimate {
    Estimate {
        estimate: x as f64 / n as f64,
        interval: Interval {
            lower,
            upper,
            level,
        },
        method: method.to_string(),
        n,
    }
}

/// The Wilson score interval bounds, shared with Newcombe's intervals.
pub(crate) fn wilson_bounds(x: u64, n: u64, z: f64) -> (f64, f64) {
    let nf = n as f64;
    let p = x as f64 / nf;
    let z2 = z * z;
    let denom = 1.0 + z2 / nf;
    let centre = (p + z2 / (2.0 * nf)) / denom;
    let half = z * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt() / denom;
    let lower = if x == 0 {
        0.0
    } else {
        (centre - half).max(0.0)
    };
    let upper = if x == n {
        1.0
    } else {
        (centre + half).min(1.0)
    };
    (lower, upper)
}

/// The Wilson score interval (Wilson 1927), without continuity correction.
///
/// # Errors
///
/// [`StatsError::Empty`] when `n = 0`; [`StatsError::Invalid`] when `x > n`
/// or `level` is not in (0, 1).
pub fn wilson(x: u64, n: u64, level: f64) -> Result<Estimate, StatsError> {
    check(x, n, level)?;
    let (lower, upper) = wilson_bounds(x, n, z_for_level(level));
    Ok(estimate(x, n, lower, upper, level, "wilson"))
}

/// The Clopper-Pearson "exact" interval from beta quantiles: lower bound
/// `Beta(alpha/2; x, n-x+1)` (0 when `x = 0`), upper bound
/// `Beta(1-alpha/2; x+1, n-x)` (1 when `x = n`).
///
/// # Errors
///
/// As [`wilson`].
pub fn clopper_pearson(x: u64, n: u64, level: f64) -> Result<Estimate, StatsError> {
    check(x, n, level)?;
    let alpha = 1.0 - level;
    let (xf, nf) = (x as f64, n as f64);
    let lower = if x == 0 {
        0.0
    } else {
        beta_quantile(alpha / 2.0, xf, nf - xf + 1.0)
    };
    let upper = if x == n {
        1.0
    } else {
        beta_quantile(1.0 - alpha / 2.0, xf + 1.0, nf - xf)
    };
    Ok(estimate(x, n, lower, upper, level, "clopper-pearson"))
}

/// The Jeffreys interval: equal-tailed quantiles of the Beta(x + 1/2,
/// n - x + 1/2) posterior, with the Brown-Cai-DasGupta (2001) boundary fix:
/// the lower bound is 0 when `x = 0` and the upper bound 1 when `x = n`.
///
/// statsmodels' `proportion_confint(method="jeffreys")` omits that fix, so at
/// `x = 0` its interval excludes the estimate 0; the reference values apply
/// the fix.
///
/// # Errors
///
/// As [`wilson`].
pub fn jeffreys(x: u64, n: u64, level: f64) -> Result<Estimate, StatsError> {
    check(x, n, level)?;
    let alpha = 1.0 - level;
    let (a, b) = (x as f64 + 0.5, (n - x) as f64 + 0.5);
    let lower = if x == 0 {
        0.0
    } else {
        beta_quantile(alpha / 2.0, a, b)
    };
    let upper = if x == n {
        1.0
    } else {
        beta_quantile(1.0 - alpha / 2.0, a, b)
    };
    Ok(estimate(x, n, lower, upper, level, "jeffreys"))
}

/// The Agresti-Coull interval: a Wald interval around
/// `(x + z^2/2) / (n + z^2)` with `n + z^2` trials, clipped to [0, 1] (as
/// statsmodels does). The estimate stays `x / n`, which the interval always
/// contains.
///
/// # Errors
///
/// As [`wilson`].
pub fn agresti_coull(x: u64, n: u64, level: f64) -> Result<Estimate, StatsError> {
    check(x, n, level)?;
    let z = z_for_level(level);
    let z2 = z * z;
    let n_tilde = n as f64 + z2;
    let p_tilde = (x as f64 + z2 / 2.0) / n_tilde;
    let half = z * (p_tilde * (1.0 - p_tilde) / n_tilde).sqrt();
    let lower = if x == 0 {
        0.0
    } else {
        (p_tilde - half).max(0.0)
    };
    let upper = if x == n {
        1.0
    } else {
        (p_tilde + half).min(1.0)
    };
    Ok(estimate(x, n, lower, upper, level, "agresti-coull"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_trials_is_an_error() {
        assert!(matches!(wilson(0, 0, 0.95), Err(StatsError::Empty(_))));
        assert!(matches!(
            clopper_pearson(1, 0, 0.95),
            Err(StatsError::Empty(_))
        ));
        assert!(matches!(jeffreys(2, 1, 0.95), Err(StatsError::Invalid(_))));
        assert!(matches!(
            agresti_coull(0, 5, 1.0),
            Err(StatsError::Invalid(_))
        ));
    }

    #[test]
    fn clopper_pearson_closed_form_at_zero() {
        // At x = 0 the upper bound solves (1 - p)^n = alpha/2.
        let e = clopper_pearson(0, 20, 0.95).unwrap();
        let expected = 1.0 - 0.025_f64.powf(1.0 / 20.0);
        assert!((e.interval.upper - expected).abs() < 1e-14 * expected);
        assert_eq!(e.interval.lower, 0.0);
    }
}
