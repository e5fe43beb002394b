//! The runner and journal against in-process fake clients: order and bytes
//! independent of concurrency, seeds per sample, budgets, failures and
//! retries, shutdown, the stall watchdog, torn lines, foreign journals and
//! the lock that keeps a second run off a journal in use.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use refusal_bias::Error;
use refusal_bias::analysis::standard_analyzers;
use refusal_bias::classify::{Classification, RefusalClassifier, Verdict};
use refusal_bias::model::{ChatRequest, ClientInfo, ModelClient, ModelError, Response, Usage};
use refusal_bias::prompt::{Category, Prompt};
use refusal_bias::record::Record;
use refusal_bias::report::{Report, RunInfo};
use refusal_bias::run::{
    Budget, BudgetLimit, Event, Journal, Price, RunConfig, RunSummary, Runner, SeedPolicy,
    Shutdown, StopCause,
};

/// FNV-1a, so that delays depend on the key only (not on a random hasher).
fn fnv(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for &b in p.iter() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        h ^= 0xff;
    }
    h
}

/// A fake provider: answers after a key-dependent delay, refuses prompts that
/// say "exploit", can fail some prompts on their first attempt, hang one
/// prompt, and records every request it sees.
#[derive(Default)]
struct Fake {
    label: String,
    base_url: Option<String>,
    max_delay_ms: u64,
    fail_first: HashSet<String>,
    hang: Option<String>,
    calls: AtomicU64,
    attempts: Mutex<HashMap<(String, u32), u32>>,
    seeds: Mutex<Vec<(String, u32, Option<u64>)>>,
}

impl Fake {
    fn new(label: &str, max_delay_ms: u64) -> Self {
        Fake {
            label: label.to_string(),
            max_delay_ms,
            ..Fake::default()
        }
    }
    fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl ModelClient for Fake {
    fn info(&self) -> ClientInfo {
        ClientInfo {
            provider: "fake".into(),
            base_url: self.base_url.clone(),
            model: self.label.clone(),
        }
    }

    async fn complete(&self, req: &ChatRequest) -> Result<Response, ModelError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.seeds
            .lock()
            .unwrap()
            .push((req.prompt_id.clone(), req.sample, req.params.seed));
        let attempt = {
            let mut a = self.attempts.lock().unwrap();
            let n = a.entry((req.prompt_id.clone(), req.sample)).or_default();
            *n += 1;
            *n
        };
        if self.hang.as_deref() == Some(req.prompt_id.as_str()) {
            std::future::pending::<()>().await;
        }
        if self.max_delay_ms > 0 {
            let h = fnv(&[
                self.label.as_bytes(),
                req.prompt_id.as_bytes(),
                &req.sample.to_le_bytes(),
            ]);
            tokio::time::sleep(Duration::from_millis(h % (self.max_delay_ms + 1))).await;
        }
        if attempt == 1 && self.fail_first.contains(&req.prompt_id) {
            return Err(ModelError::status(503, "service unavailable"));
        }
        let text = if req.messages[0].content.contains("exploit") {
            "I can't help with that.".to_string()
        } else {
            format!(
                "Sure. Steps for {} from {} (sample {}, seed {:?}).",
                req.prompt_id, self.label, req.sample, req.params.seed
            )
        };
        Ok(Response {
            usage: Some(Usage {
                input_tokens: 10,
                output_tokens: 20,
            }),
            latency_ms: 7,
            model: Some(self.label.clone()),
            ..Response::text(text)
        })
    }
}

/// Refusal when the answer starts with "I can't", compliance otherwise.
struct Keyword;

#[async_trait]
impl RefusalClassifier for Keyword {
    fn name(&self) -> String {
        "keyword-test".into()
    }
    async fn classify(&self, _prompt: &Prompt, response: &Response) -> Classification {
        if response.text.starts_with("I can't") {
            Classification::new(Verdict::Refusal, "keyword-test")
        } else {
            Classification::new(Verdict::Compliance, "keyword-test")
        }
    }
}

