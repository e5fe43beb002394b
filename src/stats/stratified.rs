//! Stratified 2x2 tables: the same two-group comparison repeated in strata
//! (for example per category or per model), pooled with the Mantel-Haenszel
//! estimators and tested with Cochran-Mantel-Haenszel and Breslow-Day.
//!
//! Each stratum is a [`Table2x2`] with the groups as rows. Strata with fewer
//! than two observations carry no information about association and are
//! skipped by every function here; the Breslow-Day test also skips strata
//! with an empty row or column.
//!
//! ```
//! use refusal_bias::stats::{Table2x2, stratified::mh_odds_ratio};
//!
//! let strata = [
//!     Table2x2 { a: 10, b: 5, c: 3, d: 12 },
//!     Table2x2 { a: 8, b: 7, c: 4, d: 11 },
//! ];
//! let or = mh_odds_ratio(&strata, 0.95).unwrap();
//! assert!(or.interval.lower > 1.0);
//! ```

use super::dist::{bisect_increasing, chi2_sf, z_for_level};
use super::{Estimate, Interval, StatsError, Table2x2, TestResult, check_level};

/// The strata with at least two observations, as floats `[a, b, c, d, n]`.
fn informative(strata: &[Table2x2]) -> Result<Vec<[f64; 5]>, StatsError> {
    if strata.is_empty() {
        return Err(StatsError::Empty("no strata".into()));
    }
    let kept: Vec<[f64; 5]> = strata
        .iter()
        .filter(|t| t.total() >= 2)
        .map(|t| {
            [
                t.a as f64,
                t.b as f64,
                t.c as f64,
                t.d as f64,
                t.total() as f64,
            ]
        })
        .collect();
    if kept.is_empty() {
        return Err(StatsError::Empty(
            "no stratum with at least two observations".into(),
        ));
    }
    Ok(kept)
}

fn total(strata: &[Table2x2]) -> u64 {
    strata.iter().map(Table2x2::total).sum()
}

/// The Cochran-Mantel-Haenszel test of no association in any stratum, one
/// degree of freedom:
/// `(|sum(a - E[a])| - cc)^2 / sum Var(a)` with the hypergeometric mean and
/// variance of each stratum, `cc = 0.5` when `continuity` is true (as
/// statsmodels' `StratifiedTable.test_null_odds(correction=True)`; R's
/// `mantelhaen.test` also caps the correction at `|sum(a - E[a])|`, which
/// is done here too and only matters when the statistic is below 0.25).
///
/// # Errors
///
/// [`StatsError::Empty`] with no informative stratum;
/// [`StatsError::Undefined`] when every stratum has an empty row or column
/// (zero variance).
pub fn cmh_test(strata: &[Table2x2], continuity: bool) -> Result<TestResult, StatsError> {
    let kept = informative(strata)?;
    let (mut dev, mut var) = (0.0, 0.0);
    for [a, b, c, d, n] in kept {
        let (r1, r2, c1, c2) = (a + b, c + d, a + c, b + d);
        dev += a - r1 * c1 / n;
        var += r1 * r2 * c1 * c2 / (n * n * (n - 1.0));
    }
    if var == 0.0 {
        return Err(StatsError::Undefined(
            "cmh test where every stratum has an empty row or column".into(),
        ));
    }
    let mut num = dev.abs();
    if continuity {
        num = (num - 0.5).max(0.0);
    }
    let statistic = num * num / var;
    Ok(TestResult {
        statistic: Some(statistic),
        df: Some(1.0),
        p_value: chi2_sf(statistic, 1.0).min(1.0),
        method: if continuity {
            "cochran-mantel-haenszel, continuity correction".into()
        } else {
            "cochran-mantel-haenszel".into()
        },
        n: total(strata),
    })
}

/// The Mantel-Haenszel pooled odds ratio `sum(ad/n) / sum(bc/n)` with the
/// Robins-Breslow-Greenland (1986) variance of its log and a Wald interval
/// on the log scale.
///
/// # Errors
///
/// [`StatsError::Empty`] with no informative stratum; [`StatsError::Invalid`]
/// for a bad level; [`StatsError::Undefined`] when `sum(ad/n)` or
/// `sum(bc/n)` is zero (estimate 0 or infinite).
pub fn mh_odds_ratio(strata: &[Table2x2], level: f64) -> Result<Estimate, StatsError> {
    check_level(level)?;
    let kept = informative(strata)?;
    let (mut r, mut s, mut pr, mut ps_qr, mut qs) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for [a, b, c, d, n] in kept {
        let (p, q) = ((a + d) / n, (b + c) / n);
        let (rk, sk) = (a * d / n, b * c / n);
        r += rk;
        s += sk;
        pr += p * rk;
        ps_qr += p * sk + q * rk;
        qs += q * sk;
    }
    if r == 0.0 || s == 0.0 {
        return Err(StatsError::Undefined(
            "mantel-haenszel odds ratio is zero or infinite: sum(ad/n) or sum(bc/n) is zero".into(),
        ));
    }
    let log_or = r.ln() - s.ln();
    let var = pr / (2.0 * r * r) + ps_qr / (2.0 * r * s) + qs / (2.0 * s * s);
    let z = z_for_level(level);
    Ok(Estimate {
        estimate: log_or.exp(),
        interval: Interval {
            lower: (log_or - z * var.sqrt()).exp(),
            upper: (log_or + z * var.sqrt()).exp(),
            level,
        },
        method: "mantel-haenszel odds ratio, robins-breslow-greenland interval".into(),
        n: total(strata),
    })
}

