//! Paired binary outcomes: the same unit (a task, a prompt) under two
//! conditions (two wordings, or two models), summarised as a
//! [`PairedTable`].
//!
//! The first proportion is `(a + b) / n` (event under the first condition),
//! the second `(a + c) / n`; ratios are first over second and differences
//! first minus second. Only the discordant pairs `b` and `c` carry
//! information about the difference; McNemar's tests condition on `b + c`.
//!
//! ```
//! use refusal_bias::stats::{PairedTable, paired::mcnemar_exact};
//!
//! // 12 tasks refused only when worded offensively, 2 only when neutral.
//! let t = PairedTable { a: 5, b: 12, c: 2, d: 81 };
//! let r = mcnemar_exact(&t).unwrap();
//! assert!(r.p_value < 0.05);
//! ```

use super::dist::{binom_half_pmf_upto, chi2_sf, z_for_level};
use super::proportion::wilson_bounds;
use super::{
    Estimate, Interval, PairedTable, StatsError, TestResult, ZeroCellCorrection, check_level,
};

fn check_pairs(t: &PairedTable) -> Result<u64, StatsError> {
    match t.pairs() {
        0 => Err(StatsError::Empty("paired table with no pairs".into())),
        n => Ok(n),
    }
}

/// McNemar's exact test: the two-sided binomial test of `b` out of `b + c`
/// discordant pairs against 1/2, `p = min(1, 2 P(X <= min(b, c)))`. With no
/// discordant pairs p = 1. The statistic is `min(b, c)`, as statsmodels
/// reports it.
///
/// # Errors
///
/// [`StatsError::Empty`] when the table has no pairs.
pub fn mcnemar_exact(t: &PairedTable) -> Result<TestResult, StatsError> {
    let n = check_pairs(t)?;
    let k = t.b.min(t.c);
    let pmf = binom_half_pmf_upto(t.b + t.c, k);
    let tail: f64 = pmf.iter().sum();
    Ok(TestResult {
        statistic: Some(k as f64),
        df: None,
        p_value: (2.0 * tail).min(1.0),
        method: "mcnemar exact (binomial), two-sided".into(),
        n,
    })
}

/// McNemar's mid-p test (Fagerland, Lydersen and Laake 2013): the exact
/// two-sided p-value less the probability of the observed split,
/// `2 P(X <= k) - P(X = k)` with `k = min(b, c)`, capped at 1.
///
/// # Errors
///
/// [`StatsError::Empty`] when the table has no pairs.
pub fn mcnemar_midp(t: &PairedTable) -> Result<TestResult, StatsError> {
    let n = check_pairs(t)?;
    let k = t.b.min(t.c);
    let pmf = binom_half_pmf_upto(t.b + t.c, k);
    let tail: f64 = pmf.iter().sum();
    let p = 2.0 * tail - pmf[pmf.len() - 1];
    Ok(TestResult {
        statistic: Some(k as f64),
        df: None,
        p_value: p.clamp(0.0, 1.0),
        method: "mcnemar mid-p, two-sided".into(),
        n,
    })
}

/// McNemar's asymptotic chi-square test, one degree of freedom:
/// `(b - c)^2 / (b + c)`, or with Edwards' continuity correction
/// `max(|b - c| - 1, 0)^2 / (b + c)`.
///
/// The `max(.., 0)` differs from R's `mcnemar.test` and statsmodels only
/// when `b = c`, where they give a positive statistic for a perfect balance;
/// here it is 0 and p = 1.
///
/// # Errors
///
/// [`StatsError::Empty`] when the table has no pairs;
/// [`StatsError::Undefined`] when there are no discordant pairs.
pub fn mcnemar_asymptotic(t: &PairedTable, continuity: bool) -> Result<TestResult, StatsError> {
    let n = check_pairs(t)?;
    let disc = t.b + t.c;
    if disc == 0 {
        return Err(StatsError::Undefined(
            "mcnemar chi-square with no discordant pairs".into(),
        ));
    }
    let mut diff = t.b.abs_diff(t.c) as f64;
    if continuity {
        diff = (diff - 1.0).max(0.0);
    }
    let statistic = diff * diff / disc as f64;
    Ok(TestResult {
        statistic: Some(statistic),
        df: Some(1.0),
        p_value: chi2_sf(statistic, 1.0).min(1.0),
        method: if continuity {
            "mcnemar chi-square, edwards continuity correction".into()
        } else {
            "mcnemar chi-square".into()
        },
        n,
    })
}

