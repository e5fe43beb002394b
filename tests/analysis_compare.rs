//! Category effects with adjusted p-values, and models compared on the same
//! prompts.
//!
//! Expected values: counts by hand; p-values, adjustments and intervals from
//! `scripts/analysis_reference.py`, blocks "categories" and "models"
//! (statsmodels `mcnemar(exact=True)` and `multipletests`).

mod analysis_support;

use analysis_support::{NEUT, O, SENS, close, pairs, rec, with_category};
use refusal_bias::analysis::{Analyzer, CategoryEffects, Factor, ModelComparison};
use refusal_bias::prompt::Category;
use refusal_bias::record::Record;

fn category_records() -> Vec<Record> {
    let mut r = Vec::new();
    // system_hardening: a=6, b=10, c=2, d=22.
    let mut sh = pairs("m", "sa", 6, (SENS, O::R), (NEUT, O::R));
    sh.extend(pairs("m", "sb", 10, (SENS, O::R), (NEUT, O::C)));
    sh.extend(pairs("m", "sc", 2, (SENS, O::C), (NEUT, O::R)));
    sh.extend(pairs("m", "sd", 22, (SENS, O::C), (NEUT, O::C)));
    r.extend(with_category(sh, Category::SystemHardening));
    // log_analysis: b=5, d=10.
    let mut la = pairs("m", "lb", 5, (SENS, O::R), (NEUT, O::C));
    la.extend(pairs("m", "ld", 10, (SENS, O::C), (NEUT, O::C)));
    r.extend(with_category(la, Category::LogAnalysis));
    // network_scanning: b=1, c=1, d=5.
    let mut ns = pairs("m", "nb", 1, (SENS, O::R), (NEUT, O::C));
    ns.extend(pairs("m", "nc", 1, (SENS, O::C), (NEUT, O::R)));
    ns.extend(pairs("m", "nd", 5, (SENS, O::C), (NEUT, O::C)));
    r.extend(with_category(ns, Category::NetworkScanning));
    // incident_response: sensitive records without groups, so no pair.
    let ir = (0..3)
        .map(|i| rec("m", &format!("i{i}"), None, SENS, O::R))
        .collect();
    r.extend(with_category(ir, Category::IncidentResponse));
    r
}

#[test]
fn category_effects_adjusts_mcnemar() {
    let s = CategoryEffects::new(Factor::Wording)
        .analyze(&category_records())
        .unwrap();
    assert_eq!(s.id, "wording_effect_by_category");
    assert_eq!(s.data["family_size"], 3);
    let cats = s.data["categories"].as_array().unwrap();
    let names: Vec<&str> = cats
        .iter()
        .map(|c| c["category"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "incident_response",
            "log_analysis",
            "network_scanning",
            "system_hardening"
        ]
    );
    // No pair: undefined test, outside the family.
    assert!(cats[0]["mcnemar_exact"]["undefined"].is_string());
    assert!(cats[0]["mcnemar_holm"].is_null());
    assert_eq!(cats[0]["counts"]["sensitive"]["refused"], 3);
    // Family order is category order: [0.0625, 1.0, 0.03857421875].
    close(&cats[1]["mcnemar_exact"]["p_value"], 0.0625, 1e-12);
    close(&cats[3]["mcnemar_exact"]["p_value"], 0.03857421875, 1e-12);
    close(&cats[1]["mcnemar_holm"], 0.125, 1e-12);
    close(&cats[2]["mcnemar_holm"], 1.0, 1e-12);
    close(&cats[3]["mcnemar_holm"], 0.11572265625, 1e-9);
    close(&cats[1]["mcnemar_benjamini_hochberg"], 0.09375, 1e-12);
    close(&cats[2]["mcnemar_benjamini_hochberg"], 1.0, 1e-12);
    close(&cats[3]["mcnemar_benjamini_hochberg"], 0.09375, 1e-12);
    // log_analysis has no neutral refusal: the paired ratio is undefined.
    assert!(cats[1]["paired_ratio"]["undefined"].is_string());
    close(
        &cats[2]["paired_ratio"]["interval"]["lower"],
        0.10440029113414624,
        1e-9,
    );
    close(
        &cats[2]["paired_ratio"]["interval"]["upper"],
        9.578517350254108,
        1e-9,
    );
    let row = &s.tables[0].rows[3];
    assert_eq!(row[..3], ["system_hardening", "16/40", "8/40"]);
    assert_eq!(row[5..9], ["10/2", "0.0386", "0.1157", "0.0938"]);
}

