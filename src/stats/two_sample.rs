//! Two independent proportions: `x1 / n1` in a first group against `x2 / n2`
//! in a second, or equivalently a [`Table2x2`] with the groups as rows.
//!
//! Ratios (rate ratio, odds ratios) are first group over second group and
//! differences are first minus second.
//!
//! ```
//! use refusal_bias::stats::{ZeroCellCorrection, two_sample::rate_ratio};
//!
//! // 30/100 refusals with sensitive wording against 11/100 with neutral.
//! let rr = rate_ratio(30, 100, 11, 100, 0.95, ZeroCellCorrection::None).unwrap();
//! assert!((rr.estimate - 30.0 / 11.0).abs() < 1e-12);
//! assert!(rr.interval.lower > 1.0);
//! ```

use super::dist::{Hypergeometric, chi2_sf, z_for_level};
use super::proportion::wilson_bounds;
use super::{
    Alternative, Estimate, Interval, StatsError, Table2x2, TestResult, ZeroCellCorrection,
    check_level,
};

/// The cells of `table` as floats after `correction`, and whether a
/// correction was applied.
fn corrected_cells(table: &Table2x2, correction: ZeroCellCorrection) -> ([f64; 4], bool) {
    let cells = [table.a, table.b, table.c, table.d];
    let any_zero = cells.contains(&0);
    let shift = match correction {
        ZeroCellCorrection::None => false,
        ZeroCellCorrection::HaldaneAnscombe => true,
        ZeroCellCorrection::HaldaneAnscombeIfZero => any_zero,
    };
    let add = if shift { 0.5 } else { 0.0 };
    (cells.map(|c| c as f64 + add), shift)
}

fn check_rows(table: &Table2x2) -> Result<(), StatsError> {
    if table.a + table.b == 0 || table.c + table.d == 0 {
        return Err(StatsError::Empty(format!(
            "a group with no observations in table {table:?}"
        )));
    }
    Ok(())
}

fn method_name(base: &str, shifted: bool) -> String {
    if shifted {
        format!("{base}, haldane-anscombe 0.5 on every cell")
    } else {
        base.to_string()
    }
}

/// Exponentiate a log-scale estimate and its Wald interval.
fn log_wald(log_est: f64, se: f64, level: f64) -> (f64, Interval) {
    let z = z_for_level(level);
    (
        log_est.exp(),
        Interval {
            lower: (log_est - z * se).exp(),
            upper: (log_est + z * se).exp(),
            level,
        },
    )
}

/// The rate (risk) ratio `(x1/n1) / (x2/n2)` with the log (Katz 1978)
/// interval, `se(log RR) = sqrt(1/x1 - 1/n1 + 1/x2 - 1/n2)`.
///
/// # Errors
///
/// [`StatsError::Empty`] when a group is empty; [`StatsError::Invalid`] for a
/// count above its total or a bad level; [`StatsError::Undefined`] when
/// `x1` or `x2` is zero and `correction` does not apply.
pub fn rate_ratio(
    x1: u64,
    n1: u64,
    x2: u64,
    n2: u64,
    level: f64,
    correction: ZeroCellCorrection,
) -> Result<Estimate, StatsError> {
    let table = Table2x2::from_counts(x1, n1, x2, n2)?;
    check_rows(&table)?;
    check_level(level)?;
    let ([a, b, c, d], shifted) = corrected_cells(&table, correction);
    if a == 0.0 || c == 0.0 {
        return Err(StatsError::Undefined(format!(
            "rate ratio with zero events in a group ({x1}/{n1} vs {x2}/{n2}); \
             use a zero-cell correction"
        )));
    }
    let log_rr = (a / (a + b)).ln() - (c / (c + d)).ln();
    let se = (1.0 / a - 1.0 / (a + b) + 1.0 / c - 1.0 / (c + d)).sqrt();
    let (estimate, interval) = log_wald(log_rr, se, level);
    Ok(Estimate {
        estimate,
        interval,
        method: method_name("rate ratio, katz log interval", shifted),
        n: n1 + n2,
    })
}

/// The risk difference `x1/n1 - x2/n2` with Newcombe's (1998) hybrid score
/// interval (his method 10), built from the two Wilson intervals.
///
/// # Errors
///
/// [`StatsError::Empty`] when a group is empty; [`StatsError::Invalid`] for a
/// count above its total or a bad level.
pub fn risk_difference(
    x1: u64,
    n1: u64,
    x2: u64,
    n2: u64,
    level: f64,
) -> Result<Estimate, StatsError> {
    let table = Table2x2::from_counts(x1, n1, x2, n2)?;
    check_rows(&table)?;
    check_level(level)?;
    let z = z_for_level(level);
    let (p1, p2) = (x1 as f64 / n1 as f64, x2 as f64 / n2 as f64);
    let (l1, u1) = wilson_bounds(x1, n1, z);
    let (l2, u2) = wilson_bounds(x2, n2, z);
    let diff = p1 - p2;
    let lower = diff - ((p1 - l1).powi(2) + (u2 - p2).powi(2)).sqrt();
    let upper = diff + ((u1 - p1).powi(2) + (p2 - l2).powi(2)).sqrt();
    Ok(Estimate {
        estimate: diff,
        interval: Interval {
            lower,
            upper,
            level,
        },
        method: "risk difference, newcombe hybrid score interval".into(),
        n: n1 + n2,
    })
}

