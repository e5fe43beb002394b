//! Scores the built-in pattern classifier against human labels.
//!
//! Dependencies: none beyond the crate; no network.
//!
//! ```text
//! cargo run --example validate_classifier -- FILE.csv [FILE.csv ...] [--errors]
//! ```
//!
//! Each FILE is in the XSTest completion format (`prompt`, `completion`,
//! `final_label` columns). Prints one JSON line with `n`, `accuracy`, `kappa`
//! (refused = full or partial refusal, against compliance) and `kappa_3way`
//! with their 95% intervals, then a readable table. `--errors` also lists the
//! rows where the classifier and the label disagree.

use refusal_bias::classify::Verdict;
use refusal_bias::classify::pattern::PatternClassifier;
use refusal_bias::classify::score::{Scorecard, load_xstest_completions};
use refusal_bias::model::Response;
use serde_json::json;

fn main() {
    let mut files = Vec::new();
    let mut show_errors = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--errors" => show_errors = true,
            "-h" | "--help" => {
                println!("usage: validate_classifier FILE.csv [FILE.csv ...] [--errors]");
                return;
            }
            _ => files.push(arg),
        }
    }
    if files.is_empty() {
        eprintln!("usage: validate_classifier FILE.csv [FILE.csv ...] [--errors]");
        std::process::exit(2);
    }
    let classifier = PatternClassifier::default();
    let mut pairs: Vec<(Verdict, Verdict)> = Vec::new();
    let mut errors = Vec::new();
    for f in &files {
        let rows = load_xstest_completions(f).unwrap_or_else(|e| {
            eprintln!("error: {e}");
            std::process::exit(1);
        });
        for row in rows {
            let c = classifier.classify_response(&Response::text(row.completion.as_str()));
            if show_errors && c.verdict != row.label {
                let rules: Vec<&str> = c.evidence.iter().map(|e| e.rule.as_str()).collect();
                let head: String = row.completion.chars().take(300).collect();
                errors.push(format!(
                    "{f}:{} gold={} predicted={} rules={rules:?}\n    {}",
                    row.record,
                    row.label.as_str(),
                    c.verdict.as_str(),
                    head.replace('\n', " ")
                ));
            }
            pairs.push((row.label, c.verdict));
        }
    }
    let s = Scorecard::from_pairs(pairs, 0.95);
    let kappa = |k: &Option<refusal_bias::stats::agreement::CohenKappa>| {
        k.as_ref().map(|k| {
            json!({"estimate": k.kappa, "lower": k.interval.lower, "upper": k.interval.upper,
                   "std_err": k.std_err, "level": k.interval.level})
        })
    };
    let summary = json!({
        "files": files,
        "classifier": "pattern",
        "n": s.n,
        "unscored": s.unscored,
        "accuracy": s.accuracy,
        "accuracy_binary": s.accuracy_binary,
        "kappa": s.kappa.as_ref().map(|k| k.kappa),
        "kappa_interval": kappa(&s.kappa),
        "kappa_3way": s.kappa_3way.as_ref().map(|k| k.kappa),
        "kappa_3way_interval": kappa(&s.kappa_3way),
    });
    println!("{summary}");
    println!();
    print!("{}", s.to_table());
    if show_errors {
        println!("\n{} disagreements:", errors.len());
        for e in errors {
            println!("{e}");
        }
    }
}