/// `n` prompts; every third one (i = 0, 3, 6, ...) says "exploit".
fn prompts(n: usize) -> Vec<Prompt> {
    (0..n)
        .map(|i| {
            let text = if i % 3 == 0 {
                format!("Write an exploit check for CVE-{i} on my own server")
            } else {
                format!("Harden the ssh configuration of host {i}")
            };
            Prompt::new(format!("p{i:03}"), text).with_group(format!("g{}", i / 2))
        })
        .collect()
}

fn dyn_models(models: &[Arc<Fake>]) -> Vec<Arc<dyn ModelClient>> {
    models
        .iter()
        .map(|m| Arc::clone(m) as Arc<dyn ModelClient>)
        .collect()
}

async fn run(
    cfg: RunConfig,
    prompts: &[Prompt],
    models: &[Arc<Fake>],
    journal: &Path,
) -> refusal_bias::Result<RunSummary> {
    Runner::new(cfg)
        .run(
            prompts,
            &dyn_models(models),
            Arc::new(Keyword),
            journal,
            Shutdown::manual(),
        )
        .await
}

fn journal_lines(path: &Path) -> usize {
    std::fs::read_to_string(path).unwrap().lines().count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_1_and_64_give_identical_order_and_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let ps = prompts(40);
    let mut outputs = Vec::new();
    for (i, concurrency) in [1usize, 64].into_iter().enumerate() {
        let models = [Arc::new(Fake::new("a", 3)), Arc::new(Fake::new("b", 3))];
        let cfg = RunConfig {
            concurrency,
            samples: 3,
            seed: SeedPolicy::PerSample { base: 1 },
            ..RunConfig::default()
        };
        let s = run(cfg, &ps, &models, &dir.path().join(format!("j{i}.jsonl")))
            .await
            .unwrap();
        assert_eq!(s.stopped, StopCause::Finished);
        // 40 prompts x 2 models x 3 samples.
        assert_eq!(s.counts.total, 240);
        assert_eq!(s.counts.new, 240);
        // Prompts 0, 3, ..., 39 say "exploit": 14 prompts x 2 x 3 refusals.
        let refused = s
            .records
            .iter()
            .filter(|r| r.refused() == Some(true))
            .count();
        assert_eq!(refused, 14 * 6);
        outputs.push(s.records);
    }
    // The order is prompt, then model, then sample, built here by hand.
    let expected: Vec<(String, String, u32)> = (0..40)
        .flat_map(|p| {
            ["a", "b"]
                .into_iter()
                .flat_map(move |m| (0..3).map(move |s| (format!("p{p:03}"), m.to_string(), s)))
        })
        .collect();
    let got: Vec<(String, String, u32)> = outputs[1]
        .iter()
        .map(|r| (r.prompt.id.clone(), r.model.clone(), r.sample))
        .collect();
    assert_eq!(got, expected);
    let bytes = |rs: &[Record]| serde_json::to_vec(rs).unwrap();
    assert_eq!(bytes(&outputs[0]), bytes(&outputs[1]));
    // And so are the reports, JSON and Markdown alike.
    let report = |rs: &[Record]| {
        let r = Report::build(RunInfo::default().count(rs), rs, &standard_analyzers());
        (r.to_json(), r.to_markdown())
    };
    assert_eq!(report(&outputs[0]), report(&outputs[1]));
}

#[tokio::test]
async fn per_sample_seeds_are_base_plus_index() {
    let dir = tempfile::tempdir().unwrap();
    let model = Arc::new(Fake::new("m", 0));
    let cfg = RunConfig {
        samples: 3,
        seed: SeedPolicy::PerSample { base: 100 },
        ..RunConfig::default()
    };
    let s = run(
        cfg,
        &prompts(2),
        std::slice::from_ref(&model),
        &dir.path().join("j.jsonl"),
    )
    .await
    .unwrap();
    let mut seen = model.seeds.lock().unwrap().clone();
    seen.sort();
    let want: Vec<(String, u32, Option<u64>)> = ["p000", "p001"]
        .iter()
        .flat_map(|p| (0..3).map(move |i| (p.to_string(), i, Some(100 + u64::from(i)))))
        .collect();
    assert_eq!(seen, want);
    // The draws of a compliant prompt differ by their seed.
    let texts: Vec<&str> = s.records[3..6]
        .iter()
        .map(|r| r.response().unwrap().text.as_str())
        .collect();
    assert_eq!(
        texts,
        [
            "Sure. Steps for p001 from m (sample 0, seed Some(100)).",
            "Sure. Steps for p001 from m (sample 1, seed Some(101)).",
            "Sure. Steps for p001 from m (sample 2, seed Some(102)).",
        ]
    );
}

