//! The standard analyzers inside a report: every section is present,
//! serialises, and renders, on labelled and on unlabelled records.

mod analysis_support;

use analysis_support::{NEUT, NEUT_AUTH, O, SENS, SENS_AUTH, pairs, rec};
use refusal_bias::analysis::{run_all, standard_analyzers};
use refusal_bias::report::{Report, RunInfo};

#[test]
fn standard_report_renders_every_section() {
    let mut r = pairs("m1", "a", 8, (SENS, O::R), (NEUT, O::C));
    r.extend(pairs("m1", "b", 8, (SENS_AUTH, O::C), (NEUT_AUTH, O::C)));
    r.extend(pairs("m2", "a", 8, (SENS, O::R), (NEUT, O::R)));
    r.extend(pairs("m2", "b", 8, (SENS_AUTH, O::P), (NEUT_AUTH, O::E)));
    r.push(rec("m1", "xs", None, Default::default(), O::N));
    let analyzers = standard_analyzers();
    let report = Report::build(RunInfo::default().count(&r), &r, &analyzers);
    assert_eq!(report.sections.len(), analyzers.len());
    // Report::build (one index per analyzer) and run_all (one index) agree.
    assert_eq!(report.sections, run_all(&r, &analyzers));
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(json["sections"][3]["id"], "wording_effect");
    let md = report.to_markdown();
    assert!(md.contains("## Wording effect: sensitive vs neutral"));
    assert!(md.contains("McNemar exact p"));
    // No NaN or infinity slips into the JSON as a number: serde_json writes
    // them as null, so a null estimate would mean one did.
    assert!(!report.to_json().contains("\"estimate\": null"));
}
