//! Every function in `refusal_bias::stats` against the reference values in
//! `tests/data/stats_reference.json`, written by `scripts/stats_reference.py`
//! (scipy, statsmodels, mpmath; each case names its source).
//!
//! The tolerance is 1e-9 relative (plus 1e-14 absolute, for bounds that are
//! exactly 0) unless a comment at the comparison says why another is right.

use refusal_bias::stats::{
    Alternative, Estimate, PairedTable, StatsError, Table2x2, TestResult, ZeroCellCorrection,
    bootstrap, multiple, paired, power, proportion, regression, stratified, two_sample,
};
use serde_json::Value;

const REL: f64 = 1e-9;

fn reference() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/stats_reference.json"
    );
    let text = std::fs::read_to_string(path).expect("reference file is committed");
    serde_json::from_str(&text).expect("reference file is json")
}

fn cases<'a>(r: &'a Value, key: &str) -> &'a Vec<Value> {
    let v = r[key]
        .as_array()
        .unwrap_or_else(|| panic!("section {key} missing"));
    assert!(!v.is_empty(), "section {key} empty");
    v
}

fn num(c: &Value, key: &str) -> f64 {
    c[key]
        .as_f64()
        .unwrap_or_else(|| panic!("field {key} missing in {c}"))
}

fn int(c: &Value, key: &str) -> u64 {
    c[key]
        .as_u64()
        .unwrap_or_else(|| panic!("field {key} missing in {c}"))
}

fn close_tol(actual: f64, expected: f64, rel: f64, what: &str, case: &Value) {
    let ok = (actual - expected).abs() <= rel * expected.abs() + 1e-14;
    assert!(
        ok,
        "{what}: got {actual:e}, expected {expected:e} (rel {rel:e}) in {case}"
    );
}

fn close(actual: f64, expected: f64, what: &str, case: &Value) {
    close_tol(actual, expected, REL, what, case);
}

fn check_estimate(e: &Estimate, c: &Value, rel: f64) {
    close_tol(e.estimate, num(c, "estimate"), rel, "estimate", c);
    close_tol(e.interval.lower, num(c, "lower"), rel, "lower", c);
    close_tol(e.interval.upper, num(c, "upper"), rel, "upper", c);
    assert_eq!(e.interval.level, num(c, "level"));
}

/// Compare a result with a case that either has numbers or an `error` kind.
fn check_or_error<T: std::fmt::Debug>(
    got: Result<T, StatsError>,
    c: &Value,
    error_key: &str,
    check: impl FnOnce(&T),
) {
    match (c.get(error_key).and_then(Value::as_str), got) {
        (Some("undefined"), Err(StatsError::Undefined(_))) => {}
        (Some("empty"), Err(StatsError::Empty(_))) => {}
        (Some(kind), other) => panic!("expected a {kind} error, got {other:?} for {c}"),
        (None, Ok(v)) => check(&v),
        (None, Err(e)) => panic!("unexpected error {e} for {c}"),
    }
}

fn correction(c: &Value) -> ZeroCellCorrection {
    match c["correction"].as_str().unwrap() {
        "none" => ZeroCellCorrection::None,
        "haldane_anscombe" => ZeroCellCorrection::HaldaneAnscombe,
        "haldane_anscombe_if_zero" => ZeroCellCorrection::HaldaneAnscombeIfZero,
        other => panic!("unknown correction {other}"),
    }
}

fn table(c: &Value) -> Table2x2 {
    Table2x2 {
        a: int(c, "a"),
        b: int(c, "b"),
        c: int(c, "c"),
        d: int(c, "d"),
    }
}

fn paired_table(c: &Value) -> PairedTable {
    PairedTable {
        a: int(c, "a"),
        b: int(c, "b"),
        c: int(c, "c"),
        d: int(c, "d"),
    }
}

#[test]
fn one_proportion() {
    let r = reference();
    for c in cases(&r, "proportion") {
        let (x, n, level) = (int(c, "x"), int(c, "n"), num(c, "level"));
        let got = match c["method"].as_str().unwrap() {
            "wilson" => proportion::wilson(x, n, level),
            "clopper_pearson" => proportion::clopper_pearson(x, n, level),
            "jeffreys" => proportion::jeffreys(x, n, level),
            "agresti_coull" => proportion::agresti_coull(x, n, level),
            other => panic!("unknown method {other}"),
        };
        check_or_error(got, c, "error", |e| {
            check_estimate(e, c, REL);
            assert_eq!(e.n, n);
        });
    }
}

