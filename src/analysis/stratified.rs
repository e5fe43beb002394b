//! A factor's effect pooled over strata (models, categories) with the
//! Mantel-Haenszel estimators, and tested for homogeneity.

use serde_json::json;

use super::categories::capitalize;
use super::common::{
    DENOMINATOR_NOTE, GroupBy, Keyer, OutcomeCounts, figure, fmt_estimate, fmt_test,
    skipped_section,
};
use super::pairing::Factor;
use super::table::RecordTable;
use crate::analysis::Analyzer;
use crate::error::Result;
use crate::record::Record;
use crate::report::{Section, Table};
use crate::stats::stratified::{breslow_day, cmh_test, mh_odds_ratio, mh_rate_ratio};
use crate::stats::{Table2x2, ZeroCellCorrection, two_sample};

/// The effect of a [`Factor`] (first level against second) in strata given
/// by a compound grouping, by default model x category: the
/// Cochran-Mantel-Haenszel test of no association, the Mantel-Haenszel
/// pooled rate ratio (Greenland-Robins interval) and odds ratio
/// (Robins-Breslow-Greenland interval), and the Breslow-Day test (with
/// Tarone's correction) that the odds ratio is the same in every stratum.
#[derive(Debug, Clone, PartialEq)]
pub struct StratifiedEffect {
    factor: Factor,
    by: Vec<GroupBy>,
    level: f64,
}

impl StratifiedEffect {
    /// The effect of `factor` stratified by model x category, 95% intervals.
    pub fn new(factor: Factor) -> Self {
        StratifiedEffect {
            factor,
            by: vec![GroupBy::Model, GroupBy::Category],
            level: 0.95,
        }
    }

    /// Stratifies by the compound key `by` instead.
    #[must_use]
    pub fn by(mut self, by: Vec<GroupBy>) -> Self {
        self.by = by;
        self
    }

    /// Uses `level` for the intervals instead of 0.95.
    #[must_use]
    pub fn with_level(mut self, level: f64) -> Self {
        self.level = level;
        self
    }
}

impl Analyzer for StratifiedEffect {
    fn name(&self) -> String {
        let by: Vec<String> = self.by.iter().map(GroupBy::header).collect();
        format!(
            "{}_effect_stratified_by_{}",
            self.factor.name(),
            by.join("_")
        )
    }

    fn analyze(&self, records: &[Record]) -> Result<Section> {
        self.analyze_table(&RecordTable::new(records))
    }

    fn analyze_table(&self, table: &RecordTable<'_>) -> Result<Section> {
        let factor = self.factor;
        let [l1, l2] = factor.levels();
        let headers: Vec<String> = self.by.iter().map(GroupBy::header).collect();
        let title = format!(
            "{} effect stratified by {} (Mantel-Haenszel)",
            capitalize(factor.name()),
            headers.join(" x ")
        );
        let labelled = (0..table.len()).filter(|&i| factor.level_row(&table.rows[i]).is_some());
        let groups = Keyer::new(table, &self.by).fold(labelled, |c: &mut [OutcomeCounts; 2], i| {
            let r = &table.rows[i];
            c[usize::from(factor.level_row(r) != Some(true))].add_code(r.code);
        });
        if groups.is_empty() {
            return Ok(skipped_section(
                self.name(),
                &title,
                format!("no record carries a {} label", factor.name()),
            ));
        }
        let (mut strata, mut rows, mut data) = (Vec::new(), Vec::new(), Vec::new());
        for (key, [first, second]) in &groups {
            let t = Table2x2 {
                a: first.refused,
                b: first.complied,
                c: second.refused,
                d: second.complied,
            };
            let rr = two_sample::rate_ratio(
                t.a,
                t.a + t.b,
                t.c,
                t.c + t.d,
                self.level,
                ZeroCellCorrection::None,
            );
            let mut row = key.clone();
            row.extend([
                format!("{}/{}", t.a, t.a + t.b),
                format!("{}/{}", t.c, t.c + t.d),
                fmt_estimate(&rr),
            ]);
            rows.push(row);
            let labels: serde_json::Map<String, serde_json::Value> = headers
                .iter()
                .cloned()
                .zip(key.iter().map(|k| k.clone().into()))
                .collect();
            data.push(json!({
                "key": labels,
                "table": t,
                "counts": { l1: first, l2: second },
                "rate_ratio": figure(&rr),
            }));
            strata.push(t);
        }
        let cmh = cmh_test(&strata, false);
        let cmh_cc = cmh_test(&strata, true);
        let mh_rr = mh_rate_ratio(&strata, self.level);
        let mh_or = mh_odds_ratio(&strata, self.level);
        let bd = breslow_day(&strata, true);
        let pct = (self.level * 100.0).round();
        let mut columns = headers.clone();
        columns.extend([
            format!("{l1} refused/n"),
            format!("{l2} refused/n"),
            format!("rate ratio [{pct}% Katz]"),
        ]);
        let pooled = Table {
            title: "Pooled over strata".into(),
            columns: vec!["figure".into(), "value".into(), "method".into()],
            rows: vec![
                vec![
                    "MH rate ratio".into(),
                    fmt_estimate(&mh_rr),
                    "Mantel-Haenszel, Greenland-Robins log interval".into(),
                ],
                vec![
                    "MH odds ratio".into(),
                    fmt_estimate(&mh_or),
                    "Mantel-Haenszel, Robins-Breslow-Greenland log interval".into(),
                ],
                vec![
                    "CMH p".into(),
                    fmt_test(&cmh),
                    "Cochran-Mantel-Haenszel, no continuity correction".into(),
                ],
                vec![
                    "CMH p (corrected)".into(),
                    fmt_test(&cmh_cc),
                    "Cochran-Mantel-Haenszel, continuity correction 0.5".into(),
                ],
                vec![
                    "Breslow-Day p".into(),
                    fmt_test(&bd),
                    "homogeneity of the odds ratio, Tarone's correction".into(),
                ],
            ],
        };
        Ok(Section {
            id: self.name(),
            title,
            notes: vec![
                DENOMINATOR_NOTE.to_string(),
                format!(
                    "ratios are {l1} over {l2}; strata with fewer than two records with a \
                     verdict carry no information and are skipped by the pooled figures, and \
                     Breslow-Day also skips strata with an empty row or column"
                ),
                "the tables are unpaired within each stratum: the pairing of variants is not \
                 used here (see the paired figures of the effect sections)"
                    .into(),
            ],
            tables: vec![
                pooled,
                Table {
                    title: "Strata".into(),
                    columns,
                    rows,
                },
            ],
            data: json!({
                "factor": factor,
                "by": headers,
                "level": self.level,
                "strata": data,
                "cmh": figure(&cmh),
                "cmh_continuity": figure(&cmh_cc),
                "mh_rate_ratio": figure(&mh_rr),
                "mh_odds_ratio": figure(&mh_or),
                "breslow_day_tarone": figure(&bd),
            }),
        })
    }
}
