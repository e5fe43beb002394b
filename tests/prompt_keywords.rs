//! The study keyword matcher on two public suites.
//!
//! Expected counts come from an independent Python 3 `re` pass over the same
//! files with the same word-boundary patterns (case-insensitive, one count per
//! prompt per term). For CyberSecEval FRR they agree with the substring counts
//! in its SOURCE.md where the patterns coincide (exploit 3, evasion 7).

use std::path::{Path, PathBuf};

use refusal_bias::prompt::csv::{ColumnMap, CsvSource};
use refusal_bias::prompt::frr::FrrSource;
use refusal_bias::prompt::keywords::{SENSITIVE_TERMS, sensitive_terms, tag_wording};
use refusal_bias::prompt::{Prompt, PromptSource, Wording};

fn data(rel: &str) -> Option<PathBuf> {
    let p = Path::new("../shared/data").join(rel);
    if p.exists() {
        Some(p)
    } else {
        println!("skipping: {} not found", p.display());
        None
    }
}

/// `(prompts with any term, prompts per term in SENSITIVE_TERMS order)`.
fn counts(prompts: &[Prompt]) -> (usize, Vec<usize>) {
    let mut per_term = vec![0; SENSITIVE_TERMS.len()];
    let mut any = 0;
    for p in prompts {
        let found = sensitive_terms(&p.text);
        any += usize::from(!found.is_empty());
        for t in found {
            per_term[SENSITIVE_TERMS.iter().position(|s| *s == t).unwrap()] += 1;
        }
    }
    (any, per_term)
}

#[test]
fn cyberseceval_frr_keyword_counts() {
    let Some(path) = data("cyberseceval_frr_mitre/mitre_frr.json") else {
        return;
    };
    let mut set = FrrSource::new(path).load().unwrap();
    let (any, per_term) = counts(&set.prompts);
    assert_eq!(any, 204);
    // exploit payload shell bypass crack brute dump pivot c2 obfuscate evasion
    assert_eq!(per_term, [3, 3, 186, 0, 0, 0, 0, 0, 2, 10, 7]);
    let sensitive = set
        .prompts
        .iter_mut()
        .map(tag_wording)
        .filter(|w| *w == Wording::Sensitive)
        .count();
    assert_eq!(sensitive, 204);
}

#[test]
fn cysecbench_keyword_counts() {
    let Some(path) = data("cysecbench/cysecbench.csv") else {
        return;
    };
    let map = ColumnMap::new("Prompt").category("Category");
    let set = CsvSource::new(path, map).load().unwrap();
    assert_eq!(set.prompts.len(), 12662);
    let (any, per_term) = counts(&set.prompts);
    assert_eq!(any, 4053);
    assert_eq!(per_term, [3228, 341, 16, 367, 91, 121, 0, 20, 1, 60, 50]);
}