#[test]
fn rate_ratio() {
    let r = reference();
    for c in cases(&r, "rate_ratio") {
        let got = two_sample::rate_ratio(
            int(c, "x1"),
            int(c, "n1"),
            int(c, "x2"),
            int(c, "n2"),
            num(c, "level"),
            correction(c),
        );
        check_or_error(got, c, "error", |e| check_estimate(e, c, REL));
    }
}

#[test]
fn risk_difference() {
    let r = reference();
    for c in cases(&r, "risk_difference") {
        let got = two_sample::risk_difference(
            int(c, "x1"),
            int(c, "n1"),
            int(c, "x2"),
            int(c, "n2"),
            num(c, "level"),
        );
        check_or_error(got, c, "error", |e| check_estimate(e, c, REL));
    }
}

#[test]
fn odds_ratio_woolf() {
    let r = reference();
    for c in cases(&r, "odds_ratio_woolf") {
        let got = two_sample::odds_ratio_woolf(&table(c), num(c, "level"), correction(c));
        check_or_error(got, c, "error", |e| check_estimate(e, c, REL));
    }
}

#[test]
fn odds_ratio_exact() {
    let r = reference();
    for c in cases(&r, "odds_ratio_exact") {
        let got = two_sample::odds_ratio_exact(&table(c), num(c, "level"));
        // Both sides solve for a root: scipy's brentq stops at xtol 1e-13 on
        // the odds-ratio scale over its own noncentral hypergeometric code,
        // while ours bisects the log odds ratio to the last bit. 1e-7
        // relative covers scipy's stopping rule with a wide margin.
        check_or_error(got, c, "error", |e| check_estimate(e, c, 1e-7));
    }
}

fn check_test(t: &TestResult, c: &Value) {
    close(t.p_value, num(c, "p_value"), "p-value", c);
    if c.get("statistic").is_some() {
        close(t.statistic.unwrap(), num(c, "statistic"), "statistic", c);
    }
    assert!((0.0..=1.0).contains(&t.p_value));
}

#[test]
fn chi_square() {
    let r = reference();
    for c in cases(&r, "chi_square") {
        let got = two_sample::chi_square(&table(c), c["yates"].as_bool().unwrap());
        check_or_error(got, c, "error", |t| {
            check_test(t, c);
            assert_eq!(t.df, Some(1.0));
        });
    }
}

#[test]
fn fisher_exact() {
    let r = reference();
    for c in cases(&r, "fisher_exact") {
        let alt = match c["alternative"].as_str().unwrap() {
            "two_sided" => Alternative::TwoSided,
            "less" => Alternative::Less,
            "greater" => Alternative::Greater,
            other => panic!("unknown alternative {other}"),
        };
        let t = two_sample::fisher_exact(&table(c), alt).unwrap();
        check_test(&t, c);
    }
}

#[test]
fn mcnemar() {
    let r = reference();
    for c in cases(&r, "mcnemar") {
        let t = paired_table(c);
        let exact = paired::mcnemar_exact(&t).unwrap();
        close(exact.p_value, num(c, "exact_p"), "exact p", c);
        close(
            exact.statistic.unwrap(),
            num(c, "exact_statistic"),
            "exact statistic",
            c,
        );
        let midp = paired::mcnemar_midp(&t).unwrap();
        close(midp.p_value, num(c, "midp_p"), "mid-p", c);
        check_or_error(
            paired::mcnemar_asymptotic(&t, false),
            c,
            "asymptotic_error",
            |r| {
                close(
                    r.statistic.unwrap(),
                    num(c, "asym_statistic"),
                    "chi-square",
                    c,
                );
                close(r.p_value, num(c, "asym_p"), "chi-square p", c);
            },
        );
        check_or_error(
            paired::mcnemar_asymptotic(&t, true),
            c,
            "asymptotic_error",
            |r| {
                close(
                    r.statistic.unwrap(),
                    num(c, "asym_cc_statistic"),
                    "cc chi-square",
                    c,
                );
                close(r.p_value, num(c, "asym_cc_p"), "cc chi-square p", c);
            },
        );
    }
}

