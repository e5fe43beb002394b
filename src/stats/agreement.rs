//! Agreement between raters: Cohen's kappa for two raters (with its
//! asymptotic standard error and a Wald interval) and Fleiss' kappa for many.
//!
//! The variance formulas are those of Fleiss, Cohen and Everitt (1969), the
//! same that statsmodels' `cohens_kappa` reports; `tests/data/agreement_reference.json`
//! holds statsmodels values that the unit tests compare against.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal};

use super::{Interval, StatsError};

/// Cohen's kappa for two raters over the same items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CohenKappa {
    /// The point estimate.
    pub kappa: f64,
    /// Observed proportion of agreement.
    pub observed_agreement: f64,
    /// Agreement expected by chance from the two raters' margins.
    pub expected_agreement: f64,
    /// Asymptotic standard error of kappa (not assuming kappa = 0).
    pub std_err: f64,
    /// Standard error under the null hypothesis kappa = 0.
    pub std_err_null: f64,
    /// Wald interval `kappa ± z * std_err`, clipped to [-1, 1]. It can be
    /// poor for small samples or kappa near 1; a bootstrap interval would be
    /// the fix there.
    pub interval: Interval,
    /// Two-sided p-value of kappa = 0 (normal approximation with `std_err_null`).
    pub p_value: f64,
    /// The method, as a reader would cite it.
    pub method: String,
    /// The number of items.
    pub n: u64,
}

/// Cohen's kappa from a square contingency `table` (rows: rater A's category,
/// columns: rater B's), with a Wald interval at `level`.
///
/// Errors when the table is empty or not square, when `level` is outside
/// (0, 1), or when chance agreement is 1 (both raters used a single, same
/// category: kappa is undefined).
///
/// ```
/// use refusal_bias::stats::agreement::cohen_kappa;
/// let k = cohen_kappa(&[vec![20, 5], vec![10, 15]], 0.95).unwrap();
/// assert!((k.kappa - 0.4).abs() < 1e-12);
/// ```
pub fn cohen_kappa(table: &[Vec<u64>], level: f64) -> Result<CohenKappa, StatsError> {
    check_level(level)?;
    let k = table.len();
    if k == 0 {
        return Err(StatsError::Empty("empty agreement table".into()));
    }
    if table.iter().any(|row| row.len() != k) {
        return Err(StatsError::Invalid(format!(
            "agreement table must be square, got {k} rows of unequal or different length"
        )));
    }
    let n: u64 = table.iter().flatten().sum();
    if n == 0 {
        return Err(StatsError::Empty("agreement table holds no items".into()));
    }
    let nf = n as f64;
    let p = |i: usize, j: usize| table[i][j] as f64 / nf;
    let row: Vec<f64> = (0..k).map(|i| (0..k).map(|j| p(i, j)).sum()).collect();
    let col: Vec<f64> = (0..k).map(|j| (0..k).map(|i| p(i, j)).sum()).collect();
    let po: f64 = (0..k).map(|i| p(i, i)).sum();
    let pe: f64 = (0..k).map(|i| row[i] * col[i]).sum();
    if (1.0 - pe).abs() < 1e-15 {
        return Err(StatsError::Undefined(
            "chance agreement is 1 (both raters used one category): kappa is undefined".into(),
        ));
    }
    let kappa = (po - pe) / (1.0 - pe);

    // Fleiss, Cohen & Everitt (1969), variance not assuming kappa = 0.
    let mut term_a = 0.0;
    let mut term_b = 0.0;
    for i in 0..k {
        term_a += p(i, i) * (1.0 - (row[i] + col[i]) * (1.0 - kappa)).powi(2);
        for (j, row_j) in row.iter().enumerate() {
            if i != j {
                term_b += p(i, j) * (col[i] + row_j).powi(2);
            }
        }
    }
    term_b *= (1.0 - kappa).powi(2);
    let term_c = (kappa - pe * (1.0 - kappa)).powi(2);
    let var = ((term_a + term_b - term_c) / (1.0 - pe).powi(2) / nf).max(0.0);
    // Variance under kappa = 0.
    let cross: f64 = (0..k).map(|i| row[i] * col[i] * (row[i] + col[i])).sum();
    let var0 = ((pe + pe * pe - cross) / ((1.0 - pe).powi(2) * nf)).max(0.0);

    let z = normal_quantile(level);
    let se = var.sqrt();
    let se0 = var0.sqrt();
    let p_value = if se0 > 0.0 {
        2.0 * (1.0 - std_normal().cdf((kappa / se0).abs()))
    } else {
        f64::NAN
    };
    Ok(CohenKappa {
        kappa,
        observed_agreement: po,
        expected_agreement: pe,
        std_err: se,
        std_err_null: se0,
        interval: Interval {
            lower: (kappa - z * se).max(-1.0),
            upper: (kappa + z * se).min(1.0),
            level,
        },
        p_value,
        method: "cohen_kappa_wald".into(),
        n,
    })
}

