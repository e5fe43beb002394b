//! Scores the pattern classifier against human labels in XSTest-format CSVs.
//!
//! Dependencies: none beyond the crate. Usage:
//! `cargo run --example validate_classifier -- FILE.csv [FILE.csv ...]`

use refusal_bias::classify::Verdict;
use refusal_bias::classify::pattern::PatternClassifier;
use refusal_bias::classify::score::{Scorecard, load_xstest_completions};
use refusal_bias::model::Response;

fn main() {
    let files: Vec<String> = std::env::args().skip(1).collect();
    let show_errors = std::env::var("SHOW_ERRORS").is_ok();
    if files.is_empty() {
        eprintln!("usage: validate_classifier FILE.csv [FILE.csv ...]");
        std::process::exit(2);
    }
    let classifier = PatternClassifier::default();
    let mut pairs: Vec<(Verdict, Verdict)> = Vec::new();
    for f in &files {
        let rows = match load_xstest_completions(f) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {e}");
                std::process::exit(1);
            }
        };
        for row in rows {
            let c = classifier.classify_response(&Response::text(row.completion.clone()));
            if show_errors && c.verdict != row.label {
                let bin = c.verdict.is_refusal() != row.label.is_refusal();
                println!(
                    "{}{} gold={} pred={} ev={:?}\n    {}\n",
                    if bin { "BIN " } else { "3WAY " },
                    row.id.clone().unwrap_or_default(),
                    row.label.as_str(),
                    c.verdict.as_str(),
                    c.evidence.iter().map(|e| e.rule.as_str()).collect::<Vec<_>>(),
                    row.completion.chars().take(400).collect::<String>().replace('\n', " ")
                );
            }
            pairs.push((row.label, c.verdict));
        }
    }
    let s = Scorecard::from_pairs(pairs, 0.95);
    print!("{}", s.to_table());
}