#[test]
fn paired_ratio() {
    let r = reference();
    for c in cases(&r, "paired_ratio") {
        let got = paired::ratio(&paired_table(c), num(c, "level"), correction(c));
        check_or_error(got, c, "error", |e| check_estimate(e, c, REL));
    }
}

#[test]
fn paired_difference() {
    let r = reference();
    for c in cases(&r, "paired_difference") {
        let got = paired::difference(&paired_table(c), num(c, "level"));
        check_or_error(got, c, "error", |e| check_estimate(e, c, REL));
    }
}

fn strata(c: &Value) -> Vec<Table2x2> {
    c["strata"].as_array().unwrap().iter().map(table).collect()
}

#[test]
fn cmh() {
    let r = reference();
    for c in cases(&r, "cmh") {
        let got = stratified::cmh_test(&strata(c), c["continuity"].as_bool().unwrap());
        check_or_error(got, c, "error", |t| check_test(t, c));
    }
}

#[test]
fn mh_odds_ratio() {
    let r = reference();
    for c in cases(&r, "mh_odds_ratio") {
        let got = stratified::mh_odds_ratio(&strata(c), num(c, "level"));
        check_or_error(got, c, "error", |e| check_estimate(e, c, REL));
    }
}

#[test]
fn mh_rate_ratio() {
    let r = reference();
    for c in cases(&r, "mh_rate_ratio") {
        let got = stratified::mh_rate_ratio(&strata(c), num(c, "level"));
        check_or_error(got, c, "error", |e| check_estimate(e, c, REL));
    }
}

#[test]
fn breslow_day() {
    let r = reference();
    for c in cases(&r, "breslow_day") {
        let got = stratified::breslow_day(&strata(c), c["tarone"].as_bool().unwrap());
        check_or_error(got, c, "error", |t| {
            check_test(t, c);
            assert_eq!(t.df, Some(num(c, "df")));
        });
    }
}

/// A p-value adjustment.
type Adjust = fn(&[f64]) -> Result<Vec<f64>, StatsError>;

