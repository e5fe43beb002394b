//! Adjusted p-values for a family of tests (for example one per prompt
//! category), returned in the order of the input.
//!
//! ```
//! use refusal_bias::stats::multiple::holm;
//!
//! let adjusted = holm(&[0.01, 0.04, 0.03]).unwrap();
//! assert_eq!(adjusted, vec![0.03, 0.06, 0.06]);
//! ```

use super::StatsError;

fn check(p: &[f64]) -> Result<(), StatsError> {
    for (i, &v) in p.iter().enumerate() {
        if !(0.0..=1.0).contains(&v) {
            return Err(StatsError::Invalid(format!(
                "p-value {v} at position {i} is not in [0, 1]"
            )));
        }
    }
    Ok(())
}

/// Indices that sort `p` ascending (stable, so ties keep input order).
fn ascending(p: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|&i, &j| p[i].total_cmp(&p[j]));
    order
}

/// Bonferroni: each p-value times the number of tests, capped at 1. Controls
/// the family-wise error rate under any dependence.
///
/// # Errors
///
/// [`StatsError::Invalid`] when a p-value is outside [0, 1] or NaN.
pub fn bonferroni(p: &[f64]) -> Result<Vec<f64>, StatsError> {
    check(p)?;
    let m = p.len() as f64;
    Ok(p.iter().map(|v| (v * m).min(1.0)).collect())
}

/// Holm's (1979) step-down procedure: the `i`-th smallest p-value (from
/// `i = 0`) times `m - i`, made monotone with a running maximum and capped
/// at 1. Controls the family-wise error rate and is never less powerful than
/// Bonferroni.
///
/// # Errors
///
/// As [`bonferroni`].
pub fn holm(p: &[f64]) -> Result<Vec<f64>, StatsError> {
    check(p)?;
    let m = p.len();
    let mut out = vec![0.0; m];
    let mut running = 0.0_f64;
    for (rank, &i) in ascending(p).iter().enumerate() {
        running = running.max(((m - rank) as f64 * p[i]).min(1.0));
        out[i] = running;
    }
    Ok(out)
}

/// Benjamini-Hochberg (1995) step-up adjustment: the `k`-th smallest p-value
/// (from `k = 1`) times `m / k`, made monotone with a running minimum from
/// the largest down and capped at 1. Controls the false discovery rate for
/// independent or positively dependent tests.
///
/// # Errors
///
/// As [`bonferroni`].
pub fn benjamini_hochberg(p: &[f64]) -> Result<Vec<f64>, StatsError> {
    check(p)?;
    let m = p.len();
    let mut out = vec![0.0; m];
    let mut running = 1.0_f64;
    for (rank, &i) in ascending(p).iter().enumerate().rev() {
        running = running.min(p[i] * m as f64 / (rank + 1) as f64);
        out[i] = running;
    }
    Ok(out)
}
