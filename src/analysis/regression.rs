//! Logistic regression of refusal on the framing, category and model, with
//! standard errors robust to the clustering of variants within a task.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::common::{DENOMINATOR_NOTE, OutcomeCounts, fmt_num, fmt_p, skipped_section};
use super::pairing::Factor;
use super::table::{IdMap, NO_GROUP, RecordTable};
use crate::analysis::Analyzer;
use crate::error::Result;
use crate::record::Record;
use crate::report::{Section, Table};
use crate::stats::StatsError;
use crate::stats::regression::{Design, LogisticFit, LogisticOptions, logistic};

/// What went into a fit, besides the fit.
pub(crate) struct Fitted {
    pub fit: std::result::Result<LogisticFit, StatsError>,
    /// Records used (with a verdict and both framing labels).
    pub used: u64,
    /// Records left out, by reason.
    pub excluded: OutcomeCounts,
    pub unlabelled: u64,
    /// Columns dropped because their factor has one level in the data.
    pub dropped: Vec<String>,
    pub reference: BTreeMap<&'static str, String>,
    pub clusters: usize,
}

/// Fits `refused ~ sensitive + stated [+ sensitive:stated] + category +
/// model`, clustering by task group (a record without a group is its own
/// cluster). Records are aggregated into binomial rows by (cluster,
/// covariates).
pub(crate) fn fit_framing_model(
    table: &RecordTable<'_>,
    interaction: bool,
    options: &LogisticOptions,
) -> Fitted {
    let mut excluded = OutcomeCounts::default();
    let mut unlabelled = 0u64;
    let mut used = 0u64;
    let (mut cat_present, mut model_present) = (
        vec![false; table.categories.len()],
        vec![false; table.models.len()],
    );
    // [sensitive, stated] seen as [false, true]
    let mut seen = [[false; 2]; 2];
    for r in &table.rows {
        let (Some(s), Some(a)) = (
            Factor::Wording.level_row(r),
            Factor::Authorization.level_row(r),
        ) else {
            unlabelled += 1;
            continue;
        };
        if r.code.refused().is_none() {
            excluded.add_code(r.code);
            continue;
        }
        used += 1;
        cat_present[r.category as usize] = true;
        model_present[r.model as usize] = true;
        seen[0][usize::from(s)] = true;
        seen[1][usize::from(a)] = true;
    }
    // Position of each present level among the present ones (name order).
    let positions = |present: &[bool]| {
        let mut k = 0;
        present
            .iter()
            .map(|&p| {
                k += usize::from(p);
                k.saturating_sub(1)
            })
            .collect::<Vec<usize>>()
    };
    let (cat_pos, model_pos) = (positions(&cat_present), positions(&model_present));
    let cats: Vec<&str> = (0..cat_present.len())
        .filter(|&i| cat_present[i])
        .map(|i| table.categories[i])
        .collect();
    let models: Vec<&str> = (0..model_present.len())
        .filter(|&i| model_present[i])
        .map(|i| table.models[i])
        .collect();
    let vary_s = seen[0] == [true, true];
    let vary_a = seen[1] == [true, true];
    let mut names = vec!["intercept".to_string()];
    let mut dropped = Vec::new();
    for (ok, name) in [(vary_s, "sensitive"), (vary_a, "authorization_stated")] {
        if ok {
            names.push(name.into())
        } else {
            dropped.push(name.to_string())
        }
    }
    let with_inter = interaction && vary_s && vary_a;
    if interaction && !with_inter {
        dropped.push("sensitive:authorization_stated".into());
    }
    if with_inter {
        names.push("sensitive:authorization_stated".into());
    }
    names.extend(cats.iter().skip(1).map(|c| format!("category={c}")));
    names.extend(models.iter().skip(1).map(|m| format!("model={m}")));
    let mut reference = BTreeMap::new();
    if let Some(c) = cats.first() {
        reference.insert("category", c.to_string());
    }
    if let Some(m) = models.first() {
        reference.insert("model", m.to_string());
    }
    // Clusters: the task group, or the prompt for a record without one,
    // numbered by first appearance.
    let mut cluster_ids: IdMap<u64, u64> = IdMap::default();
    // (cluster, category, model, sensitive, stated) -> (events, trials)
    type CellKey = (u64, usize, usize, bool, bool);
    let mut cells: IdMap<CellKey, (u64, u64)> = IdMap::default();
    for r in &table.rows {
        let (Some(s), Some(a), Some(y)) = (
            Factor::Wording.level_row(r),
            Factor::Authorization.level_row(r),
            r.code.refused(),
        ) else {
            continue;
        };
        let raw = if r.group == NO_GROUP {
            table.groups as u64 + u64::from(r.prompt)
        } else {
            u64::from(r.group)
        };
        let next = cluster_ids.len() as u64;
        let cid = *cluster_ids.entry(raw).or_insert(next);
        let key = (
            cid,
            cat_pos[r.category as usize],
            model_pos[r.model as usize],
            s,
            a,
        );
        let cell = cells.entry(key).or_default();
        cell.0 += u64::from(y);
        cell.1 += 1;
    }
    let p = names.len();
    let mut values = Vec::with_capacity(cells.len() * p);
    let (mut events, mut trials, mut groups) = (Vec::new(), Vec::new(), Vec::new());
    // Sorted rows: the fit does not depend on the hash order.
    let mut cells: Vec<(CellKey, (u64, u64))> = cells.into_iter().collect();
    cells.sort_unstable_by_key(|c| c.0);
    for ((cid, ci, mi, s, a), (e, t)) in &cells {
        let (s, a) = (f64::from(u8::from(*s)), f64::from(u8::from(*a)));
        values.push(1.0);
        if vary_s {
            values.push(s);
        }
        if vary_a {
            values.push(a);
        }
        if with_inter {
            values.push(s * a);
        }
        values.extend((1..cats.len()).map(|k| f64::from(u8::from(k == *ci))));
        values.extend((1..models.len()).map(|k| f64::from(u8::from(k == *mi))));
        events.push(*e);
        trials.push(*t);
        groups.push(*cid);
    }
    let fit = Design::new(names, values)
        .and_then(|d| logistic(&d, &events, &trials, Some(&groups), options));
    Fitted {
        fit,
        used,
        excluded,
        unlabelled,
        dropped,
        reference,
        clusters: cluster_ids.len(),
    }
}

