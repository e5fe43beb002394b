//! Models compared on the same prompts: a paired comparison per pair of
//! models.

use serde_json::json;

use super::common::{figure, fmt_estimate, fmt_p, fmt_test, skipped_section};
use super::table::{IdMap, RecordTable};
use crate::analysis::Analyzer;
use crate::error::Result;
use crate::record::Record;
use crate::report::{Section, Table};
use crate::stats::multiple::holm;
use crate::stats::{PairedTable, paired};

/// Every pair of models compared on the prompts both answered: a record of
/// the first model and one of the second with the same prompt id and sample
/// make a pair. The McNemar exact test (Holm-adjusted across model pairs),
/// the ratio of their refusal rates on the shared prompts (Bonett-Price)
/// and the difference (Newcombe).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelComparison {
    level: f64,
}

impl Default for ModelComparison {
    fn default() -> Self {
        ModelComparison { level: 0.95 }
    }
}

impl ModelComparison {
    /// 95% intervals.
    pub fn new() -> Self {
        Self::default()
    }

    /// Uses `level` for the intervals instead of 0.95.
    #[must_use]
    pub fn with_level(mut self, level: f64) -> Self {
        self.level = level;
        self
    }
}

impl Analyzer for ModelComparison {
    fn name(&self) -> String {
        "model_comparison".into()
    }

    fn analyze(&self, records: &[Record]) -> Result<Section> {
        self.analyze_table(&RecordTable::new(records))
    }

    fn analyze_table(&self, table: &RecordTable<'_>) -> Result<Section> {
        let title = "Models compared on the same prompts (paired)";
        let models = &table.models;
        if models.len() < 2 {
            return Ok(skipped_section(
                self.name(),
                title,
                format!(
                    "{} model(s) in the records; a comparison needs two",
                    models.len()
                ),
            ));
        }
        // One row per (prompt, sample), one cell per model:
        // 0 = no record, 1 = no verdict, 2 = complied, 3 = refused.
        let k = models.len();
        let mut rows: IdMap<(u32, u32), usize> = IdMap::default();
        let mut cells: Vec<u8> = Vec::new();
        for r in &table.rows {
            let next = rows.len();
            let row = *rows.entry((r.prompt, r.sample)).or_insert(next);
            if row == next {
                cells.resize(cells.len() + k, 0);
            }
            cells[row * k + r.model as usize] = match r.code.refused() {
                None => 1,
                Some(false) => 2,
                Some(true) => 3,
            };
        }
        let mut comparisons = Vec::new();
        for i in 0..k {
            for j in i + 1..k {
                let mut t = PairedTable {
                    a: 0,
                    b: 0,
                    c: 0,
                    d: 0,
                };
                let mut without_verdict = 0u64;
                for row in cells.chunks_exact(k) {
                    match (row[i], row[j]) {
                        (0, _) | (_, 0) => {}
                        (3, 3) => t.a += 1,
                        (3, 2) => t.b += 1,
                        (2, 3) => t.c += 1,
                        (2, 2) => t.d += 1,
                        _ => without_verdict += 1,
                    }
                }
                comparisons.push((models[i], models[j], t, without_verdict));
            }
        }
        let tests: Vec<_> = comparisons
            .iter()
            .map(|c| paired::mcnemar_exact(&c.2))
            .collect();
        let family: Vec<f64> = tests
            .iter()
            .filter_map(|t| t.as_ref().ok())
            .map(|t| t.p_value)
            .collect();
        let adjusted = holm(&family).unwrap_or_default();
        let mut k = 0;
        let (mut rows, mut data) = (Vec::new(), Vec::new());
        for ((m1, m2, t, without), test) in comparisons.iter().zip(&tests) {
            let h = if test.is_ok() && k < adjusted.len() {
                k += 1;
                Some(adjusted[k - 1])
            } else {
                None
            };
            let ratio = paired::ratio_bonett_price(t, self.level);
            let diff = paired::difference(t, self.level);
            rows.push(vec![
                m1.to_string(),
                m2.to_string(),
                t.pairs().to_string(),
                format!("{}/{}", t.a + t.b, t.pairs()),
                format!("{}/{}", t.a + t.c, t.pairs()),
                format!("{}/{}", t.b, t.c),
                fmt_test(test),
                h.map_or_else(|| "-".into(), fmt_p),
                fmt_estimate(&ratio),
                fmt_estimate(&diff),
                without.to_string(),
            ]);
            data.push(json!({
                "first": m1,
                "second": m2,
                "table": t,
                "pairs_without_verdict": without,
                "mcnemar_exact": figure(test),
                "mcnemar_holm": h,
                "ratio": figure(&ratio),
                "difference": figure(&diff),
            }));
        }
        let pct = (self.level * 100.0).round();
        Ok(Section {
            id: self.name(),
            title: title.into(),
            notes: vec![
                "a pair is the same prompt id and sample answered by both models; pairs where \
                 either model failed or gave no verdict are left out and counted"
                    .into(),
                "ratios and differences are the first model's refusal rate over (minus) the \
                 second's on the shared prompts; McNemar exact p-values are Holm-adjusted \
                 across the model pairs"
                    .into(),
            ],
            tables: vec![Table {
                title: String::new(),
                columns: vec![
                    "first".into(),
                    "second".into(),
                    "pairs".into(),
                    "first refused".into(),
                    "second refused".into(),
                    "discordant b/c".into(),
                    "McNemar exact p".into(),
                    "Holm".into(),
                    format!("ratio [{pct}% Bonett-Price]"),
                    format!("difference [{pct}% Newcombe]"),
                    "pairs without verdict".into(),
                ],
                rows,
            }],
            data: json!({ "level": self.level, "comparisons": data }),
        })
    }
}
