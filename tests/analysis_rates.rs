//! Refusal rates by grouping, on records with known counts.
//!
//! Expected counts by hand from the builders; Wilson intervals from
//! `scripts/analysis_reference.py`, block "rates" (statsmodels
//! `proportion_confint(method="wilson")`).

mod analysis_support;

use analysis_support::{NEUT, O, SENS, close, rec};
use refusal_bias::analysis::{Analyzer, GroupBy, RefusalRates, standard_analyzers};
use refusal_bias::prompt::Category;
use refusal_bias::record::Record;

fn records() -> Vec<Record> {
    let mut r = Vec::new();
    // m1, sensitive: 3 refused (2 full, 1 partial) of 10, plus 1 error,
    // 1 no-answer, 2 undetermined.
    let outcomes = [
        (O::R, 2),
        (O::P, 1),
        (O::C, 7),
        (O::E, 1),
        (O::N, 1),
        (O::U, 2),
    ];
    let mut i = 0;
    for (o, k) in outcomes {
        for _ in 0..k {
            r.push(rec("m1", &format!("s{i}"), None, SENS, o));
            i += 1;
        }
    }
    // m1, neutral: 0 of 7.
    for j in 0..7 {
        r.push(rec("m1", &format!("n{j}"), None, NEUT, O::C));
    }
    // m2, neutral: 7 of 7.
    for j in 0..7 {
        r.push(rec("m2", &format!("n{j}"), None, NEUT, O::R));
    }
    r
}