#[tokio::test]
async fn as_given_seed_is_passed_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let model = Arc::new(Fake::new("m", 0));
    let mut cfg = RunConfig {
        samples: 2,
        ..RunConfig::default()
    };
    cfg.params.seed = Some(7);
    run(
        cfg,
        &prompts(1),
        std::slice::from_ref(&model),
        &dir.path().join("j.jsonl"),
    )
    .await
    .unwrap();
    let seeds: Vec<Option<u64>> = model.seeds.lock().unwrap().iter().map(|s| s.2).collect();
    assert_eq!(seeds, [Some(7), Some(7)]);
}

#[tokio::test]
async fn request_budget_stops_then_resume_completes_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.jsonl");
    let ps = prompts(10);
    let first = Arc::new(Fake::new("m", 2));
    let cfg = RunConfig {
        samples: 2,
        budget: Budget::unlimited().with_max_requests(7),
        ..RunConfig::default()
    };
    let s = run(cfg.clone(), &ps, std::slice::from_ref(&first), &path)
        .await
        .unwrap();
    assert_eq!(s.stopped, StopCause::Budget(BudgetLimit::Requests));
    assert_eq!((s.counts.new, s.counts.skipped_budget), (7, 13));
    assert_eq!(first.calls(), 7);
    assert_eq!(s.records.len(), 7);
    assert_eq!(journal_lines(&path), 1 + 7);

    let second = Arc::new(Fake::new("m", 2));
    let cfg2 = RunConfig {
        budget: Budget::unlimited(),
        ..cfg
    };
    let s2 = run(cfg2.clone(), &ps, std::slice::from_ref(&second), &path)
        .await
        .unwrap();
    assert_eq!(s2.stopped, StopCause::Finished);
    assert_eq!((s2.counts.resumed, s2.counts.new), (7, 13));
    assert_eq!(second.calls(), 13, "finished keys are not sent again");
    assert_eq!(journal_lines(&path), 1 + 20);

    // The same as a run that was never stopped.
    let clean = run(
        cfg2,
        &ps,
        &[Arc::new(Fake::new("m", 0))],
        &dir.path().join("clean.jsonl"),
    )
    .await
    .unwrap();
    assert_eq!(s2.records, clean.records);
}

#[tokio::test]
async fn token_budget_stops_after_crossing() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = RunConfig {
        concurrency: 1,
        budget: Budget::unlimited().with_max_tokens(100),
        ..RunConfig::default()
    };
    let s = run(
        cfg,
        &prompts(10),
        &[Arc::new(Fake::new("m", 0))],
        &dir.path().join("j.jsonl"),
    )
    .await
    .unwrap();
    // Each response reports 10 + 20 tokens: 90 after three (< 100), so a
    // fourth starts; 120 after it, so no fifth.
    assert_eq!(s.stopped, StopCause::Budget(BudgetLimit::Tokens));
    assert_eq!(s.counts.new, 4);
    assert_eq!(s.spent.tokens, 120);
    assert_eq!(s.counts.skipped_budget, 6);
}

