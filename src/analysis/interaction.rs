//! Does stating authorization change the wording effect? The four framing
//! cells and two tests of the wording x authorization interaction.

use serde_json::json;

use super::common::{
    DENOMINATOR_NOTE, OutcomeCounts, figure, fmt_estimate, fmt_num, fmt_p, fmt_test,
    skipped_section,
};
use super::pairing::Factor;
use super::regression::{coefficient_table, fit_framing_model, fitted_data};
use super::table::RecordTable;
use crate::analysis::Analyzer;
use crate::error::Result;
use crate::record::Record;
use crate::report::{Section, Table};
use crate::stats::Table2x2;
use crate::stats::proportion::wilson;
use crate::stats::regression::LogisticOptions;
use crate::stats::stratified::breslow_day;

const INTERACTION: &str = "sensitive:authorization_stated";

/// The refusal rate in each of the four framings (sensitive or neutral,
/// authorization stated or absent) with Wilson intervals, and two tests of
/// interaction: the Breslow-Day test (Tarone-corrected) that the
/// sensitive-vs-neutral odds ratio is the same with and without stated
/// authorization, and the `sensitive:authorization_stated` term of the
/// logistic model of [`crate::analysis::RefusalRegression`] (a ratio of
/// odds ratios with a cluster-robust Wald test).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Interaction {
    options: LogisticOptions,
}

impl Interaction {
    /// 95% intervals.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Analyzer for Interaction {
    fn name(&self) -> String {
        "wording_authorization_interaction".into()
    }

    fn analyze(&self, records: &[Record]) -> Result<Section> {
        self.analyze_table(&RecordTable::new(records))
    }

    fn analyze_table(&self, table: &RecordTable<'_>) -> Result<Section> {
        let title = "Wording x authorization interaction";
        let level = self.options.level;
        // cells[sensitive][stated]
        let mut cells = [[OutcomeCounts::default(); 2]; 2];
        for r in &table.rows {
            if let (Some(s), Some(a)) = (
                Factor::Wording.level_row(r),
                Factor::Authorization.level_row(r),
            ) {
                cells[usize::from(s)][usize::from(a)].add_code(r.code);
            }
        }
        if cells.iter().flatten().any(|c| c.total() == 0) {
            return Ok(skipped_section(
                self.name(),
                title,
                "the records do not cover all four framings (sensitive or neutral wording, \
                 authorization stated or absent)"
                    .into(),
            ));
        }
        let mut rows = Vec::new();
        let mut cell_data = Vec::new();
        for (s, wname) in [(1, "sensitive"), (0, "neutral")] {
            for (a, aname) in [(1, "stated"), (0, "absent")] {
                let c = &cells[s][a];
                let rate = wilson(c.refused, c.n(), level);
                rows.push(vec![
                    wname.to_string(),
                    aname.to_string(),
                    c.n().to_string(),
                    c.refused.to_string(),
                    fmt_estimate(&rate),
                    format!("{}/{}/{}", c.errors, c.no_answer, c.undetermined),
                ]);
                cell_data.push(json!({
                    "wording": wname, "authorization": aname, "counts": c, "rate": figure(&rate),
                }));
            }
        }
        let stratum = |a: usize| Table2x2 {
            a: cells[1][a].refused,
            b: cells[1][a].complied,
            c: cells[0][a].refused,
            d: cells[0][a].complied,
        };
        let bd = breslow_day(&[stratum(1), stratum(0)], true);
        let f = fit_framing_model(table, true, &self.options);
        let term = f.fit.as_ref().ok().and_then(|fit| {
            let inf = fit.cluster_robust.as_ref().unwrap_or(&fit.model);
            inf.coefficients
                .iter()
                .find(|c| c.name == INTERACTION)
                .cloned()
        });
        let pct = (level * 100.0).round();
        let mut tests = vec![vec![
            "Breslow-Day (Tarone), wording odds ratio stated vs absent".to_string(),
            "-".into(),
            fmt_test(&bd),
        ]];
        if let Some(t) = &term {
            tests.push(vec![
                format!("logistic {INTERACTION} (cluster-robust Wald)"),
                format!(
                    "{} [{}, {}]",
                    fmt_num(t.odds_ratio),
                    fmt_num(t.odds_ratio_interval.lower),
                    fmt_num(t.odds_ratio_interval.upper)
                ),
                fmt_p(t.p_value),
            ]);
        }
        let mut notes = vec![
            DENOMINATOR_NOTE.to_string(),
            "Breslow-Day pools the models and categories into two strata (authorization stated \
             and absent) of sensitive-vs-neutral tables; the logistic term is the ratio of the \
             wording odds ratio with authorization stated to that without, adjusted for \
             category and model, with standard errors clustered by task group"
                .into(),
        ];
        let mut tables = vec![
            Table {
                title: "Refusal rate by framing".into(),
                columns: vec![
                    "wording".into(),
                    "authorization".into(),
                    "n".into(),
                    "refused".into(),
                    format!("rate [{pct}% Wilson]"),
                    "errors/no answer/undetermined".into(),
                ],
                rows,
            },
            Table {
                title: "Tests of interaction".into(),
                columns: vec!["test".into(), "ratio of odds ratios".into(), "p".into()],
                rows: tests,
            },
        ];
        match &f.fit {
            Ok(fit) => tables.push(coefficient_table(fit)),
            Err(e) => notes.push(format!("the logistic model could not be fitted: {e}")),
        }
        Ok(Section {
            id: self.name(),
            title: title.into(),
            notes,
            tables,
            data: json!({
                "cells": cell_data,
                "breslow_day_tarone": figure(&bd),
                "logistic_interaction": term,
                "logistic": fitted_data(&f),
            }),
        })
    }
}
