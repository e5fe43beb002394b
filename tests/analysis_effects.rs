//! Wording and authorization effects on records with known counts.
//!
//! Expected values: counts by hand from the builders below; every statistic
//! from `scripts/analysis_reference.py` (scipy 1.x / statsmodels, printed
//! output pasted here), block named in each test.

mod analysis_support;

use analysis_support::{NEUT, NEUT_AUTH, O, SENS, SENS_AUTH, close, pairs, rec};
use refusal_bias::analysis::{Analyzer, AuthorizationEffect, WordingEffect};
use refusal_bias::record::Record;

/// One model: paired a=6 (both refused), b=10 (sensitive only), c=2
/// (neutral only), d=22, plus two pairs whose sensitive request failed, one
/// sensitive refusal without a group and one lone neutral no-answer.
fn wording_records(model: &str) -> Vec<Record> {
    let mut r = Vec::new();
    r.extend(pairs(model, "a", 6, (SENS, O::R), (NEUT, O::P)));
    r.extend(pairs(model, "b", 10, (SENS, O::P), (NEUT, O::C)));
    r.extend(pairs(model, "c", 2, (SENS, O::C), (NEUT, O::R)));
    r.extend(pairs(model, "d", 22, (SENS, O::C), (NEUT, O::C)));
    r.extend(pairs(model, "e", 2, (SENS, O::E), (NEUT, O::C)));
    r.push(rec(model, "loose", None, SENS, O::R));
    r.push(rec(model, "lone/neutral", Some("lone"), NEUT, O::N));
    r
}

#[test]
fn wording_effect_one_model() {
    let section = WordingEffect::new()
        .analyze(&wording_records("m1"))
        .unwrap();
    let scopes = section.data["scopes"].as_array().unwrap();
    assert_eq!(scopes.len(), 1, "one model, no pooled row");
    let s = &scopes[0];
    assert_eq!(s["scope"], "m1");
    // Hand counts: sensitive 6 + 10 + 1 loose = 17 refused of 17 + 2 + 22 = 41
    // verdicts, 2 errors; neutral 6 + 2 = 8 of 42, 1 no-answer.
    assert_eq!(s["counts"]["sensitive"]["refused"], 17);
    assert_eq!(s["counts"]["sensitive"]["complied"], 24);
    assert_eq!(s["counts"]["sensitive"]["errors"], 2);
    assert_eq!(s["counts"]["neutral"]["refused"], 8);
    assert_eq!(s["counts"]["neutral"]["complied"], 34);
    assert_eq!(s["counts"]["neutral"]["no_answer"], 1);

    // Block "wording one model: 17/41 vs 8/42".
    let u = &s["unpaired"];
    close(&u["rate_ratio"]["estimate"], 2.176829268292683, 1e-12);
    close(
        &u["rate_ratio"]["interval"]["lower"],
        1.0576726059295163,
        1e-9,
    );
    close(
        &u["rate_ratio"]["interval"]["upper"],
        4.480200807631997,
        1e-9,
    );
    close(
        &u["risk_difference"]["estimate"],
        0.22415795586527293,
        1e-12,
    );
    close(
        &u["risk_difference"]["interval"]["lower"],
        0.026413024339192098,
        1e-9,
    );
    close(
        &u["risk_difference"]["interval"]["upper"],
        0.4008776462627226,
        1e-9,
    );
    close(&u["chi_square"]["statistic"], 4.95280868276663, 1e-9);
    close(&u["chi_square"]["p_value"], 0.02604831736875898, 1e-9);
    close(&u["fisher_exact"]["p_value"], 0.0326163504652318, 1e-9);
    assert_eq!(u["rate_ratio"]["n"], 83);

    // Block "wording one model: paired a=6 b=10 c=2 d=22".
    let p = &s["paired"];
    assert_eq!(
        p["pairing"]["table"],
        serde_json::json!({"a": 6, "b": 10, "c": 2, "d": 22})
    );
    assert_eq!(p["pairing"]["pairs"], 40);
    assert_eq!(p["pairing"]["pairs_without_verdict"], 2);
    assert_eq!(p["pairing"]["records_without_partner"], 1);
    assert_eq!(p["pairing"]["records_without_group"], 1);
    assert_eq!(p["pairing"]["records_ambiguous"], 0);
    assert_eq!(p["discordant"]["b"], 10);
    assert_eq!(p["discordant"]["c"], 2);
    close(&p["mcnemar_exact"]["p_value"], 0.03857421875, 1e-12);
    close(&p["ratio"]["estimate"], 2.0, 1e-12);
    close(&p["ratio"]["interval"]["lower"], 1.0943465065967222, 1e-9);
    close(&p["ratio"]["interval"]["upper"], 3.6551494210362026, 1e-9);
    // Paired difference (b - c) / n = 8 / 40 by hand.
    close(&p["difference"]["estimate"], 0.2, 1e-12);

    // The table a person reads carries the same figures.
    let unpaired = &section.tables[0];
    assert_eq!(unpaired.rows[0][1], "17/41");
    assert_eq!(unpaired.rows[0][3], "2.177 [1.058, 4.480]");
    assert_eq!(unpaired.rows[0][7], "2/0/0");
    assert_eq!(unpaired.rows[0][8], "0/1/0");
    let paired = &section.tables[1];
    assert_eq!(paired.rows[0][..6], ["m1", "40", "6", "10", "2", "22"]);
    assert_eq!(paired.rows[0][6], "0.0386");
    assert!(section.notes.iter().any(|n| n.contains("denominator")));
}