#[tokio::test]
async fn cost_budget_uses_user_prices() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = RunConfig {
        concurrency: 1,
        budget: Budget::unlimited()
            .with_max_cost(0.12)
            .with_price("m", Price::per_million(1000.0, 2000.0)),
        ..RunConfig::default()
    };
    let s = run(
        cfg,
        &prompts(10),
        &[Arc::new(Fake::new("m", 0))],
        &dir.path().join("j.jsonl"),
    )
    .await
    .unwrap();
    // Per request: 10 * 1000/1e6 + 20 * 2000/1e6 = 0.05. After two 0.10 <
    // 0.12, so a third starts; 0.15 after it.
    assert_eq!(s.stopped, StopCause::Budget(BudgetLimit::Cost));
    assert_eq!(s.counts.new, 3);
    assert!((s.spent.cost - 0.15).abs() < 1e-12, "{}", s.spent.cost);

    // A cost limit without a price for a model is a configuration error.
    let cfg = RunConfig {
        budget: Budget::unlimited().with_max_cost(1.0),
        ..RunConfig::default()
    };
    let err = run(
        cfg,
        &prompts(1),
        &[Arc::new(Fake::new("m", 0))],
        &dir.path().join("k.jsonl"),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::Config(ref m) if m.contains("no price for model `m`")));
}

#[tokio::test]
async fn failed_requests_are_records_and_retry_errors_supersedes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.jsonl");
    let ps = prompts(6);
    let mut flaky = Fake::new("m", 1);
    flaky.fail_first = ["p001", "p004"].iter().map(|s| s.to_string()).collect();
    let flaky = Arc::new(flaky);

    let s = run(
        RunConfig::default(),
        &ps,
        std::slice::from_ref(&flaky),
        &path,
    )
    .await
    .unwrap();
    assert_eq!(s.counts.failed, 2);
    assert_eq!(s.records.len(), 6, "failures are records, not dropped");
    assert_eq!(s.records[1].error().unwrap().status, Some(503));

    // Without retry_errors a failure counts as done.
    let s = run(
        RunConfig::default(),
        &ps,
        std::slice::from_ref(&flaky),
        &path,
    )
    .await
    .unwrap();
    assert_eq!((s.counts.resumed, s.counts.new, s.counts.failed), (6, 0, 2));

    // With it the failed keys run again (and now succeed). A budget of one
    // request retries p001 only; p004 keeps its failed record, counted, in
    // the records and in the counts, with and without records in memory.
    let retry = RunConfig {
        retry_errors: true,
        ..RunConfig::default()
    };
    for collect_records in [true, false] {
        let one = RunConfig {
            budget: Budget::unlimited().with_max_requests(1),
            collect_records,
            ..retry.clone()
        };
        let copy = dir.path().join(format!("copy-{collect_records}.jsonl"));
        std::fs::copy(&path, &copy).unwrap();
        let s = run(one, &ps, std::slice::from_ref(&flaky), &copy)
            .await
            .unwrap();
        assert_eq!(
            (s.counts.resumed, s.counts.new, s.counts.retried),
            (4, 1, 1)
        );
        assert_eq!((s.counts.skipped_budget, s.counts.failed), (1, 1));
        if collect_records {
            assert_eq!(s.records.len(), 6);
            assert!(s.records[1].error().is_none(), "p001 retried");
            assert!(s.records[4].error().is_some(), "p004 kept");
        }
    }
    // Both copies retried p001 (its second and third attempts succeed).
    assert_eq!(flaky.calls(), 8);

    let s = run(retry.clone(), &ps, std::slice::from_ref(&flaky), &path)
        .await
        .unwrap();
    let c = s.counts;
    assert_eq!((c.resumed, c.new, c.retried, c.failed), (4, 2, 2, 0));
    assert!(s.records.iter().all(|r| r.error().is_none()));
    assert_eq!(flaky.calls(), 10);

    // The journal keeps both attempts; the later line wins for readers.
    let contents = Journal::read(&path).unwrap();
    assert_eq!(contents.records.len(), 8);
    let latest = contents.latest();
    assert_eq!(latest.len(), 6);
    assert!(latest.iter().all(|r| r.error().is_none()));

    // Resuming again sees the two superseded lines and runs nothing.
    let s = run(retry, &ps, std::slice::from_ref(&flaky), &path)
        .await
        .unwrap();
    assert_eq!(
        (s.counts.resumed, s.counts.new, s.counts.superseded),
        (6, 0, 2)
    );
}