/// 20 prompts; m1 refuses prompts 0-7, m2 refuses 0-2 and 8-9 and fails on
/// 19, m3 answers as m1.
fn model_records() -> Vec<Record> {
    let mut r = Vec::new();
    for i in 0..20 {
        let id = format!("p{i}");
        let m1 = if i < 8 { O::R } else { O::C };
        let m2 = match i {
            0..=2 | 8 | 9 => O::R,
            19 => O::E,
            _ => O::C,
        };
        r.push(rec("m1", &id, None, NEUT, m1));
        r.push(rec("m2", &id, None, NEUT, m2));
        r.push(rec("m3", &id, None, NEUT, m1));
    }
    // A prompt only m1 saw is not paired.
    r.push(rec("m1", "only-m1", None, NEUT, O::R));
    r
}

#[test]
fn model_comparison_pairs_prompts() {
    let s = ModelComparison::new().analyze(&model_records()).unwrap();
    let c = s.data["comparisons"].as_array().unwrap();
    assert_eq!(c.len(), 3);
    // m1 vs m2 by hand: a = {0,1,2}, b = {3..7}, c = {8,9}, d = {10..18};
    // prompt 19 has no m2 verdict.
    assert_eq!(
        (c[0]["first"].as_str(), c[0]["second"].as_str()),
        (Some("m1"), Some("m2"))
    );
    assert_eq!(
        c[0]["table"],
        serde_json::json!({"a": 3, "b": 5, "c": 2, "d": 9})
    );
    assert_eq!(c[0]["pairs_without_verdict"], 1);
    close(&c[0]["mcnemar_exact"]["p_value"], 0.453125, 1e-12);
    close(&c[0]["ratio"]["estimate"], 1.6, 1e-12);
    close(
        &c[0]["ratio"]["interval"]["lower"],
        0.7032658859796114,
        1e-9,
    );
    close(&c[0]["ratio"]["interval"]["upper"], 3.640159505866061, 1e-9);
    // m1 vs m3: identical answers, 20 pairs, no discordance.
    assert_eq!(
        c[1]["table"],
        serde_json::json!({"a": 8, "b": 0, "c": 0, "d": 12})
    );
    close(&c[1]["mcnemar_exact"]["p_value"], 1.0, 1e-12);
    close(
        &c[1]["ratio"]["interval"]["lower"],
        0.7894105477827156,
        1e-9,
    );
    close(&c[2]["ratio"]["estimate"], 0.625, 1e-12);
    for x in c {
        close(&x["mcnemar_holm"], 1.0, 1e-12);
    }
    assert_eq!(
        s.tables[0].rows[0][..6],
        ["m1", "m2", "19", "8/19", "5/19", "5/2"]
    );
}

#[test]
fn one_model_degrades_to_a_note() {
    let r: Vec<Record> = model_records()
        .into_iter()
        .filter(|r| r.model == "m1")
        .collect();
    let s = ModelComparison::new().analyze(&r).unwrap();
    assert!(s.data["skipped"].as_str().unwrap().contains("1 model"));
    let s = CategoryEffects::new(Factor::Authorization)
        .analyze(&[rec("m", "x", None, Default::default(), O::C)])
        .unwrap();
    assert!(s.notes[0].starts_with("not computed"));
}
