//! Throughput of the OpenAI client (alone, and under the runner) against a
//! loopback stub that answers every request after a fixed delay L.
//!
//! With C requests in flight and a delay L, the ideal rate is C / L requests
//! per second. Besides criterion's timings, each case prints the achieved
//! fraction of that ideal and the CPU time per request (user + system time
//! of the whole process from `getrusage`, so the stub's own work is
//! included: an upper bound on the client's cost).
//!
//! Run: `cargo bench --bench client_throughput`; set
//! `REFUSAL_BIAS_BENCH_DELAY_MS` (default 50) and `REFUSAL_BIAS_BENCH_C`
//! (default `16,64,256`) to change L and C.
//!
//! Each measured iteration sends 4 × C requests, so its ideal wall time is
//! 4 × L; any fixed cost per round trip (loopback, scheduling on a busy
//! machine) weighs more at a short L.

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use futures::StreamExt;
use refusal_bias::classify::pattern::PatternClassifier;
use refusal_bias::model::openai::OpenAiClient;
use refusal_bias::model::{ChatRequest, ModelClient};
use refusal_bias::prompt::Prompt;
use refusal_bias::run::{RunConfig, Runner, Shutdown};
use support::{Action, Stub, openai_answer, request};

/// The stub's default answer delay (`REFUSAL_BIAS_BENCH_DELAY_MS` overrides).
const DEFAULT_DELAY_MS: u64 = 50;
/// The default concurrencies (`REFUSAL_BIAS_BENCH_C`, comma-separated,
/// overrides).
const DEFAULT_CONCURRENCY: [usize; 3] = [16, 64, 256];

fn delay() -> Duration {
    let ms = std::env::var("REFUSAL_BIAS_BENCH_DELAY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_DELAY_MS);
    Duration::from_millis(ms)
}

fn concurrencies() -> Vec<usize> {
    std::env::var("REFUSAL_BIAS_BENCH_C")
        .ok()
        .map(|v| v.split(',').filter_map(|c| c.trim().parse().ok()).collect())
        .filter(|v: &Vec<usize>| !v.is_empty())
        .unwrap_or_else(|| DEFAULT_CONCURRENCY.to_vec())
}
/// Requests per measured iteration, as a multiple of the concurrency.
const ROUNDS: usize = 4;

fn cpu_time() -> Duration {
    // SAFETY: getrusage only writes into the struct we pass.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}

#[derive(Default)]
struct Tally {
    requests: usize,
    wall: Duration,
    cpu: Duration,
}

impl Tally {
    fn report(&self, what: &str, c: usize) {
        if self.requests == 0 {
            return;
        }
        let achieved = self.requests as f64 / self.wall.as_secs_f64();
        let ideal = c as f64 / delay().as_secs_f64();
        println!(
            "{what} C={c} L={}ms: {achieved:.0} req/s of ideal {ideal:.0} = {:.3}; \
             cpu {:.1} us/request over {} requests",
            delay().as_millis(),
            achieved / ideal,
            self.cpu.as_secs_f64() * 1e6 / self.requests as f64,
            self.requests
        );
    }
}

async fn client_only(client: &OpenAiClient, reqs: &[ChatRequest], c: usize) {
    let ok = futures::stream::iter(reqs.iter().map(|r| client.complete(r)))
        .buffer_unordered(c)
        .filter(|r| futures::future::ready(r.is_ok()))
        .count()
        .await;
    assert_eq!(ok, reqs.len(), "every request answered");
}

fn bench(crit: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let l = delay();
    let stub = rt.block_on(Stub::start(move |_| {
        Action::Delay(l, Box::new(Action::ok(openai_answer("Sure, here is how."))))
    }));
    let client = OpenAiClient::builder(&stub.url, "stub-model")
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut group = crit.benchmark_group("client_throughput");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));

    for c in concurrencies() {
        let n = c * ROUNDS;
        let reqs: Vec<ChatRequest> = (0..n)
            .map(|i| request(&format!("p{i}"), &format!("prompt {i}")))
            .collect();
        let mut tally = Tally::default();
        group.bench_function(format!("client_c{c}"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let (t0, cpu0) = (Instant::now(), cpu_time());
                    rt.block_on(client_only(&client, &reqs, c));
                    let wall = t0.elapsed();
                    total += wall;
                    tally.requests += n;
                    tally.wall += wall;
                    tally.cpu += cpu_time() - cpu0;
                }
                total
            })
        });
        tally.report("client", c);

        let prompts: Vec<Prompt> = (0..n)
            .map(|i| Prompt::new(format!("p{i}"), format!("prompt {i}")))
            .collect();
        let model: Arc<dyn ModelClient> = Arc::new(client.clone());
        let classifier = Arc::new(PatternClassifier::default());
        let mut tally = Tally::default();
        let mut run_no = 0;
        group.bench_function(format!("runner_c{c}"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    run_no += 1;
                    // A fresh journal each time, or the runner would resume.
                    let journal = dir.path().join(format!("j{c}-{run_no}.jsonl"));
                    let runner = Runner::new(RunConfig {
                        concurrency: c,
                        collect_records: false,
                        ..RunConfig::default()
                    });
                    let (t0, cpu0) = (Instant::now(), cpu_time());
                    let summary = rt
                        .block_on(runner.run(
                            &prompts,
                            std::slice::from_ref(&model),
                            classifier.clone(),
                            &journal,
                            Shutdown::manual(),
                        ))
                        .unwrap();
                    let wall = t0.elapsed();
                    assert_eq!(summary.counts.new as usize, n);
                    assert_eq!(summary.counts.failed, 0);
                    total += wall;
                    tally.requests += n;
                    tally.wall += wall;
                    tally.cpu += cpu_time() - cpu0;
                }
                total
            })
        });
        tally.report("runner", c);
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