#[test]
fn multiple_comparisons() {
    let r = reference();
    for c in cases(&r, "multiple") {
        let p: Vec<f64> = c["p"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let adjusters: [(&str, Adjust); 3] = [
            ("bonferroni", multiple::bonferroni),
            ("holm", multiple::holm),
            ("benjamini_hochberg", multiple::benjamini_hochberg),
        ];
        for (name, adjust) in adjusters {
            let got = adjust(&p).unwrap();
            let want = c[name].as_array().unwrap();
            assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(want) {
                close(*g, w.as_f64().unwrap(), name, c);
            }
        }
    }
}

fn floats(c: &Value, key: &str) -> Vec<f64> {
    c[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

#[test]
fn bootstrap_intervals_from_replicates() {
    let r = reference();
    for c in cases(&r, "bootstrap") {
        let (data, reps, level) = (floats(c, "data"), floats(c, "replicates"), num(c, "level"));
        let p = bootstrap::percentile_interval(&reps, level).unwrap();
        close(p.lower, num(c, "percentile_lower"), "percentile lower", c);
        close(p.upper, num(c, "percentile_upper"), "percentile upper", c);
        // the statistic is the mean, so the jackknife is the leave-one-out means
        let total: f64 = data.iter().sum();
        let n = data.len() as f64;
        let jackknife: Vec<f64> = data.iter().map(|x| (total - x) / (n - 1.0)).collect();
        let bca = bootstrap::bca_interval(&reps, num(c, "estimate"), &jackknife, level).unwrap();
        close(bca.acceleration, num(c, "acceleration"), "acceleration", c);
        close(bca.interval.lower, num(c, "bca_lower"), "bca lower", c);
        close(bca.interval.upper, num(c, "bca_upper"), "bca upper", c);
    }
}

fn ints(c: &Value, key: &str) -> Vec<u64> {
    c[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect()
}

#[test]
fn logistic_regression() {
    let r = reference();
    for c in cases(&r, "regression") {
        let names: Vec<String> = c["names"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().into())
            .collect();
        let design = regression::Design::new(names, floats(c, "x")).unwrap();
        let groups = c["groups"].as_array().map(|_| ints(c, "groups"));
        let got = regression::logistic(
            &design,
            &ints(c, "events"),
            &ints(c, "trials"),
            groups.as_deref(),
            &regression::LogisticOptions::default(),
        );
        // Both fits iterate to convergence (ours to a 1e-12 step, statsmodels
        // to a 1e-14 deviance change) and solve the normal equations by
        // different factorizations (Cholesky here, pinv there), so agreement
        // is limited by the conditioning of X'WX rather than by round-off in
        // one formula: 1e-8 relative.
        let tol = 1e-8;
        check_or_error(got, c, "error", |fit| {
            assert!(fit.converged);
            let (params, bse) = (floats(c, "params"), floats(c, "bse"));
            let (lower, upper, pv) = (floats(c, "lower"), floats(c, "upper"), floats(c, "pvalues"));
            for (j, coef) in fit.model.coefficients.iter().enumerate() {
                close_tol(coef.estimate, params[j], tol, "coefficient", c);
                close_tol(coef.standard_error, bse[j], tol, "standard error", c);
                // a bound is a difference `b - z se` that can be near zero:
                // judge it on the scale of its parts
                let scale = params[j].abs() + bse[j];
                let bound_ok = |got: f64, want: f64| (got - want).abs() <= tol * scale;
                assert!(bound_ok(coef.interval.lower, lower[j]), "lower {j} in {c}");
                assert!(bound_ok(coef.interval.upper, upper[j]), "upper {j} in {c}");
                // p = erfc(|z|/sqrt 2) magnifies a relative error in z by
                // about z^2, so p-values get ten times the coefficients'
                // tolerance
                close_tol(coef.p_value, pv[j], 1e-7, "p-value", c);
                close_tol(coef.odds_ratio, params[j].exp(), tol, "odds ratio", c);
            }
            close_tol(fit.deviance, num(c, "deviance"), tol, "deviance", c);
            close_tol(
                fit.null_deviance,
                num(c, "null_deviance"),
                tol,
                "null deviance",
                c,
            );
            close_tol(fit.log_likelihood, num(c, "llf"), tol, "log-likelihood", c);
            match &fit.cluster_robust {
                None => assert!(c.get("robust_bse").is_none()),
                Some(robust) => {
                    let (rb, rp) = (floats(c, "robust_bse"), floats(c, "robust_pvalues"));
                    for (j, coef) in robust.coefficients.iter().enumerate() {
                        close_tol(coef.standard_error, rb[j], tol, "robust se", c);
                        close_tol(coef.p_value, rp[j], 1e-7, "robust p-value", c);
                    }
                }
            }
        });
    }
}

#[test]
fn paired_power() {
    let r = reference();
    for c in cases(&r, "power") {
        let alt = if c["kind"] == "ratio" {
            power::DiscordantProportions::from_ratio(num(c, "u"), num(c, "v"), num(c, "w")).unwrap()
        } else {
            power::DiscordantProportions {
                p10: num(c, "u"),
                p01: num(c, "v"),
            }
        };
        close(alt.p10, num(c, "p10"), "p10", c);
        close(alt.p01, num(c, "p01"), "p01", c);
        let (alpha, target) = (num(c, "alpha"), num(c, "power"));
        let size = power::mcnemar_sample_size(&alt, alpha, target).unwrap();
        close(size.unrounded, num(c, "unrounded"), "unrounded n", c);
        assert_eq!(size.pairs, int(c, "pairs"));
        close(size.power, num(c, "achieved"), "achieved power", c);
        assert!(size.power >= target);
        for e in c["exact"].as_array().unwrap() {
            let got = power::mcnemar_power_exact(&alt, int(e, "pairs"), alpha).unwrap();
            close(got, num(e, "power"), "exact power", c);
        }
    }
}

#[test]
fn paired_ratio_bonett_price() {
    let r = reference();
    for c in cases(&r, "paired_ratio_bonett_price") {
        let got = paired::ratio_bonett_price(&paired_table(c), num(c, "level"));
        check_or_error(got, c, "error", |e| check_estimate(e, c, REL));
    }
}
