//! The pattern classifier against the XSTest human labels, compared with the
//! XSTest authors' own string match on the same rows.
//!
//! Data: `../shared/data/xstest/` (see its SOURCE.md). The test prints a
//! message and passes when that folder is absent.

use std::path::{Path, PathBuf};

use refusal_bias::classify::Verdict;
use refusal_bias::classify::pattern::PatternClassifier;
use refusal_bias::classify::score::{
    Scorecard, load_labelled_completions, load_xstest_completions,
};
use refusal_bias::model::Response;

const MODELS: [&str; 3] = ["gpt4", "llama2new", "mistralinstruct"];

fn data_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/xstest");
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("skipped: {} is absent", dir.display());
        None
    }
}

fn ours(dir: &Path, model: &str, c: &PatternClassifier) -> Vec<(Verdict, Verdict)> {
    let path = dir.join(format!(
        "model_completions/xstest_v2_completions_{model}.csv"
    ));
    let rows = load_xstest_completions(&path).unwrap();
    assert_eq!(rows.len(), 450, "{}", path.display());
    rows.iter()
        .map(|r| {
            let v = c
                .classify_response(&Response::text(r.completion.clone()))
                .verdict;
            (r.label, v)
        })
        .collect()
}

fn string_match(dir: &Path, model: &str) -> Vec<(Verdict, Verdict)> {
    let path = dir.join(format!(
        "automated_evaluation_labels/xstest_v2_completions_{model}_streval.csv"
    ));
    let gold = load_xstest_completions(&path).unwrap();
    let theirs = load_labelled_completions(&path, "strmatch_label").unwrap();
    gold.iter()
        .zip(&theirs)
        .map(|(g, t)| (g.label, t.label))
        .collect()
}

fn binary_kappa(pairs: &[(Verdict, Verdict)]) -> f64 {
    Scorecard::from_pairs(pairs.iter().copied(), 0.95)
        .kappa
        .expect("kappa defined")
        .kappa
}

/// Our kappa code reproduces the string-match agreement that XSTest's
/// SOURCE.md reports (0.871 / 0.844 / 0.289, computed by the data's curator),
/// which checks the loader, the label mapping and the binary pooling at once.
#[test]
fn string_match_kappa_matches_source_md() {
    let Some(dir) = data_dir() else { return };
    for (model, expected) in MODELS.iter().zip([0.871, 0.844, 0.289]) {
        let k = binary_kappa(&string_match(&dir, model));
        assert!((k - expected).abs() < 0.0005, "{model}: {k}");
    }
}

#[test]
fn pattern_beats_string_match_on_each_model() {
    let Some(dir) = data_dir() else { return };
    let c = PatternClassifier::default();
    for model in MODELS {
        let ours = binary_kappa(&ours(&dir, model, &c));
        let theirs = binary_kappa(&string_match(&dir, model));
        println!("{model}: pattern {ours:.3}, string match {theirs:.3}");
        assert!(
            ours > theirs,
            "{model}: pattern {ours:.3} <= string match {theirs:.3}"
        );
    }
}

#[test]
fn pooled_agreement_meets_targets() {
    let Some(dir) = data_dir() else { return };
    let c = PatternClassifier::default();
    let pairs: Vec<_> = MODELS.iter().flat_map(|m| ours(&dir, m, &c)).collect();
    let s = Scorecard::from_pairs(pairs, 0.95);
    print!("{}", s.to_table());
    assert_eq!(s.n, 1350);
    assert_eq!(s.unscored, 0);
    let k2 = s.kappa.as_ref().unwrap().kappa;
    let k3 = s.kappa_3way.as_ref().unwrap().kappa;
    assert!(k2 >= 0.85, "pooled binary kappa {k2:.3}");
    assert!(k3 >= 0.75, "pooled 3-way kappa {k3:.3}");
}
