//! Logistic regression of refusal on the framing, category and model, with
//! standard errors robust to the clustering of variants within a task.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{Value, json};

use super::common::{DENOMINATOR_NOTE, OutcomeCounts, UNLABELLED, fmt_num, fmt_p, skipped_section};
use super::pairing::Factor;
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
pub(crate) fn fit_framing_model<'a>(
    records: &'a [Record],
    interaction: bool,
    options: &LogisticOptions,
) -> Fitted {
    let mut excluded = OutcomeCounts::default();
    let mut unlabelled = 0u64;
    let mut used_recs: Vec<(&'a Record, bool, bool, bool)> = Vec::new();
    for r in records {
        let (Some(s), Some(a)) = (Factor::Wording.level(r), Factor::Authorization.level(r)) else {
            unlabelled += 1;
            continue;
        };
        match r.refused() {
            Some(y) => used_recs.push((r, y, s, a)),
            None => excluded.add(r),
        }
    }
    let category = |r: &'a Record| -> &'a str {
        r.prompt
            .category
            .as_ref()
            .map_or(UNLABELLED, |c| c.as_str())
    };
    let sorted = |set: HashSet<&'a str>| {
        let mut v: Vec<&'a str> = set.into_iter().collect();
        v.sort_unstable();
        v
    };
    let cats = sorted(used_recs.iter().map(|x| category(x.0)).collect());
    let models = sorted(used_recs.iter().map(|x| x.0.model.as_str()).collect());
    let vary_s = used_recs.iter().any(|x| x.2) && used_recs.iter().any(|x| !x.2);
    let vary_a = used_recs.iter().any(|x| x.3) && used_recs.iter().any(|x| !x.3);
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
    // Aggregate by (cluster, covariate row).
    // Clusters: the task group, or the prompt id for a record without one.
    let mut cluster_ids: HashMap<(bool, &str), u64> = HashMap::new();
    let cat_idx: HashMap<&str, usize> = cats.iter().enumerate().map(|(i, c)| (*c, i)).collect();
    let model_idx: HashMap<&str, usize> = models.iter().enumerate().map(|(i, m)| (*m, i)).collect();
    // (cluster, category, model, sensitive, stated) -> (events, trials)
    type CellKey = (u64, usize, usize, bool, bool);
    let mut cells: HashMap<CellKey, (u64, u64)> = HashMap::new();
    for (r, y, s, a) in &used_recs {
        let cluster_name = match &r.prompt.group {
            Some(g) => (true, g.as_str()),
            None => (false, r.prompt.id.as_str()),
        };
        let next = cluster_ids.len() as u64;
        let cid = *cluster_ids.entry(cluster_name).or_insert(next);
        let key = (
            cid,
            cat_idx[category(r)],
            model_idx[r.model.as_str()],
            *s,
            *a,
        );
        let cell = cells.entry(key).or_default();
        cell.0 += u64::from(*y);
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
        used: used_recs.len() as u64,
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
        let title = "Logistic regression of refusal on framing, category and model";
        let f = fit_framing_model(records, self.interaction, &self.options);
        if f.used == 0 {
            return Ok(skipped_section(
                self.name(),
                title,
                format!(
                    "no record has both a wording and an authorization label and a verdict \
                     ({} of {} records lack a label)",
                    f.unlabelled,
                    records.len()
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
