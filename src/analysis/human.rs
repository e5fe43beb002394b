//! Agreement of the run's classifier with human labels.

use std::collections::BTreeMap;

use serde_json::json;

use crate::analysis::Analyzer;
use crate::classify::Verdict;
use crate::classify::score::Scorecard;
use crate::error::Result;
use crate::record::Record;
use crate::report::{Section, Table};

/// Scores the verdicts in the records against human labels keyed by
/// (model label, prompt id): the classifier's agreement with people on the
/// very responses this report counts.
///
/// Records without a label, failed requests and outcomes that are not verdicts
/// are counted as unscored, never dropped silently.
#[derive(Debug, Clone, Default)]
pub struct HumanAgreement {
    /// Model label -> prompt id -> human label, so a lookup borrows its keys.
    labels: BTreeMap<String, BTreeMap<String, Verdict>>,
    level: f64,
}

impl HumanAgreement {
    /// Labels keyed by (model label, prompt id), with 95% kappa intervals.
    pub fn new(labels: BTreeMap<(String, String), Verdict>) -> Self {
        let mut by_model: BTreeMap<String, BTreeMap<String, Verdict>> = BTreeMap::new();
        for ((model, id), verdict) in labels {
            by_model.entry(model).or_default().insert(id, verdict);
        }
        HumanAgreement {
            labels: by_model,
            level: 0.95,
        }
    }

    /// The scorecard over `records` (gold = human label, predicted = verdict).
    pub fn scorecard(&self, records: &[Record]) -> Scorecard {
        let mut unlabelled = 0u64;
        let pairs: Vec<(Verdict, Verdict)> = records
            .iter()
            .filter_map(|r| {
                let gold = self.labels.get(&r.model).and_then(|m| m.get(&r.prompt.id));
                match gold {
                    // A failed request has no verdict: it scores as unscored.
                    Some(&gold) => Some((gold, r.verdict().unwrap_or(Verdict::Undetermined))),
                    None => {
                        unlabelled += 1;
                        None
                    }
                }
            })
            .collect();
        let mut card = Scorecard::from_pairs(pairs, self.level);
        card.unscored += unlabelled;
        card
    }
}

impl Analyzer for HumanAgreement {
    fn name(&self) -> String {
        "human_agreement".into()
    }

    fn analyze(&self, records: &[Record]) -> Result<Section> {
        let card = self.scorecard(records);
        let fmt_kappa = |k: &Option<crate::stats::agreement::CohenKappa>| match k {
            Some(k) => format!(
                "{:.3} [{:.3}, {:.3}]",
                k.kappa, k.interval.lower, k.interval.upper
            ),
            None => "undefined".into(),
        };
        let mut notes = vec![format!(
            "Cohen's kappa against human labels, refusal (full or partial) vs compliance: {} \
             over n = {} ({} unscored: no label, failed request or no verdict)",
            fmt_kappa(&card.kappa),
            card.n,
            card.unscored
        )];
        notes.push(format!("3-way kappa: {}", fmt_kappa(&card.kappa_3way)));
        let names = ["compliance", "partial_refusal", "refusal"];
        let mut rows = Vec::new();
        for (g, row) in card.confusion.iter().enumerate() {
            let mut cells = vec![names[g].to_string()];
            cells.extend(row.iter().map(u64::to_string));
            rows.push(cells);
        }
        let table = Table {
            title: "Human label (rows) vs classifier verdict (columns)".into(),
            columns: [
                "human \\ classifier",
                "compliance",
                "partial_refusal",
                "refusal",
            ]
            .map(String::from)
            .to_vec(),
            rows,
        };
        Ok(Section {
            id: self.name(),
            title: "Classifier agreement with human labels".into(),
            notes,
            tables: vec![table],
            data: json!({ "method": "cohen_kappa", "scorecard": card }),
        })
    }
}