/// The ratio of the paired proportions, `(a + b) / (a + c)`, with the Wald
/// interval on the log scale from the delta method for the multinomial
/// table: `se(log ratio) = sqrt((b + c) / ((a + b)(a + c)))`.
///
/// With the Haldane-Anscombe correction 0.5 is added to all four cells
/// first. The Wald interval is too narrow with few discordant pairs (it is
/// a single point when `b = c = 0`); prefer [`ratio_bonett_price`] there.
///
/// # Errors
///
/// [`StatsError::Empty`] when the table has no pairs; [`StatsError::Invalid`]
/// for a bad level; [`StatsError::Undefined`] when either proportion is zero
/// and `correction` does not apply.
pub fn ratio(
    t: &PairedTable,
    level: f64,
    correction: ZeroCellCorrection,
) -> Result<Estimate, StatsError> {
    let n = check_pairs(t)?;
    check_level(level)?;
    let cells = [t.a, t.b, t.c, t.d];
    let shift = match correction {
        ZeroCellCorrection::None => false,
        ZeroCellCorrection::HaldaneAnscombe => true,
        ZeroCellCorrection::HaldaneAnscombeIfZero => cells.contains(&0),
    };
    let add = if shift { 0.5 } else { 0.0 };
    let [a, b, c, _] = cells.map(|v| v as f64 + add);
    let (first, second) = (a + b, a + c);
    if first == 0.0 || second == 0.0 {
        return Err(StatsError::Undefined(format!(
            "ratio of paired proportions with a zero proportion in {t:?}; \
             use a zero-cell correction"
        )));
    }
    let log_ratio = first.ln() - second.ln();
    let se = ((b + c) / (first * second)).sqrt();
    let z = z_for_level(level);
    let method = if shift {
        "paired ratio, wald log interval, haldane-anscombe 0.5 on every cell"
    } else {
        "paired ratio, wald log interval"
    };
    Ok(Estimate {
        estimate: log_ratio.exp(),
        interval: Interval {
            lower: (log_ratio - z * se).exp(),
            upper: (log_ratio + z * se).exp(),
            level,
        },
        method: method.into(),
        n,
    })
}

/// The ratio of the paired proportions, `(a + b) / (a + c)`, with the
/// Bonett-Price (2006) hybrid Wilson score interval: Wilson intervals for
/// `(a + b) / n*` and `(a + c) / n*` with `n* = a + b + c`, computed with the
/// critical value scaled by `A / (B + C)`, where
/// `A = sqrt((b + c + 2) / ((a + b + 1)(a + c + 1)))`,
/// `B = sqrt((1 - (a + b + 1)/(n* + 2)) / (a + b + 1))` and `C` likewise for
/// `a + c`; the bounds are `l1 / u2` and `u1 / l2`.
///
/// Recommended over [`ratio`] by Fagerland, Lydersen and Laake (2014): it
/// keeps near-nominal coverage with few discordant pairs and needs no
/// zero-cell correction. When `a + b = 0` the estimate and lower bound are 0.
///
/// # Errors
///
/// [`StatsError::Empty`] when the table has no pairs; [`StatsError::Invalid`]
/// for a bad level; [`StatsError::Undefined`] when `a + c = 0` (the ratio is
/// infinite, or 0/0 when `a + b = 0` too).
pub fn ratio_bonett_price(t: &PairedTable, level: f64) -> Result<Estimate, StatsError> {
    let n = check_pairs(t)?;
    check_level(level)?;
    let (x1, x2) = (t.a + t.b, t.a + t.c);
    if x2 == 0 {
        return Err(StatsError::Undefined(format!(
            "ratio of paired proportions with no events under the second condition in {t:?}"
        )));
    }
    let n_star = t.a + t.b + t.c;
    let (f1, f2, ns) = (x1 as f64, x2 as f64, n_star as f64);
    let a = ((t.b + t.c) as f64 + 2.0).sqrt() / ((f1 + 1.0) * (f2 + 1.0)).sqrt();
    let b = ((1.0 - (f1 + 1.0) / (ns + 2.0)) / (f1 + 1.0)).sqrt();
    let c = ((1.0 - (f2 + 1.0) / (ns + 2.0)) / (f2 + 1.0)).sqrt();
    let z = a / (b + c) * z_for_level(level);
    let (l1, u1) = wilson_bounds(x1, n_star, z);
    let (l2, u2) = wilson_bounds(x2, n_star, z);
    Ok(Estimate {
        estimate: f1 / f2,
        interval: Interval {
            lower: l1 / u2,
            upper: u1 / l2,
            level,
        },
        method: "paired ratio, bonett-price hybrid wilson score interval".into(),
        n,
    })
}