/// The Mantel-Haenszel pooled rate (risk) ratio
/// `sum(a n2 / n) / sum(c n1 / n)` (row totals `n1 = a + b`, `n2 = c + d`)
/// with the Greenland-Robins (1985) variance of its log,
/// `sum((n1 n2 (a + c) - a c n) / n^2) / (R S)`, and a Wald interval on the
/// log scale.
///
/// # Errors
///
/// [`StatsError::Empty`] with no informative stratum; [`StatsError::Invalid`]
/// for a bad level; [`StatsError::Undefined`] when either weighted sum is
/// zero.
pub fn mh_rate_ratio(strata: &[Table2x2], level: f64) -> Result<Estimate, StatsError> {
    check_level(level)?;
    let kept = informative(strata)?;
    let (mut r, mut s, mut v) = (0.0, 0.0, 0.0);
    for [a, b, c, d, n] in kept {
        let (n1, n2) = (a + b, c + d);
        r += a * n2 / n;
        s += c * n1 / n;
        v += (n1 * n2 * (a + c) - a * c * n) / (n * n);
    }
    if r == 0.0 || s == 0.0 {
        return Err(StatsError::Undefined(
            "mantel-haenszel rate ratio is zero or infinite: a weighted event sum is zero".into(),
        ));
    }
    let log_rr = r.ln() - s.ln();
    let se = (v / (r * s)).sqrt();
    let z = z_for_level(level);
    Ok(Estimate {
        estimate: log_rr.exp(),
        interval: Interval {
            lower: (log_rr - z * se).exp(),
            upper: (log_rr + z * se).exp(),
            level,
        },
        method: "mantel-haenszel rate ratio, greenland-robins interval".into(),
        n: total(strata),
    })
}

/// The Breslow-Day test that the odds ratio is the same in every stratum,
/// against the Mantel-Haenszel pooled odds ratio, with Tarone's (1985)
/// correction when `tarone` is true; `K - 1` degrees of freedom for the `K`
/// strata that have no empty row or column.
///
/// The expected top-left cell of each stratum under the pooled odds ratio
/// is found by bisection on its (increasing) defining equation rather than
/// by the quadratic formula, which loses digits when the pooled odds ratio
/// is near one.
///
/// # Errors
///
/// [`StatsError::Undefined`] with fewer than two usable strata or when the
/// pooled odds ratio is zero or infinite; errors of [`mh_odds_ratio`].
pub fn breslow_day(strata: &[Table2x2], tarone: bool) -> Result<TestResult, StatsError> {
    let pooled = mh_odds_ratio(strata, 0.95)?.estimate;
    let usable: Vec<&Table2x2> = strata
        .iter()
        .filter(|t| t.a + t.b > 0 && t.c + t.d > 0 && t.a + t.c > 0 && t.b + t.d > 0)
        .collect();
    if usable.len() < 2 {
        return Err(StatsError::Undefined(format!(
            "breslow-day test needs two strata with no empty row or column, found {}",
            usable.len()
        )));
    }
    let (mut statistic, mut dev, mut var_sum) = (0.0, 0.0, 0.0);
    for t in &usable {
        let (n1, n2, m1) = ((t.a + t.b) as f64, (t.c + t.d) as f64, (t.a + t.c) as f64);
        let lo = (m1 - n2).max(0.0);
        let hi = n1.min(m1);
        // x (n2 - m1 + x) = pooled (n1 - x)(m1 - x), increasing in x on (lo, hi)
        let g = |x: f64| x * (n2 - m1 + x) - pooled * (n1 - x) * (m1 - x);
        let e = bisect_increasing(g, lo, hi, "breslow-day expected cell")?;
        let v = 1.0 / (1.0 / e + 1.0 / (n1 - e) + 1.0 / (m1 - e) + 1.0 / (n2 - m1 + e));
        let diff = t.a as f64 - e;
        statistic += diff * diff / v;
        dev += diff;
        var_sum += v;
    }
    if tarone {
        statistic -= dev * dev / var_sum;
    }
    let df = (usable.len() - 1) as f64;
    Ok(TestResult {
        statistic: Some(statistic),
        df: Some(df),
        p_value: chi2_sf(statistic, df).min(1.0),
        method: if tarone {
            "breslow-day, tarone correction".into()
        } else {
            "breslow-day".into()
        },
        n: total(strata),
    })
}
