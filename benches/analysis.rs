//! All analyzers over 1,000,000 synthetic records, including a
//! 10,000-resample cluster bootstrap.
//!
//! Run with `cargo bench --bench analysis`. The design: 2,500 task groups x
//! 4 framings x 4 models x 25 samples = 1,000,000 records in 8 categories,
//! about 1% failed requests and 1% undetermined. The bootstrap resamples
//! the 2,500 task groups; its cost grows with resamples x groups, so a run
//! with many more groups (one sample per prompt, say) costs more there.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use refusal_bias::analysis::{
    Analyzer, ClusterBootstrap, Factor, RecordTable, run_all, standard_analyzers,
};
use refusal_bias::classify::{Classification, Verdict};
use refusal_bias::model::{ErrorKind, ModelError, Response};
use refusal_bias::prompt::{Authorization, Category, Framing, Prompt, Wording};
use refusal_bias::record::{Outcome, Record};
use refusal_bias::stats::bootstrap::BootstrapConfig;

const GROUPS: usize = 2_500;
const MODELS: usize = 4;
const SAMPLES: u32 = 25;

/// A cheap deterministic hash to draw outcomes from.
fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

fn synthetic() -> Vec<Record> {
    let framings = [
        Framing::new(Wording::Sensitive, Authorization::Absent),
        Framing::new(Wording::Neutral, Authorization::Absent),
        Framing::new(Wording::Sensitive, Authorization::Stated),
        Framing::new(Wording::Neutral, Authorization::Stated),
    ];
    // Refusal probability in percent by framing, shifted by model.
    let base = [30u64, 11, 20, 8];
    let mut out = Vec::with_capacity(GROUPS * 4 * MODELS * SAMPLES as usize);
    for g in 0..GROUPS {
        let group = format!("task-{g}");
        let category = Category::DEFENSIVE[g % 8].clone();
        for (fi, framing) in framings.iter().enumerate() {
            let prompt = Prompt::new(format!("{group}/{}", framing.label()), "synthetic task")
                .with_category(category.clone())
                .with_framing(*framing)
                .with_group(group.clone());
            for m in 0..MODELS {
                for s in 0..SAMPLES {
                    let h = mix(((g * 4 + fi) * MODELS + m) as u64 * 1_000 + u64::from(s)) % 1000;
                    let outcome = if h < 10 {
                        Outcome::Failed {
                            error: ModelError::new(ErrorKind::Timeout, "timed out"),
                        }
                    } else {
                        let verdict = if h < 20 {
                            Verdict::Undetermined
                        } else if h % 100 < base[fi] + 3 * m as u64 {
                            Verdict::Refusal
                        } else {
                            Verdict::Compliance
                        };
                        Outcome::Answered {
                            response: Response::text(""),
                            classification: Classification::new(verdict, "synthetic"),
                        }
                    };
                    out.push(Record {
                        prompt: prompt.clone(),
                        model: format!("model-{m}"),
                        sample: s,
                        outcome,
                    });
                }
            }
        }
    }
    out
}

fn all_analyzers() -> Vec<Box<dyn Analyzer>> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let mut analyzers = standard_analyzers();
    // Replace the standard 2,000-resample bootstrap with a 10,000 one.
    analyzers.retain(|a| !a.name().contains("bootstrap"));
    analyzers.push(Box::new(
        ClusterBootstrap::new(Factor::Wording).with_config(BootstrapConfig {
            resamples: 10_000,
            level: 0.95,
            seed: 1,
            threads,
            bca: true,
        }),
    ));
    analyzers
}

fn bench(c: &mut Criterion) {
    let records = synthetic();
    let analyzers = all_analyzers();
    let mut group = c.benchmark_group("analysis_1m_records");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(30));
    // What a report costs: index the records once, run every analyzer.
    group.bench_function("all_analyzers", |b| {
        b.iter(|| black_box(run_all(black_box(&records), &analyzers)))
    });
    group.bench_function("index_records", |b| {
        b.iter(|| black_box(RecordTable::new(black_box(&records)).len()))
    });
    let table = RecordTable::new(&records);
    for a in &analyzers {
        group.bench_function(a.name(), |b| {
            b.iter(|| black_box(a.analyze_table(&table).unwrap()))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