/// Fleiss' kappa for many raters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleissKappa {
    /// The point estimate.
    pub kappa: f64,
    /// Mean observed agreement over items.
    pub observed_agreement: f64,
    /// Agreement expected by chance from the pooled category shares.
    pub expected_agreement: f64,
    /// The number of items.
    pub n_items: u64,
    /// The number of ratings per item.
    pub n_raters: u64,
}

/// Fleiss' kappa from an items x categories `table` of counts: `table[i][j]`
/// is how many raters put item `i` in category `j`. Every item must have the
/// same number of ratings, at least two.
///
/// ```
/// use refusal_bias::stats::agreement::fleiss_kappa;
/// // Three raters, two items, perfect agreement on different categories.
/// let k = fleiss_kappa(&[vec![3, 0], vec![0, 3]]).unwrap();
/// assert!((k.kappa - 1.0).abs() < 1e-12);
/// ```
pub fn fleiss_kappa(table: &[Vec<u64>]) -> Result<FleissKappa, StatsError> {
    let Some(first) = table.first() else {
        return Err(StatsError::Empty("no items to rate".into()));
    };
    let cats = first.len();
    let raters: u64 = first.iter().sum();
    if raters < 2 {
        return Err(StatsError::Invalid(format!(
            "each item needs at least two ratings, item 1 has {raters}"
        )));
    }
    for (i, row) in table.iter().enumerate() {
        if row.len() != cats {
            return Err(StatsError::Invalid(format!(
                "item {} has {} categories, expected {cats}",
                i + 1,
                row.len()
            )));
        }
        let s: u64 = row.iter().sum();
        if s != raters {
            return Err(StatsError::Invalid(format!(
                "item {} has {s} ratings, expected {raters}",
                i + 1
            )));
        }
    }
    let n_items = table.len() as f64;
    let r = raters as f64;
    let mut share = vec![0.0; cats];
    let mut p_bar = 0.0;
    for row in table {
        let mut sq = 0.0;
        for (j, &c) in row.iter().enumerate() {
            share[j] += c as f64;
            sq += (c as f64) * (c as f64);
        }
        p_bar += (sq - r) / (r * (r - 1.0));
    }
    p_bar /= n_items;
    let pe: f64 = share.iter().map(|s| (s / (n_items * r)).powi(2)).sum();
    if (1.0 - pe).abs() < 1e-15 {
        return Err(StatsError::Undefined(
            "chance agreement is 1 (all ratings in one category): kappa is undefined".into(),
        ));
    }
    Ok(FleissKappa {
        kappa: (p_bar - pe) / (1.0 - pe),
        observed_agreement: p_bar,
        expected_agreement: pe,
        n_items: table.len() as u64,
        n_raters: raters,
    })
}

fn check_level(level: f64) -> Result<(), StatsError> {
    if level.is_finite() && level > 0.0 && level < 1.0 {
        Ok(())
    } else {
        Err(StatsError::Invalid(format!(
            "confidence level must be in (0, 1), got {level}"
        )))
    }
}

fn std_normal() -> Normal {
    // Mean 0 and sd 1 are always valid parameters.
    Normal::new(0.0, 1.0).expect("standard normal")
}