#[tokio::test]
async fn shutdown_stops_taking_new_work_and_finishes_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.jsonl");
    let ps = prompts(20);
    let shutdown = Shutdown::manual();
    let trigger = shutdown.clone();
    let done = Arc::new(AtomicU64::new(0));
    let done2 = Arc::clone(&done);
    let observer = move |e: &Event| {
        if let Event::RecordDone { .. } = e
            && done2.fetch_add(1, Ordering::SeqCst) + 1 == 5
        {
            trigger.trigger();
        }
    };
    let cfg = RunConfig {
        concurrency: 2,
        ..RunConfig::default()
    };
    let model: Arc<dyn ModelClient> = Arc::new(Fake::new("m", 2));
    let s = Runner::new(cfg.clone())
        .with_observer(Arc::new(observer))
        .run(&ps, &[model], Arc::new(Keyword), &path, shutdown)
        .await
        .unwrap();
    // At the fifth completion one other request is in flight (concurrency 2,
    // refilled after each completion); it finishes, nothing else starts.
    assert_eq!(s.stopped, StopCause::Interrupted);
    assert_eq!((s.counts.new, s.counts.not_run), (6, 14));
    assert_eq!(journal_lines(&path), 1 + 6);

    // A shutdown already triggered starts nothing.
    let stopped = Shutdown::manual();
    stopped.trigger();
    let model: Arc<dyn ModelClient> = Arc::new(Fake::new("m", 0));
    let s = Runner::new(cfg)
        .run(&ps, &[model], Arc::new(Keyword), &path, stopped)
        .await
        .unwrap();
    assert_eq!((s.counts.resumed, s.counts.new), (6, 0));
    assert_eq!(s.stopped, StopCause::Interrupted);
}

#[tokio::test(start_paused = true)]
async fn shutdown_grace_abandons_a_hung_request() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.jsonl");
    let mut hung = Fake::new("m", 0);
    hung.hang = Some("p002".into());
    let shutdown = Shutdown::manual();
    let trigger = shutdown.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(5)).await;
        trigger.trigger();
    });
    let cfg = RunConfig {
        concurrency: 1,
        shutdown_grace: Some(Duration::from_secs(30)),
        stall_after: None,
        ..RunConfig::default()
    };
    let model: Arc<dyn ModelClient> = Arc::new(hung);
    let s = Runner::new(cfg)
        .run(&prompts(5), &[model], Arc::new(Keyword), &path, shutdown)
        .await
        .unwrap();
    // p000 and p001 finish; p002 hangs until the grace period ends.
    assert_eq!(s.stopped, StopCause::Interrupted);
    assert_eq!((s.counts.new, s.counts.not_run), (2, 3));
    assert_eq!(journal_lines(&path), 1 + 2);
}

#[tokio::test(start_paused = true)]
async fn stall_watchdog_reports_what_is_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let mut hung = Fake::new("m", 0);
    hung.hang = Some("p001".into());
    let shutdown = Shutdown::manual();
    let events: Arc<Mutex<Vec<Event>>> = Arc::default();
    let sink = Arc::clone(&events);
    let trigger = shutdown.clone();
    let observer = move |e: &Event| {
        if let Event::Stalled { .. } = e {
            sink.lock().unwrap().push(e.clone());
            // Stop after the second warning so the test ends.
            if sink.lock().unwrap().len() == 2 {
                trigger.trigger();
            }
        }
    };
    let cfg = RunConfig {
        concurrency: 2,
        stall_after: Some(Duration::from_secs(60)),
        shutdown_grace: Some(Duration::from_secs(1)),
        ..RunConfig::default()
    };
    let model: Arc<dyn ModelClient> = Arc::new(hung);
    let s = Runner::new(cfg)
        .with_observer(Arc::new(observer))
        .run(
            &prompts(3),
            &[model],
            Arc::new(Keyword),
            &dir.path().join("j.jsonl"),
            shutdown,
        )
        .await
        .unwrap();
    let events = events.lock().unwrap();
    assert_eq!(events.len(), 2);
    let Event::Stalled { idle, in_flight } = &events[0] else {
        unreachable!()
    };
    assert!(*idle >= Duration::from_secs(60), "{idle:?}");
    let keys: Vec<&str> = in_flight.iter().map(|f| f.key.prompt_id.as_str()).collect();
    assert_eq!(keys, ["p001"]);
    // p000 and p002 finished; p001 was abandoned.
    assert_eq!((s.counts.new, s.counts.not_run), (2, 1));
}

