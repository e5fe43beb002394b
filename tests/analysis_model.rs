//! Stratified effect, regression and interaction on records with known
//! outcomes.
//!
//! Expected values from `scripts/analysis_reference.py`, blocks
//! "stratified" (statsmodels `StratifiedTable`; the MH rate ratio interval
//! from the Greenland-Robins formula written out there) and "regression"
//! (statsmodels `GLM(Binomial)` on one row per record, `cov_type="cluster"`
//! by task group); counts by hand.

mod analysis_support;

use analysis_support::{NEUT, NEUT_AUTH, O, SENS, SENS_AUTH, close, rec, with_category};
use refusal_bias::analysis::{
    Analyzer, Factor, GroupBy, Interaction, RefusalRegression, StratifiedEffect,
};
use refusal_bias::prompt::Category;
use refusal_bias::record::Record;

/// Unpaired records of one stratum: a/b sensitive refused/complied, c/d
/// neutral refused/complied.
fn stratum(cat: Category, tag: &str, [a, b, c, d]: [usize; 4]) -> Vec<Record> {
    let mut r = Vec::new();
    for (f, o, k) in [
        (SENS, O::R, a),
        (SENS, O::C, b),
        (NEUT, O::R, c),
        (NEUT, O::C, d),
    ] {
        for i in 0..k {
            r.push(rec("m", &format!("{tag}-{}-{i}", f.label()), None, f, o));
        }
    }
    with_category(r, cat)
}

#[test]
fn stratified_effect_by_category() {
    let mut r = stratum(Category::LogAnalysis, "l", [10, 5, 3, 12]);
    r.extend(stratum(Category::NetworkScanning, "n", [8, 7, 4, 11]));
    r.extend(stratum(Category::SystemHardening, "s", [2, 8, 1, 9]));
    // Records without a verdict do not enter the tables.
    r.extend(with_category(
        vec![
            rec("m", "x", None, SENS, O::E),
            rec("m", "y", None, NEUT, O::U),
        ],
        Category::LogAnalysis,
    ));
    let s = StratifiedEffect::new(Factor::Wording)
        .by(vec![GroupBy::Category])
        .analyze(&r)
        .unwrap();
    assert_eq!(s.id, "wording_effect_stratified_by_category");
    let d = &s.data;
    assert_eq!(
        d["strata"][0]["table"],
        serde_json::json!({"a": 10, "b": 5, "c": 3, "d": 12})
    );
    assert_eq!(d["strata"][0]["counts"]["sensitive"]["errors"], 1);
    close(&d["cmh"]["statistic"], 8.11122469842568, 1e-9);
    close(&d["cmh"]["p_value"], 0.004399199534043885, 1e-9);
    close(&d["cmh_continuity"]["p_value"], 0.009036079474396996, 1e-9);
    close(&d["mh_odds_ratio"]["estimate"], 4.2727272727272725, 1e-12);
    close(
        &d["mh_odds_ratio"]["interval"]["lower"],
        1.5423201271123312,
        1e-9,
    );
    close(
        &d["mh_odds_ratio"]["interval"]["upper"],
        11.836841150020076,
        1e-9,
    );
    close(&d["mh_rate_ratio"]["estimate"], 2.5, 1e-12);
    close(
        &d["mh_rate_ratio"]["interval"]["lower"],
        1.2648909334295015,
        1e-9,
    );
    close(
        &d["mh_rate_ratio"]["interval"]["upper"],
        4.941137480568669,
        1e-9,
    );
    close(
        &d["breslow_day_tarone"]["statistic"],
        0.948454577882097,
        1e-9,
    );
    close(
        &d["breslow_day_tarone"]["p_value"],
        0.6223657796316817,
        1e-9,
    );
    assert_eq!(s.tables[0].rows[0][1], "2.500 [1.265, 4.941]");
    assert_eq!(
        s.tables[1].rows[2][..3],
        ["system_hardening", "2/10", "1/10"]
    );
}

const FRAMINGS: [refusal_bias::prompt::Framing; 4] = [SENS, NEUT, SENS_AUTH, NEUT_AUTH];
const THRESHOLD: [usize; 4] = [6, 3, 4, 2];

/// The design of the script's "regression" block: 2 models x 2 categories
/// x 10 tasks x 4 framings, refused when a hash of the indices falls below
/// a threshold per framing (+1 for m2, -1 for system_hardening). Task
/// groups are shared by the two models.
fn design_records() -> Vec<Record> {
    let mut r = Vec::new();
    for (mi, m) in ["m1", "m2"].into_iter().enumerate() {
        for (ci, c) in [Category::LogAnalysis, Category::SystemHardening]
            .into_iter()
            .enumerate()
        {
            for i in 0..10 {
                let g = format!("{c}-{i}");
                for (fi, f) in FRAMINGS.into_iter().enumerate() {
                    let h = (i * 7 + fi * 3 + mi * 5 + ci * 11) % 10;
                    let o = if h + ci < THRESHOLD[fi] + mi {
                        O::R
                    } else {
                        O::C
                    };
                    let mut x = rec(m, &format!("{g}/{}", f.label()), Some(&g), f, o);
                    x.prompt.category = Some(c.clone());
                    r.push(x);
                }
            }
        }
    }
    r
}

