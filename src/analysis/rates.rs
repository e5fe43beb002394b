//! Refusal rates with Wilson intervals, by any grouping of the records.

use serde_json::json;

use super::common::{DENOMINATOR_NOTE, GroupBy, Keyer, OutcomeCounts, figure, fmt_estimate};
use super::table::RecordTable;
use crate::analysis::Analyzer;
use crate::error::Result;
use crate::record::Record;
use crate::report::{Section, Table};
use crate::stats::proportion::wilson;

/// Refusal rates, with their Wilson intervals, per value of a compound
/// grouping (model, model x category, an XSTest metadata key, ...), with the
/// failed, no-answer and undetermined records counted beside each rate.
///
/// ```
/// use refusal_bias::analysis::{Analyzer, GroupBy, RefusalRates};
///
/// let by_model_and_category = RefusalRates::new(vec![GroupBy::Model, GroupBy::Category]);
/// let section = by_model_and_category.analyze(&[]).unwrap();
/// assert_eq!(section.id, "refusal_rates_by_model_category");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RefusalRates {
    by: Vec<GroupBy>,
    level: f64,
}

impl RefusalRates {
    /// Rates per value of the compound key `by` (all records pooled when
    /// `by` is empty), with 95% intervals.
    pub fn new(by: Vec<GroupBy>) -> Self {
        RefusalRates { by, level: 0.95 }
    }

    /// Uses `level` for the intervals instead of 0.95.
    #[must_use]
    pub fn with_level(mut self, level: f64) -> Self {
        self.level = level;
        self
    }

    fn headers(&self) -> Vec<String> {
        self.by.iter().map(GroupBy::header).collect()
    }
}

impl Analyzer for RefusalRates {
    fn name(&self) -> String {
        if self.by.is_empty() {
            "refusal_rates".into()
        } else {
            format!("refusal_rates_by_{}", self.headers().join("_"))
        }
    }

    fn analyze(&self, records: &[Record]) -> Result<Section> {
        self.analyze_table(&RecordTable::new(records))
    }

    fn analyze_table(&self, table: &RecordTable<'_>) -> Result<Section> {
        let headers = self.headers();
        let title = if headers.is_empty() {
            "Refusal rate".to_string()
        } else {
            format!("Refusal rate by {}", headers.join(" x "))
        };
        let mut rows = Vec::new();
        let mut groups = Vec::new();
        let mut keyer = Keyer::new(table, &self.by);
        let folded = keyer.fold(0..table.len(), |c: &mut OutcomeCounts, i| {
            c.add_code(table.rows[i].code)
        });
        for (key, counts) in folded {
            let rate = wilson(counts.refused, counts.n(), self.level);
            let mut row = key.clone();
            row.extend([
                counts.n().to_string(),
                counts.refused.to_string(),
                fmt_estimate(&rate),
                counts.errors.to_string(),
                counts.no_answer.to_string(),
                counts.undetermined.to_string(),
            ]);
            rows.push(row);
            let labels: serde_json::Map<String, serde_json::Value> = headers
                .iter()
                .cloned()
                .zip(key.into_iter().map(Into::into))
                .collect();
            groups.push(json!({ "key": labels, "counts": counts, "rate": figure(&rate) }));
        }
        let mut columns = headers.clone();
        let pct = (self.level * 100.0).round();
        columns.extend([
            "n".to_string(),
            "refused".into(),
            format!("rate [{pct}% Wilson]"),
            "errors".into(),
            "no answer".into(),
            "undetermined".into(),
        ]);
        Ok(Section {
            id: self.name(),
            title,
            notes: vec![DENOMINATOR_NOTE.to_string()],
            tables: vec![Table {
                title: String::new(),
                columns,
                rows,
            }],
            data: json!({
                "by": headers,
                "method": "wilson score interval",
                "level": self.level,
                "groups": groups,
            }),
        })
    }
}