/// The coefficient table of a fit (cluster-robust when available).
pub(crate) fn coefficient_table(fit: &LogisticFit) -> Table {
    let inf = fit.cluster_robust.as_ref().unwrap_or(&fit.model);
    let model_se: BTreeMap<&str, f64> = fit
        .model
        .coefficients
        .iter()
        .map(|c| (c.name.as_str(), c.standard_error))
        .collect();
    let pct = (fit
        .model
        .coefficients
        .first()
        .map_or(0.95, |c| c.interval.level)
        * 100.0)
        .round();
    Table {
        title: format!("Coefficients ({} standard errors)", inf.covariance),
        columns: vec![
            "term".into(),
            "log odds".into(),
            "robust SE".into(),
            "model SE".into(),
            format!("odds ratio [{pct}% Wald]"),
            "p".into(),
        ],
        rows: inf
            .coefficients
            .iter()
            .map(|c| {
                vec![
                    c.name.clone(),
                    fmt_num(c.estimate),
                    fmt_num(c.standard_error),
                    fmt_num(model_se[c.name.as_str()]),
                    format!(
                        "{} [{}, {}]",
                        fmt_num(c.odds_ratio),
                        fmt_num(c.odds_ratio_interval.lower),
                        fmt_num(c.odds_ratio_interval.upper)
                    ),
                    fmt_p(c.p_value),
                ]
            })
            .collect(),
    }
}

pub(crate) fn fitted_data(f: &Fitted) -> Value {
    json!({
        "records_used": f.used,
        "records_without_verdict": f.excluded,
        "records_without_framing_labels": f.unlabelled,
        "clusters": f.clusters,
        "dropped_terms": f.dropped,
        "reference_levels": f.reference,
        "fit": match &f.fit {
            Ok(fit) => serde_json::to_value(fit).unwrap_or(Value::Null),
            Err(e) => json!({ "undefined": e.to_string() }),
        },
    })
}

/// Logistic regression of refused (full or partial) on sensitive wording,
/// authorization stated, task category and model (treatment coding against
/// the first level in name order), fitted by IRLS, with cluster-robust
/// (sandwich, by task group) standard errors beside the model-based ones.
///
/// Records need both framing labels and a verdict; the others are counted.
/// A factor with one level in the data is dropped and named. Separation (a
/// cell where every record refuses, or none does, that a term can fit
/// exactly) makes the fit undefined and the section says so.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RefusalRegression {
    options: LogisticOptions,
    interaction: bool,
}

impl RefusalRegression {
    /// Main effects only, 95% Wald intervals.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the wording x authorization interaction term.
    #[must_use]
    pub fn with_interaction(mut self) -> Self {
        self.interaction = true;
        self
    }

    /// Uses `options` for the fit.
    #[must_use]
    pub fn with_options(mut self, options: LogisticOptions) -> Self {
        self.options = options;
        self
    }
}

impl Analyzer for RefusalRegression {
    fn name(&self) -> String {
        "refusal_regression".into()
    }

    fn analyze(&self, records: &[Record]) -> Result<Section> {
        self.analyze_table(&RecordTable::new(records))
    }

    fn analyze_table(&self, table: &RecordTable<'_>) -> Result<Section> {
        let title = "Logistic regression of refusal on framing, category and model";
        let f = fit_framing_model(table, self.interaction, &self.options);
        if f.used == 0 {
            return Ok(skipped_section(
                self.name(),
                title,
                format!(
                    "no record has both a wording and an authorization label and a verdict \
                     ({} of {} records lack a label)",
                    f.unlabelled,
                    table.len()
                ),
            ));
        }
        let mut notes = vec![
            DENOMINATOR_NOTE.to_string(),
            format!(
                "{} records in {} task-group clusters; {} without a verdict and {} without \
                 both framing labels are left out",
                f.used,
                f.clusters,
                f.excluded.total(),
                f.unlabelled
            ),
            "coefficients are log odds ratios against the reference levels; standard errors \
             are cluster-robust by task group (sandwich with the G/(G-1) (N-1)/(N-K) factor, \
             N counting rows aggregated by cluster and covariates) with model-based ones beside"
                .into(),
        ];
        if !f.dropped.is_empty() {
            notes.push(format!(
                "dropped for lack of variation in the data: {}",
                f.dropped.join(", ")
            ));
        }
        let mut tables = Vec::new();
        match &f.fit {
            Ok(fit) => tables.push(coefficient_table(fit)),
            Err(e) => notes.push(format!("the model could not be fitted: {e}")),
        }
        Ok(Section {
            id: self.name(),
            title: title.into(),
            notes,
            tables,
            data: fitted_data(&f),
        })
    }
}