fn coef<'a>(fit: &'a serde_json::Value, cov: &str, name: &str) -> &'a serde_json::Value {
    fit[cov]["coefficients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no term {name}"))
}

#[test]
fn regression_matches_statsmodels() {
    let mut r = design_records();
    // Left out and counted: a failed request and an unlabelled record.
    r.push(rec("m1", "err", Some("e"), SENS, O::E));
    r.push(rec("m1", "xs", None, Default::default(), O::R));
    let s = RefusalRegression::new().analyze(&r).unwrap();
    let d = &s.data;
    assert_eq!(d["records_used"], 160);
    assert_eq!(d["records_without_verdict"]["errors"], 1);
    assert_eq!(d["records_without_framing_labels"], 1);
    assert_eq!(d["clusters"], 20);
    assert_eq!(d["reference_levels"]["category"], "log_analysis");
    let fit = &d["fit"];
    // statsmodels fitted with tol=1e-14 (its default 1e-8 leaves the
    // model-based errors off in the eighth digit).
    let expected = [
        (
            "intercept",
            -0.801332574475198,
            0.27883034498896336,
            0.38734329828168357,
        ),
        (
            "sensitive",
            1.1574359000849905,
            0.31865827308469796,
            0.3525998322558749,
        ),
        (
            "authorization_stated",
            -0.7122066512195866,
            0.26272465774807346,
            0.3495105792346059,
        ),
        (
            "category=system_hardening",
            -0.47834647535897834,
            0.14044590965695739,
            0.3480954282753323,
        ),
        (
            "model=m2",
            0.4783464753589789,
            0.22970211857815342,
            0.3480954282753323,
        ),
    ];
    for (name, est, robust_se, model_se) in expected {
        close(&coef(fit, "cluster_robust", name)["estimate"], est, 1e-9);
        close(
            &coef(fit, "cluster_robust", name)["standard_error"],
            robust_se,
            1e-9,
        );
        close(&coef(fit, "model", name)["standard_error"], model_se, 1e-9);
    }
    close(
        &coef(fit, "cluster_robust", "sensitive")["p_value"],
        0.0002809969976725304,
        1e-9,
    );
    close(&fit["deviance"], 192.94484924297686, 1e-9);
    assert_eq!(s.tables[0].rows[1][0], "sensitive");
}

#[test]
fn interaction_cells_and_tests() {
    let s = Interaction::new().analyze(&design_records()).unwrap();
    let d = &s.data;
    // Cells in order sensitive+stated, sensitive+absent, neutral+stated,
    // neutral+absent: 16, 24, 8, 12 refused of 40 each.
    let refused: Vec<u64> = d["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["counts"]["refused"].as_u64().unwrap())
        .collect();
    assert_eq!(refused, [16, 24, 8, 12]);
    close(
        &d["cells"][1]["rate"]["interval"]["lower"],
        0.44595893660346186,
        1e-9,
    );
    close(
        &d["breslow_day_tarone"]["p_value"],
        0.6957477233622862,
        1e-9,
    );
    let t = &d["logistic_interaction"];
    assert_eq!(t["name"], "sensitive:authorization_stated");
    close(&t["estimate"], -0.28331450739177955, 1e-9);
    close(&t["standard_error"], 0.5392229942738731, 1e-9);
    close(&t["p_value"], 0.5992964581793511, 1e-9);
}

#[test]
fn model_sections_degrade_without_labels() {
    let r: Vec<Record> = (0..6)
        .map(|i| rec("m", &format!("x{i}"), None, Default::default(), O::C))
        .collect();
    for a in [
        Box::new(Interaction::new()) as Box<dyn Analyzer>,
        Box::new(RefusalRegression::new()),
        Box::new(StratifiedEffect::new(Factor::Wording)),
    ] {
        let s = a.analyze(&r).unwrap();
        assert!(
            s.notes[0].starts_with("not computed"),
            "{}: {:?}",
            s.id,
            s.notes
        );
    }
}

#[test]
fn separation_is_reported_not_fitted() {
    // Every sensitive record refuses, no neutral one does.
    let mut r = Vec::new();
    for i in 0..5 {
        let g = format!("g{i}");
        for (f, o) in [
            (SENS, O::R),
            (NEUT, O::C),
            (SENS_AUTH, O::R),
            (NEUT_AUTH, O::C),
        ] {
            r.push(rec("m", &format!("{g}/{}", f.label()), Some(&g), f, o));
        }
    }
    let s = RefusalRegression::new().analyze(&r).unwrap();
    assert!(
        s.data["fit"]["undefined"]
            .as_str()
            .unwrap()
            .contains("separation")
    );
    assert!(s.notes.iter().any(|n| n.contains("could not be fitted")));
}