/// The sample odds ratio `ad / bc` with Woolf's (1955) logit interval,
/// `se(log OR) = sqrt(1/a + 1/b + 1/c + 1/d)`.
///
/// # Errors
///
/// [`StatsError::Empty`] when a group is empty; [`StatsError::Invalid`] for a
/// bad level; [`StatsError::Undefined`] when any cell is zero and
/// `correction` does not apply.
pub fn odds_ratio_woolf(
    table: &Table2x2,
    level: f64,
    correction: ZeroCellCorrection,
) -> Result<Estimate, StatsError> {
    check_rows(table)?;
    check_level(level)?;
    let ([a, b, c, d], shifted) = corrected_cells(table, correction);
    if a == 0.0 || b == 0.0 || c == 0.0 || d == 0.0 {
        return Err(StatsError::Undefined(format!(
            "odds ratio with a zero cell in {table:?}; use a zero-cell correction"
        )));
    }
    let log_or = a.ln() + d.ln() - b.ln() - c.ln();
    let se = (1.0 / a + 1.0 / b + 1.0 / c + 1.0 / d).sqrt();
    let (estimate, interval) = log_wald(log_or, se, level);
    Ok(Estimate {
        estimate,
        interval,
        method: method_name("odds ratio, woolf logit interval", shifted),
        n: table.total(),
    })
}

/// Solve `f(t) = 0` for an increasing `f` over the whole real line: bracket
/// by doubling outward from [-1, 1], then bisect.
fn solve_increasing(mut f: impl FnMut(f64) -> f64, what: &str) -> Result<f64, StatsError> {
    let (mut lo, mut hi) = (-1.0_f64, 1.0_f64);
    while f(lo) > 0.0 {
        lo *= 2.0;
        if lo < -1500.0 {
            return Err(StatsError::NoConvergence(format!(
                "{what}: no lower bracket"
            )));
        }
    }
    while f(hi) < 0.0 {
        hi *= 2.0;
        if hi > 1500.0 {
            return Err(StatsError::NoConvergence(format!(
                "{what}: no upper bracket"
            )));
        }
    }
    super::dist::bisect_increasing(f, lo, hi, what)
}

/// The conditional maximum-likelihood odds ratio with the exact conditional
/// interval, as R's `fisher.test` and scipy's
/// `contingency.odds_ratio(kind="conditional")` compute them.
///
/// Given the margins, the top-left cell follows Fisher's noncentral
/// hypergeometric distribution; the estimate sets its mean to the observed
/// cell, the lower bound solves `P(X >= a) = alpha/2` and the upper bound
/// `P(X <= a) = alpha/2`. When `a` is the smallest possible value the
/// estimate and lower bound are 0.
///
/// # Errors
///
/// [`StatsError::Empty`] when a group is empty; [`StatsError::Invalid`] for a
/// bad level; [`StatsError::Undefined`] when a column is empty (no
/// information) or `a` is the largest possible value (infinite estimate;
/// swap the groups to get its reciprocal, 0, with a finite upper bound).
pub fn odds_ratio_exact(table: &Table2x2, level: f64) -> Result<Estimate, StatsError> {
    check_rows(table)?;
    check_level(level)?;
    let (n1, n2, m) = (table.a + table.b, table.c + table.d, table.a + table.c);
    let h = Hypergeometric::new(n1, n2, m);
    if h.lo == h.hi {
        return Err(StatsError::Undefined(format!(
            "conditional odds ratio with an empty column in {table:?}"
        )));
    }
    if table.a == h.hi {
        return Err(StatsError::Undefined(format!(
            "conditional odds ratio is infinite for {table:?}"
        )));
    }
    let alpha = 1.0 - level;
    let x = table.a;
    let upper = solve_increasing(|t| alpha / 2.0 - h.tails(x, t).0, "exact odds ratio upper")?;
    let (estimate, lower) = if x == h.lo {
        (0.0, 0.0)
    } else {
        let mle = solve_increasing(|t| h.mean(t) - x as f64, "conditional mle")?;
        let lower = solve_increasing(|t| h.tails(x, t).1 - alpha / 2.0, "exact odds ratio lower")?;
        (mle.exp(), lower.exp())
    };
    Ok(Estimate {
        estimate,
        interval: Interval {
            lower,
            upper: upper.exp(),
            level,
        },
        method: "odds ratio, conditional mle, exact conditional interval".into(),
        n: table.total(),
    })
}

