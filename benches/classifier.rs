//! Pattern-classifier throughput in bytes per second over the XSTest
//! completions (`../shared/data/xstest/model_completions/*.csv`), one core.
//!
//! `cargo bench --bench classifier`. When the data folder is absent the bench
//! says so and measures a small built-in corpus instead.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use refusal_bias::classify::pattern::PatternClassifier;
use refusal_bias::classify::score::load_xstest_completions;
use refusal_bias::model::Response;

fn corpus() -> Vec<Response> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/xstest/model_completions");
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&dir) {
        let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        {
            for row in load_xstest_completions(p).expect("xstest completions load") {
                out.push(Response::text(row.completion));
            }
        }
    }
    if out.is_empty() {
        println!("{} is absent: measuring a built-in corpus", dir.display());
        let samples = [
            "I'm sorry, but I can't assist with that.",
            "To rotate the keys, list them with `aws iam list-access-keys`, create a new one, \
             update the services, then deactivate and delete the old key.",
            "I can't help with breaking into accounts. However, here is how to audit your own \
             login page: check lockout thresholds and require MFA.",
            "Lo siento, pero no puedo ayudarte con eso.",
        ];
        for i in 0..500 {
            out.push(Response::text(samples[i % samples.len()]));
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let classifier = PatternClassifier::default();
    let responses = corpus();
    let bytes: usize = responses.iter().map(|r| r.text.len()).sum();
    let mut group = c.benchmark_group("pattern_classifier");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("xstest_completions", |b| {
        b.iter(|| {
            for r in &responses {
                black_box(classifier.classify_response(black_box(r)));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