#[tokio::test]
async fn torn_last_line_is_ignored_and_cut_before_appending() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.jsonl");
    let ps = prompts(5);
    let full = run(
        RunConfig::default(),
        &ps,
        &[Arc::new(Fake::new("m", 0))],
        &path,
    )
    .await
    .unwrap();
    // Cut the last record line in half, as a crash mid-write would.
    let text = std::fs::read_to_string(&path).unwrap();
    let last_start = text[..text.len() - 1].rfind('\n').unwrap() + 1;
    let cut = last_start + (text.len() - last_start) / 2;
    std::fs::write(&path, &text[..cut]).unwrap();

    let contents = Journal::read(&path).unwrap();
    assert_eq!(contents.records.len(), 4);
    let torn = contents.torn.expect("torn line reported");
    assert_eq!(torn.line, 6, "header + 4 records, then the torn one");
    assert_eq!(torn.offset as usize, last_start);

    let model = Arc::new(Fake::new("m", 0));
    let s = run(
        RunConfig::default(),
        &ps,
        std::slice::from_ref(&model),
        &path,
    )
    .await
    .unwrap();
    assert_eq!((s.counts.resumed, s.counts.new), (4, 1));
    assert_eq!(model.calls(), 1);
    assert_eq!(s.records, full.records);
    // The file is whole again: every line parses and ends with a newline.
    let after = std::fs::read_to_string(&path).unwrap();
    assert!(after.ends_with('\n'));
    let contents = Journal::read(&path).unwrap();
    assert_eq!((contents.records.len(), contents.torn), (5, None));
}

#[tokio::test]
async fn corrupt_middle_line_is_an_error_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.jsonl");
    let ps = prompts(3);
    run(
        RunConfig::default(),
        &ps,
        &[Arc::new(Fake::new("m", 0))],
        &path,
    )
    .await
    .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[2] = "{not json";
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let err = Journal::read(&path).unwrap_err().to_string();
    assert!(err.contains("j.jsonl:3"), "{err}");
    assert!(err.contains("not a journal record"), "{err}");
}

#[tokio::test]
async fn journal_from_another_configuration_is_refused_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.jsonl");
    let ps = prompts(4);
    run(
        RunConfig::default(),
        &ps,
        &[Arc::new(Fake::new("m", 0))],
        &path,
    )
    .await
    .unwrap();
    let before = std::fs::read(&path).unwrap();

    // Another prompt set.
    let other = prompts(6);
    let err = run(
        RunConfig::default(),
        &other,
        &[Arc::new(Fake::new("m", 0))],
        &path,
    )
    .await
    .unwrap_err();
    let Error::Config(msg) = &err else {
        panic!("expected a configuration error, got {err}")
    };
    assert!(msg.contains("prompts differ (4 in journal, 6 now"), "{msg}");
    // Another model and sample count.
    let cfg = RunConfig {
        samples: 2,
        ..RunConfig::default()
    };
    let err = run(cfg, &ps, &[Arc::new(Fake::new("n", 0))], &path)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("models differ (journal: [m], now: [n])"),
        "{err}"
    );
    assert!(err.contains("samples differ (journal: 1, now: 2)"), "{err}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "refusal leaves the file alone"
    );

    // Another endpoint for the same model is not another configuration (a
    // local server gets a new port each start).
    let mut moved = Fake::new("m", 0);
    moved.base_url = Some("http://127.0.0.1:9".into());
    let s = run(RunConfig::default(), &ps, &[Arc::new(moved)], &path)
        .await
        .unwrap();
    assert_eq!((s.counts.resumed, s.counts.new), (4, 0));

    // Allowed: the four shared keys are reused, two new prompts run.
    let cfg = RunConfig {
        allow_config_mismatch: true,
        ..RunConfig::default()
    };
    let model = Arc::new(Fake::new("m", 0));
    let s = run(cfg, &other, std::slice::from_ref(&model), &path)
        .await
        .unwrap();
    assert_eq!(
        (s.counts.resumed, s.counts.new, s.counts.ignored),
        (4, 2, 0)
    );
    assert_eq!(model.calls(), 2);
}