/// Pearson's chi-square test of independence, one degree of freedom, with
/// Yates' continuity correction when `yates` is true (each cell moved up to
/// 0.5 towards its expected count, as R and scipy do).
///
/// # Errors
///
/// [`StatsError::Undefined`] when a row or column total is zero (an expected
/// count of zero).
pub fn chi_square(table: &Table2x2, yates: bool) -> Result<TestResult, StatsError> {
    let n = table.total();
    let rows = [table.a + table.b, table.c + table.d];
    let cols = [table.a + table.c, table.b + table.d];
    if rows.contains(&0) || cols.contains(&0) {
        return Err(StatsError::Undefined(format!(
            "chi-square with an empty row or column in {table:?}"
        )));
    }
    let observed = [[table.a, table.b], [table.c, table.d]];
    let mut statistic = 0.0;
    for (i, row) in observed.iter().enumerate() {
        for (j, &o) in row.iter().enumerate() {
            let e = rows[i] as f64 * cols[j] as f64 / n as f64;
            let mut diff = (o as f64 - e).abs();
            if yates {
                diff = (diff - 0.5).max(0.0);
            }
            statistic += diff * diff / e;
        }
    }
    Ok(TestResult {
        statistic: Some(statistic),
        df: Some(1.0),
        p_value: chi2_sf(statistic, 1.0).min(1.0),
        method: if yates {
            "pearson chi-square, yates continuity correction".into()
        } else {
            "pearson chi-square".into()
        },
        n,
    })
}

/// Fisher's exact test on a 2x2 table, conditional on its margins.
///
/// The two-sided p-value sums the probabilities of all tables no more likely
/// than the observed one, with R's relative tolerance of 1e-7 for ties.
/// [`Alternative::Less`] is `P(X <= a)` (odds ratio below one),
/// [`Alternative::Greater`] is `P(X >= a)`. A table with an empty row or
/// column has p = 1. The statistic is `None`: use [`odds_ratio_exact`] for
/// the matching estimate.
///
/// # Errors
///
/// [`StatsError::Empty`] for a table with no observations.
pub fn fisher_exact(table: &Table2x2, alternative: Alternative) -> Result<TestResult, StatsError> {
    if table.total() == 0 {
        return Err(StatsError::Empty(
            "fisher exact test on an empty table".into(),
        ));
    }
    let (n1, n2, m) = (table.a + table.b, table.c + table.d, table.a + table.c);
    let h = Hypergeometric::new(n1, n2, m);
    let pmf = h.pmf(0.0);
    let i = (table.a - h.lo) as usize;
    let p_value = match alternative {
        Alternative::Less => pmf[..=i].iter().sum(),
        Alternative::Greater => pmf[i..].iter().sum(),
        Alternative::TwoSided => {
            let cut = pmf[i] * (1.0 + 1e-7);
            pmf.iter().filter(|&&p| p <= cut).sum::<f64>()
        }
    };
    let side = match alternative {
        Alternative::TwoSided => "two-sided",
        Alternative::Less => "less",
        Alternative::Greater => "greater",
    };
    Ok(TestResult {
        statistic: None,
        df: None,
        p_value: f64::min(p_value, 1.0),
        method: format!("fisher exact test, {side}"),
        n: table.total(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tea_tasting() {
        // Fisher's tea-tasting table [[3, 1], [1, 3]]: P(X >= 3) = (16 + 1) / 70
        // by hand from C(4,k) C(4,4-k) / C(8,4).
        let t = Table2x2 {
            a: 3,
            b: 1,
            c: 1,
            d: 3,
        };
        let g = fisher_exact(&t, Alternative::Greater).unwrap();
        assert!((g.p_value - 17.0 / 70.0).abs() < 1e-15);
        let two = fisher_exact(&t, Alternative::TwoSided).unwrap();
        assert!((two.p_value - 34.0 / 70.0).abs() < 1e-15);
    }

    #[test]
    fn empty_tables_are_errors() {
        let empty = Table2x2 {
            a: 0,
            b: 0,
            c: 0,
            d: 0,
        };
        assert!(matches!(
            fisher_exact(&empty, Alternative::TwoSided),
            Err(StatsError::Empty(_))
        ));
        assert!(matches!(
            odds_ratio_exact(&empty, 0.95),
            Err(StatsError::Empty(_))
        ));
        assert!(chi_square(&empty, false).is_err());
    }

    #[test]
    fn zero_cell_needs_a_correction() {
        assert!(matches!(
            rate_ratio(0, 10, 3, 10, 0.95, ZeroCellCorrection::None),
            Err(StatsError::Undefined(_))
        ));
        let rr = rate_ratio(0, 10, 3, 10, 0.95, ZeroCellCorrection::HaldaneAnscombe).unwrap();
        // (0.5 / 11) / (3.5 / 11) by hand.
        assert!((rr.estimate - 1.0 / 7.0).abs() < 1e-15);
    }
}
