//! The wording (or authorization) effect per task category, with the
//! p-values adjusted for the number of categories tested.

use serde_json::json;

use super::common::{
    DENOMINATOR_NOTE, OutcomeCounts, figure, fmt_estimate, fmt_p, fmt_test, skipped_section,
};
use super::pairing::{Factor, pair_rows, total};
use super::table::{RecordTable, Row};
use crate::analysis::Analyzer;
use crate::error::Result;
use crate::record::Record;
use crate::report::{Section, Table};
use crate::stats::multiple::{benjamini_hochberg, holm};
use crate::stats::{Alternative, Table2x2, ZeroCellCorrection, paired, two_sample};

/// One category's comparison of a [`Factor`]'s two levels: refused/n in
/// each, the unpaired rate ratio (Katz) and Fisher's exact test, the paired
/// table with the McNemar exact test and the paired ratio (Bonett-Price);
/// the McNemar p-values adjusted across categories by Holm (family-wise
/// error) and Benjamini-Hochberg (false discovery rate).
///
/// Categories pool the models; pairs never cross models. A category whose
/// McNemar test is undefined (no pair) is shown and left out of the family.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CategoryEffects {
    factor: Factor,
    level: f64,
}

impl CategoryEffects {
    /// The effect of `factor` per category, with 95% intervals.
    pub fn new(factor: Factor) -> Self {
        CategoryEffects {
            factor,
            level: 0.95,
        }
    }

    /// Uses `level` for the intervals instead of 0.95.
    #[must_use]
    pub fn with_level(mut self, level: f64) -> Self {
        self.level = level;
        self
    }
}

impl Analyzer for CategoryEffects {
    fn name(&self) -> String {
        format!("{}_effect_by_category", self.factor.name())
    }

    fn analyze(&self, records: &[Record]) -> Result<Section> {
        self.analyze_table(&RecordTable::new(records))
    }

    fn analyze_table(&self, table: &RecordTable<'_>) -> Result<Section> {
        let factor = self.factor;
        let [l1, l2] = factor.levels();
        let title = format!(
            "{} effect by category ({l1} vs {l2})",
            capitalize(factor.name())
        );
        // Labelled rows bucketed by category (in name order).
        let mut by_cat: Vec<Vec<Row>> = vec![Vec::new(); table.categories.len()];
        for r in &table.rows {
            if factor.level_row(r).is_some() {
                by_cat[r.category as usize].push(*r);
            }
        }
        if by_cat.iter().all(Vec::is_empty) {
            return Ok(skipped_section(
                self.name(),
                &title,
                format!("no record carries a {} label", factor.name()),
            ));
        }
        let mut cats = Vec::new();
        for (ci, recs) in by_cat.iter().enumerate().filter(|(_, v)| !v.is_empty()) {
            let (mut first, mut second) = (OutcomeCounts::default(), OutcomeCounts::default());
            for r in recs {
                if factor.level_row(r) == Some(true) {
                    first.add_code(r.code);
                } else {
                    second.add_code(r.code);
                }
            }
            let (x1, n1, x2, n2) = (first.refused, first.n(), second.refused, second.n());
            let rr = two_sample::rate_ratio(x1, n1, x2, n2, self.level, ZeroCellCorrection::None);
            let fisher = Table2x2::from_counts(x1, n1, x2, n2)
                .and_then(|t| two_sample::fisher_exact(&t, Alternative::TwoSided));
            let p = total(&pair_rows(table, recs, factor));
            let mcnemar = paired::mcnemar_exact(&p.table);
            let ratio = paired::ratio_bonett_price(&p.table, self.level);
            cats.push((
                table.categories[ci].to_string(),
                first,
                second,
                rr,
                fisher,
                p,
                mcnemar,
                ratio,
            ));
        }
        // The family: categories with a defined McNemar p-value.
        let family: Vec<f64> = cats
            .iter()
            .filter_map(|c| c.6.as_ref().ok().map(|t| t.p_value))
            .collect();
        let adjusted_holm = holm(&family);
        let adjusted_bh = benjamini_hochberg(&family);
        let (mut rows, mut data) = (Vec::new(), Vec::new());
        let mut k = 0;
        for (name, first, second, rr, fisher, p, mcnemar, ratio) in &cats {
            let (h, bh) = match (mcnemar, &adjusted_holm, &adjusted_bh) {
                (Ok(_), Ok(h), Ok(bh)) => {
                    k += 1;
                    (Some(h[k - 1]), Some(bh[k - 1]))
                }
                _ => (None, None),
            };
            let show = |x: Option<f64>| x.map_or_else(|| "-".to_string(), fmt_p);
            rows.push(vec![
                name.clone(),
                format!("{}/{}", first.refused, first.n()),
                format!("{}/{}", second.refused, second.n()),
                fmt_estimate(rr),
                fmt_test(fisher),
                format!("{}/{}", p.table.b, p.table.c),
                fmt_test(mcnemar),
                show(h),
                show(bh),
                fmt_estimate(ratio),
                format!(
                    "{}/{}",
                    first.errors + first.no_answer + first.undetermined,
                    second.errors + second.no_answer + second.undetermined
                ),
            ]);
            data.push(json!({
                "category": name,
                "counts": { l1: first, l2: second },
                "rate_ratio": figure(rr),
                "fisher_exact": figure(fisher),
                "pairing": p,
                "mcnemar_exact": figure(mcnemar),
                "mcnemar_holm": h,
                "mcnemar_benjamini_hochberg": bh,
                "paired_ratio": figure(ratio),
            }));
        }
        let pct = (self.level * 100.0).round();
        let table = Table {
            title: String::new(),
            columns: vec![
                "category".into(),
                format!("{l1} refused/n"),
                format!("{l2} refused/n"),
                format!("rate ratio [{pct}% Katz]"),
                "Fisher p".into(),
                "discordant b/c".into(),
                "McNemar exact p".into(),
                "Holm".into(),
                "BH".into(),
                format!("paired ratio [{pct}% Bonett-Price]"),
                format!("no verdict {l1}/{l2}"),
            ],
            rows,
        };
        Ok(Section {
            id: self.name(),
            title,
            notes: vec![
                DENOMINATOR_NOTE.to_string(),
                format!(
                    "the McNemar exact p-values of the {} categories with at least one pair \
                     are adjusted for multiplicity: Holm (family-wise error) and \
                     Benjamini-Hochberg (false discovery rate); Fisher p-values are unadjusted",
                    family.len()
                ),
                "each category pools the models; pairs are formed within a model".into(),
            ],
            tables: vec![table],
            data: json!({
                "factor": factor,
                "level": self.level,
                "family_size": family.len(),
                "adjustment": ["holm", "benjamini_hochberg"],
                "categories": data,
            }),
        })
    }
}

pub(crate) fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
}