#[test]
fn wording_effect_per_model_and_pooled() {
    let mut records = wording_records("m1");
    records.extend(wording_records("m2"));
    let section = WordingEffect::new().analyze(&records).unwrap();
    let scopes = section.data["scopes"].as_array().unwrap();
    let names: Vec<&str> = scopes
        .iter()
        .map(|s| s["scope"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["m1", "m2", "all models"]);
    // Pooled = twice each model's counts (hand arithmetic); the rate ratio
    // is unchanged (34/82 over 16/84 = 17/41 over 8/42).
    let pooled = &scopes[2];
    assert_eq!(pooled["counts"]["sensitive"]["refused"], 34);
    assert_eq!(pooled["counts"]["neutral"]["errors"], 0);
    assert_eq!(pooled["paired"]["pairing"]["pairs"], 80);
    assert_eq!(pooled["paired"]["discordant"]["b"], 20);
    close(
        &pooled["unpaired"]["rate_ratio"]["estimate"],
        2.176829268292683,
        1e-12,
    );
    // Pairs never cross models: each model's table is its own.
    assert_eq!(scopes[1]["paired"]["pairing"]["pairs"], 40);
}

#[test]
fn authorization_effect_holds_wording_fixed() {
    // Four framings per task. Wording is neutral in the authorization
    // pairs below: a=4, b=2 (stated only), c=11 (absent only), d=13.
    let mut r = Vec::new();
    let four = |r: &mut Vec<Record>, g: &str, o: [O; 4]| {
        for (f, o) in [SENS, NEUT, SENS_AUTH, NEUT_AUTH].into_iter().zip(o) {
            r.push(rec("m", &format!("{g}/{}", f.label()), Some(g), f, o));
        }
    };
    // [sensitive, neutral, sensitive+auth, neutral+auth]
    for i in 0..4 {
        four(&mut r, &format!("a{i}"), [O::C, O::R, O::C, O::R]);
    }
    for i in 0..2 {
        four(&mut r, &format!("b{i}"), [O::C, O::C, O::C, O::R]);
    }
    for i in 0..11 {
        four(&mut r, &format!("c{i}"), [O::C, O::R, O::C, O::C]);
    }
    for i in 0..13 {
        four(&mut r, &format!("d{i}"), [O::C, O::C, O::C, O::C]);
    }
    let section = AuthorizationEffect::new().analyze(&r).unwrap();
    let s = &section.data["scopes"][0];
    // Sensitive records all comply, so stated = 4 + 2 = 6 of 60 and absent
    // = 4 + 11 = 15 of 60 refused; pairs: 30 neutral + 30 sensitive pairs.
    assert_eq!(s["counts"]["stated"]["refused"], 6);
    assert_eq!(s["counts"]["absent"]["refused"], 15);
    assert_eq!(s["paired"]["pairing"]["pairs"], 60);
    assert_eq!(
        s["paired"]["pairing"]["table"],
        serde_json::json!({"a": 4, "b": 2, "c": 11, "d": 43})
    );
    // Block "authorization: paired a=4 b=2 c=11 d=13": McNemar depends on
    // b and c only.
    close(
        &s["paired"]["mcnemar_exact"]["p_value"],
        0.0224609375,
        1e-12,
    );
    close(&s["unpaired"]["rate_ratio"]["estimate"], 0.4, 1e-12);

    // The wording effect over the same records pairs within authorization:
    // 30 pairs with it absent and 30 with it stated.
    let w = WordingEffect::new().analyze(&r).unwrap();
    assert_eq!(w.data["scopes"][0]["paired"]["pairing"]["pairs"], 60);
}

#[test]
fn authorization_effect_neutral_only() {
    // Block "authorization: 6/30 vs 15/30" and the paired block.
    let mut r = Vec::new();
    r.extend(pairs("m", "a", 4, (NEUT_AUTH, O::R), (NEUT, O::R)));
    r.extend(pairs("m", "b", 2, (NEUT_AUTH, O::R), (NEUT, O::C)));
    r.extend(pairs("m", "c", 11, (NEUT_AUTH, O::C), (NEUT, O::R)));
    r.extend(pairs("m", "d", 13, (NEUT_AUTH, O::C), (NEUT, O::C)));
    let s = &AuthorizationEffect::new().analyze(&r).unwrap().data["scopes"][0];
    let u = &s["unpaired"];
    close(
        &u["rate_ratio"]["interval"]["lower"],
        0.17970427821541338,
        1e-9,
    );
    close(
        &u["rate_ratio"]["interval"]["upper"],
        0.8903516465434751,
        1e-9,
    );
    close(
        &u["risk_difference"]["interval"]["lower"],
        -0.4984757562764517,
        1e-9,
    );
    close(&u["chi_square"]["p_value"], 0.014850937887364862, 1e-9);
    close(&u["fisher_exact"]["p_value"], 0.029178250088207194, 1e-9);
    let p = &s["paired"];
    close(&p["ratio"]["estimate"], 0.4, 1e-12);
    close(&p["ratio"]["interval"]["lower"], 0.19115551935187003, 1e-9);
    close(&p["ratio"]["interval"]["upper"], 0.8370148062817877, 1e-9);
}

#[test]
fn zero_cell_ratio_is_undefined_not_infinite() {
    // No neutral refusal: the rate ratio has a zero denominator.
    let mut r = pairs("m", "a", 5, (SENS, O::R), (NEUT, O::C));
    r.extend(pairs("m", "d", 5, (SENS, O::C), (NEUT, O::C)));
    let section = WordingEffect::new().analyze(&r).unwrap();
    let u = &section.data["scopes"][0]["unpaired"];
    assert!(
        u["rate_ratio"]["undefined"]
            .as_str()
            .unwrap()
            .contains("zero")
    );
    assert_eq!(section.tables[0].rows[0][3], "undefined");
    // Fisher's test is still defined: 5/10 vs 0/10 with 5 refusals in all;
    // by hand P(a = 5) = C(10,5) C(10,0) / C(20,5) = 252 / 15504 and the
    // symmetric table a = 0 is as likely, so p = 2 * 252 / 15504.
    close(&u["fisher_exact"]["p_value"], 2.0 * 252.0 / 15504.0, 1e-9);
}

#[test]
fn unlabelled_records_degrade_to_a_note() {
    // XSTest-like prompts carry no framing.
    let r: Vec<Record> = (0..5)
        .map(|i| rec("m", &format!("x{i}"), None, Default::default(), O::C))
        .collect();
    for a in [
        Box::new(WordingEffect::new()) as Box<dyn Analyzer>,
        Box::new(AuthorizationEffect::new()),
    ] {
        let s = a.analyze(&r).unwrap();
        assert!(s.notes[0].starts_with("not computed"), "{:?}", s.notes);
        assert!(
            s.data["skipped"]
                .as_str()
                .unwrap()
                .contains("0 of 5 records")
        );
        assert!(s.tables.is_empty());
    }
}