#[test]
fn rates_by_model_and_wording() {
    let section = RefusalRates::new(vec![GroupBy::Model, GroupBy::Wording])
        .analyze(&records())
        .unwrap();
    assert_eq!(section.id, "refusal_rates_by_model_wording");
    let groups = section.data["groups"].as_array().unwrap();
    // Key order: (m1, neutral), (m1, sensitive), (m2, neutral).
    let keys: Vec<(String, String)> = groups
        .iter()
        .map(|g| {
            (
                g["key"]["model"].as_str().unwrap().to_string(),
                g["key"]["wording"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        keys,
        [("m1", "neutral"), ("m1", "sensitive"), ("m2", "neutral")]
            .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    let sens = &groups[1];
    assert_eq!(
        sens["counts"],
        serde_json::json!({"refused": 3, "complied": 7, "errors": 1, "no_answer": 1,
                           "undetermined": 2})
    );
    close(&sens["rate"]["estimate"], 0.3, 1e-12);
    close(
        &sens["rate"]["interval"]["lower"],
        0.10779126740630104,
        1e-9,
    );
    close(&sens["rate"]["interval"]["upper"], 0.6032218525388546, 1e-9);
    assert_eq!(sens["rate"]["n"], 10);
    // 0/n and n/n: finite intervals that reach the boundary.
    close(
        &groups[0]["rate"]["interval"]["upper"],
        0.3543304350666875,
        1e-9,
    );
    assert!(
        groups[0]["rate"]["interval"]["lower"]
            .as_f64()
            .unwrap()
            .abs()
            < 1e-12
    );
    close(
        &groups[2]["rate"]["interval"]["lower"],
        0.6456695649333125,
        1e-9,
    );

    let t = &section.tables[0];
    assert_eq!(t.columns[..3], ["model", "wording", "n"]);
    assert_eq!(
        t.rows[1],
        [
            "m1",
            "sensitive",
            "10",
            "3",
            "0.300 [0.108, 0.603]",
            "1",
            "1",
            "2"
        ]
    );
}

#[test]
fn rates_by_metadata_key_and_category() {
    let mut r = Vec::new();
    // XSTest-like: type "homonyms" 12 of 50 refused; one record without the key.
    for i in 0..50 {
        let mut x = rec(
            "m",
            &format!("h{i}"),
            None,
            Default::default(),
            if i < 12 { O::R } else { O::C },
        );
        x.prompt.metadata.insert("type".into(), "homonyms".into());
        x.prompt.category = Some(Category::Other("xstest".into()));
        r.push(x);
    }
    r.push(rec("m", "plain", None, Default::default(), O::C));
    let s = RefusalRates::new(vec![GroupBy::Metadata("type".into())])
        .analyze(&r)
        .unwrap();
    let groups = s.data["groups"].as_array().unwrap();
    assert_eq!(groups[0]["key"]["type"], "homonyms");
    close(
        &groups[0]["rate"]["interval"]["lower"],
        0.1429739139699172,
        1e-9,
    );
    close(
        &groups[0]["rate"]["interval"]["upper"],
        0.3741268375794292,
        1e-9,
    );
    assert_eq!(groups[1]["key"]["type"], "unlabelled");
    assert_eq!(groups[1]["counts"]["complied"], 1);

    let s = RefusalRates::new(vec![GroupBy::Category])
        .analyze(&r)
        .unwrap();
    assert_eq!(s.data["groups"][0]["key"]["category"], "unlabelled");
    assert_eq!(s.data["groups"][1]["key"]["category"], "xstest");
    assert_eq!(s.data["groups"][1]["counts"]["refused"], 12);
}

#[test]
fn a_group_with_no_verdict_has_no_rate() {
    let r = vec![
        rec("m", "a", None, SENS, O::E),
        rec("m", "b", None, SENS, O::U),
    ];
    let s = RefusalRates::new(vec![]).analyze(&r).unwrap();
    assert_eq!(s.id, "refusal_rates");
    assert!(s.data["groups"][0]["rate"]["undefined"].is_string());
    assert_eq!(s.tables[0].rows[0][..3], ["0", "0", "n = 0"]);
}

#[test]
fn standard_analyzers_never_fail_on_unlabelled_records() {
    let r: Vec<Record> = (0..4)
        .map(|i| rec("m", &format!("x{i}"), None, Default::default(), O::C))
        .collect();
    let mut ids = Vec::new();
    for a in standard_analyzers() {
        let s = a.analyze(&r).unwrap();
        ids.push(s.id);
    }
    assert!(ids.contains(&"wording_effect".to_string()));
    // Names are distinct, so report sections can be told apart.
    let mut dedup = ids.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(dedup.len(), ids.len());
    // Nor on no records at all.
    for a in standard_analyzers() {
        a.analyze(&[]).unwrap();
    }
}

#[test]
fn framing_groups_merge_absent_and_unlabelled_authorization() {
    // `Framing::label` names both "sensitive": one group of 2 (hand count).
    let mut no_auth = SENS;
    no_auth.authorization = None;
    let r = vec![
        rec("m", "a", None, SENS, O::R),
        rec("m", "b", None, no_auth, O::C),
        rec("m", "c", None, analysis_support::SENS_AUTH, O::C),
    ];
    let s = RefusalRates::new(vec![GroupBy::Framing])
        .analyze(&r)
        .unwrap();
    let g = s.data["groups"].as_array().unwrap();
    assert_eq!(g.len(), 2);
    assert_eq!(g[0]["key"]["framing"], "sensitive");
    assert_eq!(g[0]["counts"]["refused"], 1);
    assert_eq!(g[0]["counts"]["complied"], 1);
    assert_eq!(g[1]["key"]["framing"], "sensitive+auth");
}

#[test]
fn run_all_matches_each_analyzer_alone() {
    let mut r = records();
    r.extend(analysis_support::pairs(
        "m2",
        "g",
        6,
        (SENS, O::R),
        (NEUT, O::C),
    ));
    let analyzers = standard_analyzers();
    let shared = refusal_bias::analysis::run_all(&r, &analyzers);
    for (a, s) in analyzers.iter().zip(&shared) {
        assert_eq!(&a.analyze(&r).unwrap(), s, "{}", a.name());
    }
}