/// The difference of the paired proportions, `(b - c) / n`, with Newcombe's
/// (1998) square-and-add interval for paired data (his method 10): the two
/// marginal Wilson intervals combined with an estimate of the correlation
/// between the two proportions, `phi = C / sqrt((a+b)(c+d)(a+c)(b+d))`,
/// where `C = ad - bc - n/2` when `ad - bc > n/2`, `C = 0` when
/// `0 <= ad - bc <= n/2` and `C = ad - bc` when negative (Newcombe's
/// correction), and `phi = 0` when a margin is empty.
///
/// # Errors
///
/// [`StatsError::Empty`] when the table has no pairs; [`StatsError::Invalid`]
/// for a bad level.
pub fn difference(t: &PairedTable, level: f64) -> Result<Estimate, StatsError> {
    let n = check_pairs(t)?;
    check_level(level)?;
    let z = z_for_level(level);
    let nf = n as f64;
    let (x1, x2) = (t.a + t.b, t.a + t.c);
    let (p1, p2) = (x1 as f64 / nf, x2 as f64 / nf);
    let (l1, u1) = wilson_bounds(x1, n, z);
    let (l2, u2) = wilson_bounds(x2, n, z);
    let margins = [t.a + t.b, t.c + t.d, t.a + t.c, t.b + t.d];
    let phi = if margins.contains(&0) {
        0.0
    } else {
        // Newcombe's corrected numerator: ad - bc shrunk by n/2 towards 0
        // when positive, kept as is when negative.
        let cross = t.a as f64 * t.d as f64 - t.b as f64 * t.c as f64;
        let num = if cross > nf / 2.0 {
            cross - nf / 2.0
        } else {
            cross.min(0.0)
        };
        num / margins.iter().map(|&m| m as f64).product::<f64>().sqrt()
    };
    let diff = p1 - p2;
    let (dl1, du2) = (p1 - l1, u2 - p2);
    let (du1, dl2) = (u1 - p1, p2 - l2);
    let lower = diff
        - (dl1 * dl1 - 2.0 * phi * dl1 * du2 + du2 * du2)
            .max(0.0)
            .sqrt();
    let upper = diff
        + (du1 * du1 - 2.0 * phi * du1 * dl2 + dl2 * dl2)
            .max(0.0)
            .sqrt();
    Ok(Estimate {
        estimate: diff,
        interval: Interval {
            lower: lower.max(-1.0),
            upper: upper.min(1.0),
            level,
        },
        method: "paired difference, newcombe square-and-add interval (method 10)".into(),
        n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_by_hand() {
        // b = 1, c = 4: P(X <= 1) for Bin(5, 1/2) = 6/32, two-sided 12/32.
        let t = PairedTable {
            a: 3,
            b: 1,
            c: 4,
            d: 2,
        };
        assert!((mcnemar_exact(&t).unwrap().p_value - 0.375).abs() < 1e-15);
        // mid-p: 12/32 - 5/32.
        assert!((mcnemar_midp(&t).unwrap().p_value - 7.0 / 32.0).abs() < 1e-15);
        // no discordant pairs: nothing to test
        let none = PairedTable {
            a: 3,
            b: 0,
            c: 0,
            d: 2,
        };
        assert_eq!(mcnemar_exact(&none).unwrap().p_value, 1.0);
        assert!(mcnemar_asymptotic(&none, true).is_err());
    }
}
