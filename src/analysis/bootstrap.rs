//! A cluster bootstrap of a factor's rate ratio, resampling task groups.

use serde_json::json;

use super::categories::capitalize;
use super::common::{DENOMINATOR_NOTE, fmt_num, skipped_section};
use super::pairing::Factor;
use super::table::{IdMap, NO_GROUP, RecordTable};
use crate::analysis::Analyzer;
use crate::error::Result;
use crate::record::Record;
use crate::report::{Section, Table};
use crate::stats::bootstrap::{BootstrapConfig, cluster_bootstrap};

/// Refusals and verdicts of one task group under the two levels.
#[derive(Debug, Clone, Copy, Default)]
struct Cluster {
    x1: u32,
    n1: u32,
    x2: u32,
    n2: u32,
}

/// The ratio of a [`Factor`]'s two refusal rates (first level over second,
/// all models pooled) with cluster-bootstrap percentile and BCa intervals:
/// whole task groups are resampled, so the dependence between a task's
/// variants (and between models on the same task) is kept in every
/// resample. Seeded; the result is the same for any number of threads.
///
/// A record without a task group is a cluster of its own.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterBootstrap {
    factor: Factor,
    config: BootstrapConfig,
}

impl ClusterBootstrap {
    /// 2,000 resamples, 95%, seed 0, BCa, one thread per available core.
    pub fn new(factor: Factor) -> Self {
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        ClusterBootstrap {
            factor,
            config: BootstrapConfig {
                threads,
                ..Default::default()
            },
        }
    }

    /// Uses `config` instead (resamples, level, seed, threads, BCa).
    #[must_use]
    pub fn with_config(mut self, config: BootstrapConfig) -> Self {
        self.config = config;
        self
    }
}

fn ratio(sample: &[&Cluster]) -> f64 {
    let (mut x1, mut n1, mut x2, mut n2) = (0u64, 0u64, 0u64, 0u64);
    for c in sample {
        x1 += u64::from(c.x1);
        n1 += u64::from(c.n1);
        x2 += u64::from(c.x2);
        n2 += u64::from(c.n2);
    }
    // 0/0 and x/0 are NaN or infinite: the bootstrap counts them as
    // non-finite replicates and leaves them out.
    (x1 as f64 / n1 as f64) / (x2 as f64 / n2 as f64)
}

impl Analyzer for ClusterBootstrap {
    fn name(&self) -> String {
        format!("{}_rate_ratio_cluster_bootstrap", self.factor.name())
    }

    fn analyze(&self, records: &[Record]) -> Result<Section> {
        self.analyze_table(&RecordTable::new(records))
    }

    fn analyze_table(&self, table: &RecordTable<'_>) -> Result<Section> {
        let factor = self.factor;
        let [l1, l2] = factor.levels();
        let title = format!(
            "{} rate ratio, cluster bootstrap by task group",
            capitalize(factor.name())
        );
        let mut index: IdMap<u64, usize> = IdMap::default();
        let mut clusters: Vec<Cluster> = Vec::new();
        for r in &table.rows {
            let (Some(first), Some(refused)) = (factor.level_row(r), r.code.refused()) else {
                continue;
            };
            let key = if r.group == NO_GROUP {
                table.groups as u64 + u64::from(r.prompt)
            } else {
                u64::from(r.group)
            };
            let next = clusters.len();
            let i = *index.entry(key).or_insert(next);
            if i == next {
                clusters.push(Cluster::default());
            }
            let c = &mut clusters[i];
            if first {
                c.x1 += u32::from(refused);
                c.n1 += 1;
            } else {
                c.x2 += u32::from(refused);
                c.n2 += 1;
            }
        }
        if clusters.is_empty() {
            return Ok(skipped_section(
                self.name(),
                &title,
                format!("no record with a verdict carries a {} label", factor.name()),
            ));
        }
        let cfg = &self.config;
        let result = cluster_bootstrap(&clusters, ratio, cfg);
        let pct = (cfg.level * 100.0).round();
        let mut notes = vec![
            DENOMINATOR_NOTE.to_string(),
            format!(
                "{} task-group clusters resampled {} times (seed {}); the ratio is the {l1} \
                 refusal rate over the {l2} one, models pooled",
                clusters.len(),
                cfg.resamples,
                cfg.seed
            ),
        ];
        let mut rows = Vec::new();
        match &result {
            Ok(b) => {
                rows.push(vec![
                    format!("percentile [{pct}%]"),
                    fmt_num(b.estimate),
                    format!(
                        "[{}, {}]",
                        fmt_num(b.percentile.lower),
                        fmt_num(b.percentile.upper)
                    ),
                    fmt_num(b.standard_error),
                ]);
                if let Some(bca) = &b.bca {
                    rows.push(vec![
                        format!("BCa [{pct}%]"),
                        fmt_num(b.estimate),
                        format!(
                            "[{}, {}]",
                            fmt_num(bca.interval.lower),
                            fmt_num(bca.interval.upper)
                        ),
                        fmt_num(b.standard_error),
                    ]);
                }
                if b.non_finite > 0 {
                    notes.push(format!(
                        "{} resamples had no {l2} refusal or no verdicts and were left out; \
                         the intervals are conditional on the rest",
                        b.non_finite
                    ));
                }
            }
            Err(e) => notes.push(format!("the bootstrap could not be computed: {e}")),
        }
        Ok(Section {
            id: self.name(),
            title,
            notes,
            tables: vec![Table {
                title: String::new(),
                columns: vec![
                    "interval".into(),
                    "rate ratio".into(),
                    "bounds".into(),
                    "bootstrap SE".into(),
                ],
                rows,
            }],
            data: json!({
                "factor": factor,
                "statistic": format!("{l1} refusal rate / {l2} refusal rate"),
                "method": "cluster bootstrap by task group, percentile and bca",
                "clusters": clusters.len(),
                // Not the thread count: the result does not depend on it, and the
                // report stays byte-identical from one machine to another.
                "config": {
                    "resamples": cfg.resamples,
                    "level": cfg.level,
                    "seed": cfg.seed,
                    "bca": cfg.bca,
                },
                "result": super::common::figure(&result),
            }),
        })
    }
}