fn normal_quantile(level: f64) -> f64 {
    std_normal().inverse_cdf(0.5 + level / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Hand computation: po = 35/50 = 0.7; row margins 0.5/0.5, column margins
    // 0.6/0.4, so pe = 0.3 + 0.2 = 0.5 and kappa = (0.7 - 0.5) / 0.5 = 0.4.
    #[test]
    fn cohen_hand_example() {
        let k = cohen_kappa(&[vec![20, 5], vec![10, 15]], 0.95).unwrap();
        assert!((k.observed_agreement - 0.7).abs() < 1e-12);
        assert!((k.expected_agreement - 0.5).abs() < 1e-12);
        assert!((k.kappa - 0.4).abs() < 1e-12);
        assert!(k.interval.lower < 0.4 && k.interval.upper > 0.4);
    }

    /// statsmodels 0.15 `cohens_kappa` and `fleiss_kappa` values, produced by
    /// `scripts/agreement_reference.py`.
    #[test]
    fn matches_statsmodels_reference() {
        let reference: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/data/agreement_reference.json"))
                .unwrap();
        let table = |v: &serde_json::Value| -> Vec<Vec<u64>> {
            serde_json::from_value(v["table"].clone()).unwrap()
        };
        let close = |a: f64, b: &serde_json::Value, what: &str| {
            let b = b.as_f64().unwrap();
            assert!((a - b).abs() < 1e-9, "{what}: {a} vs {b}");
        };
        let cohen = reference["cohen"].as_object().unwrap();
        assert!(cohen.len() >= 5);
        for (name, case) in cohen {
            let k = cohen_kappa(&table(case), 0.95).unwrap();
            close(k.kappa, &case["kappa"], name);
            close(k.std_err, &case["std_kappa"], name);
            close(k.std_err_null, &case["std_kappa0"], name);
            close(k.interval.lower, &case["kappa_low"], name);
            close(k.interval.upper, &case["kappa_upp"], name);
            close(k.p_value, &case["pvalue_two_sided"], name);
        }
        let fleiss = reference["fleiss"].as_object().unwrap();
        assert!(fleiss.len() >= 2);
        for (name, case) in fleiss {
            close(
                fleiss_kappa(&table(case)).unwrap().kappa,
                &case["kappa"],
                name,
            );
        }
    }

    #[test]
    fn cohen_rejects_degenerate_tables() {
        assert!(matches!(
            cohen_kappa(&[vec![5]], 0.95),
            Err(StatsError::Undefined(_))
        ));
        assert!(matches!(
            cohen_kappa(&[vec![0, 0], vec![0, 0]], 0.95),
            Err(StatsError::Empty(_))
        ));
        assert!(matches!(
            cohen_kappa(&[vec![1, 2], vec![3]], 0.95),
            Err(StatsError::Invalid(_))
        ));
        assert!(matches!(
            cohen_kappa(&[vec![1, 2], vec![3, 4]], 1.5),
            Err(StatsError::Invalid(_))
        ));
    }

    // Fleiss (1971) worked example as reproduced on Wikipedia's "Fleiss' kappa"
    // page: 10 items, 14 raters, 5 categories, kappa = 0.210 (P = 0.378).
    // Pe by hand from the column sums 20, 28, 39, 21, 32 of 140 ratings:
    // (20² + 28² + 39² + 21² + 32²) / 140² = 4170 / 19600 = 0.212755.
    #[test]
    fn fleiss_textbook_example() {
        let t = vec![
            vec![0, 0, 0, 0, 14],
            vec![0, 2, 6, 4, 2],
            vec![0, 0, 3, 5, 6],
            vec![0, 3, 9, 2, 0],
            vec![2, 2, 8, 1, 1],
            vec![7, 7, 0, 0, 0],
            vec![3, 2, 6, 3, 0],
            vec![2, 5, 3, 2, 2],
            vec![6, 5, 2, 1, 0],
            vec![0, 2, 2, 3, 7],
        ];
        let k = fleiss_kappa(&t).unwrap();
        assert!((k.kappa - 0.20993).abs() < 5e-5, "{}", k.kappa);
        assert!((k.observed_agreement - 0.37802).abs() < 5e-5);
        assert!((k.expected_agreement - 4170.0 / 19600.0).abs() < 1e-12);
    }

    #[test]
    fn fleiss_rejects_ragged_rows() {
        assert!(fleiss_kappa(&[vec![2, 1], vec![1, 1]]).is_err());
        assert!(fleiss_kappa(&[]).is_err());
    }
}