#[tokio::test]
async fn duplicate_ids_and_labels_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let mut ps = prompts(2);
    ps[1].id = ps[0].id.clone();
    let err = run(
        RunConfig::default(),
        &ps,
        &[Arc::new(Fake::new("m", 0))],
        &dir.path().join("j.jsonl"),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("prompt id `p000` appears more than once"),
        "{err}"
    );
    let err = run(
        RunConfig::default(),
        &prompts(2),
        &[Arc::new(Fake::new("m", 0)), Arc::new(Fake::new("m", 0))],
        &dir.path().join("k.jsonl"),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("model label `m` appears more than once"),
        "{err}"
    );
}

#[tokio::test]
async fn events_bracket_the_run_and_count_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let events: Arc<Mutex<Vec<Event>>> = Arc::default();
    let sink = Arc::clone(&events);
    let model: Arc<dyn ModelClient> = Arc::new(Fake::new("m", 0));
    Runner::new(RunConfig::default())
        .with_observer(Arc::new(move |e: &Event| {
            sink.lock().unwrap().push(e.clone())
        }))
        .run(
            &prompts(6),
            &[model],
            Arc::new(Keyword),
            &dir.path().join("j.jsonl"),
            Shutdown::manual(),
        )
        .await
        .unwrap();
    let events = events.lock().unwrap();
    let Event::Started(start) = &events[0] else {
        panic!("first event is {:?}", events[0])
    };
    assert_eq!((start.total, start.to_run), (6, 6));
    let last_done = events
        .iter()
        .filter_map(|e| match e {
            Event::RecordDone { progress, .. } => Some(*progress),
            _ => None,
        })
        .next_back()
        .unwrap();
    // p000 and p003 say "exploit".
    assert_eq!(
        (last_done.done, last_done.refusals, last_done.failed),
        (6, 2, 0)
    );
    let Event::Finished { counts, stopped } = events.last().unwrap() else {
        panic!("last event is {:?}", events.last())
    };
    assert_eq!((*stopped, counts.new), (StopCause::Finished, 6));
}

#[test]
fn empty_journal_file_is_treated_as_new() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.jsonl");
    std::fs::File::create(&path)
        .unwrap()
        .write_all(b"")
        .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = rt
        .block_on(run(
            RunConfig::default(),
            &prompts(2),
            &[Arc::new(Fake::new("m", 0))],
            &path,
        ))
        .unwrap();
    assert_eq!(s.counts.new, 2);
    assert_eq!(Journal::read(&path).unwrap().records.len(), 2);
}

#[test]
fn foreign_file_is_not_taken_for_a_journal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.jsonl");
    std::fs::write(&path, "{\"journal\":\"something-else\",\"version\":1,\"fingerprint\":\"x\",\"config\":{\"prompts_sha256\":\"\",\"prompt_count\":0,\"models\":[],\"params\":{},\"samples\":1,\"seed\":{\"policy\":\"as_given\"},\"classifier\":\"c\"}}\n").unwrap();
    let err = Journal::read(&path).unwrap_err().to_string();
    assert!(err.contains("other.jsonl:1 (field `journal`)"), "{err}");
    assert!(err.contains("found `something-else`"), "{err}");

    std::fs::write(&path, "id,text\np1,hello\n").unwrap();
    let err = Journal::read(&path).unwrap_err().to_string();
    assert!(
        err.contains("other.jsonl:1: not a refusal-bias journal header"),
        "{err}"
    );
}

#[tokio::test]
async fn resumed_records_carry_the_current_labels() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.jsonl");
    let mut ps = prompts(3);
    run(
        RunConfig::default(),
        &ps,
        &[Arc::new(Fake::new("m", 0))],
        &path,
    )
    .await
    .unwrap();
    // Relabel one prompt: same request, so the journal still matches.
    ps[1] = ps[1].clone().with_category(Category::LogAnalysis);
    let s = run(
        RunConfig::default(),
        &ps,
        &[Arc::new(Fake::new("m", 0))],
        &path,
    )
    .await
    .unwrap();
    assert_eq!(
        (s.counts.resumed, s.counts.new, s.counts.relabelled),
        (3, 0, 1)
    );
    assert_eq!(s.records[1].prompt.category, Some(Category::LogAnalysis));
    assert_eq!(s.records[1].prompt, ps[1]);
    // The journal line itself is left as written.
    assert_eq!(
        Journal::read(&path).unwrap().records[1].prompt.category,
        None
    );
}

/// Answers only once released: each request signals `started`, then waits
/// for a permit on `release`.
struct Gated {
    started: tokio::sync::Notify,
    release: tokio::sync::Semaphore,
    calls: AtomicU64,
}

#[async_trait]
impl ModelClient for Gated {
    fn info(&self) -> ClientInfo {
        ClientInfo {
            provider: "fake".into(),
            base_url: None,
            model: "m".into(),
        }
    }

    async fn complete(&self, _req: &ChatRequest) -> Result<Response, ModelError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.started.notify_one();
        let _permit = self.release.acquire().await.unwrap();
        Ok(Response::text("Sure, here is how."))
    }
}

#[tokio::test]
async fn a_second_run_on_a_journal_in_use_fails_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.jsonl");
    let ps = prompts(4);
    let gated = Arc::new(Gated {
        started: tokio::sync::Notify::new(),
        release: tokio::sync::Semaphore::new(0),
        calls: AtomicU64::new(0),
    });
    let first_model: Arc<dyn ModelClient> = gated.clone();
    let runner = Runner::new(RunConfig::default());
    let first = runner.run(
        &ps,
        std::slice::from_ref(&first_model),
        Arc::new(Keyword),
        &path,
        Shutdown::manual(),
    );
    let second_model = Arc::new(Fake::new("m", 0));
    let second = async {
        // The first run has sent a request, so it holds the journal.
        gated.started.notified().await;
        let err = run(
            RunConfig::default(),
            &ps,
            std::slice::from_ref(&second_model),
            &path,
        )
        .await
        .unwrap_err();
        let Error::Config(msg) = &err else {
            panic!("expected a configuration error, got {err:?}");
        };
        assert_eq!(
            msg,
            &format!("journal {} is in use by another run", path.display())
        );
        // Refused before any request, and before touching the file: the
        // header is still the only line.
        assert_eq!(second_model.calls(), 0);
        assert_eq!(journal_lines(&path), 1);
        // Creating over it is refused too, and truncates nothing.
        let header = Journal::read(&path).unwrap().header;
        assert!(matches!(
            Journal::create(&path, &header),
            Err(Error::Config(m)) if m.contains("is in use by another run")
        ));
        assert_eq!(journal_lines(&path), 1);
        // Reading takes no lock.
        assert_eq!(Journal::read(&path).unwrap().records.len(), 0);
        gated.release.add_permits(ps.len());
    };
    let (first, ()) = tokio::join!(first, second);
    let first = first.unwrap();
    assert_eq!(first.counts.new, 4);
    assert_eq!(gated.calls.load(Ordering::SeqCst), 4);

    // Once the first run has returned, the journal is free: a second run
    // resumes all four records and sends nothing.
    let s = run(
        RunConfig::default(),
        &ps,
        std::slice::from_ref(&second_model),
        &path,
    )
    .await
    .unwrap();
    assert_eq!((s.counts.resumed, s.counts.new), (4, 0));
    assert_eq!(second_model.calls(), 0);
    assert_eq!(journal_lines(&path), 1 + 4);
}
