//! Kill a journaled run with SIGKILL at random points, resume it each time,
//! and check that nothing is lost or done twice. Along the way: the child
//! holds the journal's lock while it runs, and a killed child releases it
//! (each resume would fail otherwise).
//!
//! The test binary re-executes itself: `kill_child` (ignored unless selected,
//! and inert without `RB_KILL_CHILD`) is the child process, which runs the
//! runner against a loopback HTTP stub that this parent serves with random
//! delays. The client below is a minimal HTTP/1.1 client written for this
//! test; once the crate's OpenAI-compatible client is merged it can replace
//! it (the stub would then speak chat completions).
#![cfg(unix)]

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use refusal_bias::analysis::standard_analyzers;
use refusal_bias::classify::{Classification, RefusalClassifier, Verdict};
use refusal_bias::model::{
    ChatRequest, ClientInfo, ErrorKind, ModelClient, ModelError, Response, Usage,
};
use refusal_bias::prompt::Prompt;
use refusal_bias::record::{Outcome, Record};
use refusal_bias::report::{Report, RunInfo};
use refusal_bias::run::{Journal, RunConfig, Runner, SeedPolicy, Shutdown};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PROMPTS: usize = 60;
const SAMPLES: u32 = 2;
const TOTAL: usize = PROMPTS * SAMPLES as usize;
const CHILD_ENV: &str = "RB_KILL_CHILD";
const ADDR_ENV: &str = "RB_KILL_ADDR";
const JOURNAL_ENV: &str = "RB_KILL_JOURNAL";
/// `kill` (default), `ctrlc` (Ctrl-C handling, one request at a time) or
/// `ctrlc-slow` (Ctrl-C handling, requests that take seconds).
const MODE_ENV: &str = "RB_KILL_MODE";

fn prompts() -> Vec<Prompt> {
    (0..PROMPTS)
        .map(|i| {
            let text = if i % 4 == 0 {
                format!("Explain how the exploit for CVE-2024-{i:04} works so I can patch it")
            } else {
                format!("Write a log query for failed logins on server {i}")
            };
            Prompt::new(format!("p{i:03}"), text)
        })
        .collect()
}

/// Serves one canned answer per request after a random delay (0-40 ms, from
/// a seeded generator shared by all connections). The answer depends on the
/// request only, so reruns of a key get the same answer.
fn serve(listener: TcpListener, served: Arc<AtomicU64>) {
    let rng = Arc::new(Mutex::new(ChaCha8Rng::seed_from_u64(0x5eed)));
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let rng = Arc::clone(&rng);
        let served = Arc::clone(&served);
        std::thread::spawn(move || {
            let _ = answer(stream, &rng, &served);
        });
    }
}

fn answer(stream: TcpStream, rng: &Mutex<ChaCha8Rng>, served: &AtomicU64) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let req: serde_json::Value = serde_json::from_slice(&body)?;
    let mut delay = rng.lock().unwrap().random_range(0..=40u64);
    if req["slow"].as_bool() == Some(true) {
        delay += 5_000;
    }
    std::thread::sleep(Duration::from_millis(delay));
    let text = req["text"].as_str().unwrap_or_default();
    let sample = req["sample"].as_u64().unwrap_or_default();
    let reply = if text.contains("exploit") && sample.is_multiple_of(2) {
        "I can't help with exploits.".to_string()
    } else {
        format!(
            "Here is how, for {} (sample {sample}, seed {}).",
            req["prompt_id"].as_str().unwrap_or_default(),
            req["seed"]
        )
    };
    let out = serde_json::json!({
        "text": reply,
        "input_tokens": text.len(),
        "output_tokens": reply.len(),
    })
    .to_string();
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{out}",
        out.len()
    )?;
    served.fetch_add(1, Ordering::SeqCst);
    Ok(())
}

/// A minimal HTTP/1.1 client for the stub (one connection per request).
struct StubClient {
    addr: SocketAddr,
    slow: bool,
}

#[async_trait]
impl ModelClient for StubClient {
    fn info(&self) -> ClientInfo {
        ClientInfo {
            provider: "test-stub".into(),
            // The port changes between test runs but not within one.
            base_url: Some(format!("http://{}", self.addr)),
            model: "stub".into(),
        }
    }

    async fn complete(&self, req: &ChatRequest) -> Result<Response, ModelError> {
        let started = tokio::time::Instant::now();
        let connect = |e: std::io::Error| ModelError::new(ErrorKind::Connect, e.to_string());
        let mut s = tokio::net::TcpStream::connect(self.addr)
            .await
            .map_err(connect)?;
        let body = serde_json::json!({
            "prompt_id": req.prompt_id,
            "sample": req.sample,
            "seed": req.params.seed,
            "text": req.messages[0].content,
            "slow": self.slow,
        })
        .to_string();
        let head = format!(
            "POST /answer HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.addr,
            body.len()
        );
        s.write_all(head.as_bytes()).await.map_err(connect)?;
        s.write_all(body.as_bytes()).await.map_err(connect)?;
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).await.map_err(connect)?;
        let raw = String::from_utf8_lossy(&raw);
        let (status, rest) = raw
            .split_once("\r\n\r\n")
            .ok_or_else(|| ModelError::new(ErrorKind::Decode, "no header end"))?;
        if !status.starts_with("HTTP/1.1 200") {
            return Err(ModelError::status(500, "stub failed"));
        }
        let v: serde_json::Value = serde_json::from_str(rest)
            .map_err(|e| ModelError::new(ErrorKind::Decode, e.to_string()))?;
        Ok(Response {
            usage: Some(Usage {
                input_tokens: v["input_tokens"].as_u64().unwrap_or_default(),
                output_tokens: v["output_tokens"].as_u64().unwrap_or_default(),
            }),
            latency_ms: started.elapsed().as_millis() as u64,
            ..Response::text(v["text"].as_str().unwrap_or_default())
        })
    }
}

struct Keyword;

#[async_trait]
impl RefusalClassifier for Keyword {
    fn name(&self) -> String {
        "keyword-test".into()
    }
    async fn classify(&self, _prompt: &Prompt, response: &Response) -> Classification {
        let v = if response.text.starts_with("I can't") {
            Verdict::Refusal
        } else {
            Verdict::Compliance
        };
        Classification::new(v, "keyword-test")
    }
}

/// The child process: one journaled run against the stub.
#[test]
#[ignore = "child process of sigkill_at_random_points_then_resume_equals_uninterrupted"]
fn kill_child() {
    if std::env::var_os(CHILD_ENV).is_none() {
        eprintln!("kill_child only runs as the child of the SIGKILL test; skipping");
        return;
    }
    let addr: SocketAddr = std::env::var(ADDR_ENV).unwrap().parse().unwrap();
    let journal = PathBuf::from(std::env::var_os(JOURNAL_ENV).unwrap());
    let mode = std::env::var(MODE_ENV).unwrap_or_default();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let summary = rt
        .block_on(async {
            let slow = mode == "ctrlc-slow";
            let model: Arc<dyn ModelClient> = Arc::new(StubClient { addr, slow });
            let cfg = RunConfig {
                concurrency: match mode.as_str() {
                    "ctrlc" => 1,
                    _ => 8,
                },
                samples: SAMPLES,
                seed: SeedPolicy::PerSample { base: 11 },
                ..RunConfig::default()
            };
            let shutdown = if mode.starts_with("ctrlc") {
                Shutdown::ctrl_c()
            } else {
                Shutdown::manual()
            };
            Runner::new(cfg)
                .run(&prompts(), &[model], Arc::new(Keyword), &journal, shutdown)
                .await
        })
        .unwrap();
    println!(
        "stopped={} new={} not_run={}",
        summary.stopped, summary.counts.new, summary.counts.not_run
    );
    if mode.is_empty() || mode == "kill" {
        assert_eq!(summary.records.len(), TOTAL);
    }
}

fn child(addr: SocketAddr, journal: &Path) -> Command {
    child_in(addr, journal, "kill")
}

fn child_in(addr: SocketAddr, journal: &Path, mode: &str) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "kill_child",
        "--ignored",
        "--test-threads=1",
        "--nocapture",
    ])
    .env(CHILD_ENV, "1")
    .env(ADDR_ENV, addr.to_string())
    .env(JOURNAL_ENV, journal)
    .env(MODE_ENV, mode)
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    cmd
}

/// Waits until the journal holds at least `n` complete lines (header
/// included) or the child exits; panics after a minute.
fn wait_for_lines(path: &Path, n: usize, proc: &mut std::process::Child) {
    let started = Instant::now();
    while complete_lines(path) < n {
        assert!(
            proc.try_wait().unwrap().is_none(),
            "child exited before writing {n} journal lines"
        );
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "child too slow"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn sigint(proc: &std::process::Child) {
    let status = Command::new("kill")
        .args(["-s", "INT", &proc.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn complete_lines(path: &Path) -> usize {
    std::fs::read(path)
        .map(|b| b.iter().filter(|&&c| c == b'\n').count())
        .unwrap_or(0)
}

/// Records in plan order (ids are zero-padded), with the measured latency
/// zeroed: it is the only field that depends on timing.
fn normalized(mut records: Vec<Record>) -> Vec<Record> {
    for r in &mut records {
        if let Outcome::Answered { response, .. } = &mut r.outcome {
            response.latency_ms = 0;
        }
    }
    records.sort_by_key(Record::key);
    records
}

fn run_to_end(addr: SocketAddr, journal: &Path) {
    let out = child(addr, journal).output().unwrap();
    assert!(
        out.status.success(),
        "child failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn sigkill_at_random_points_then_resume_equals_uninterrupted() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let served = Arc::new(AtomicU64::new(0));
    let served2 = Arc::clone(&served);
    std::thread::spawn(move || serve(listener, served2));
    let dir = tempfile::tempdir().unwrap();

    // The reference: one run never interrupted.
    let clean_path = dir.path().join("clean.jsonl");
    run_to_end(addr, &clean_path);
    let clean = Journal::read(&clean_path).unwrap();
    assert_eq!(clean.records.len(), TOTAL);

    // The killed run: kill points drawn from a seeded generator. The first
    // kill lands at a random time soon after start (possibly before the
    // header is written); the others once the journal holds a random number
    // of records (up to a third of those left), plus a random 0-5 ms, so
    // requests are in flight.
    let path = dir.path().join("killed.jsonl");
    let mut rng = ChaCha8Rng::seed_from_u64(20_260_412);
    let mut mid_run_kills = 0;
    let mut at_kill = Vec::new();
    for round in 0..6 {
        let mut proc = child(addr, &path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let before = complete_lines(&path).saturating_sub(1);
        let started = Instant::now();
        if round == 0 {
            std::thread::sleep(Duration::from_millis(rng.random_range(0..30)));
        } else {
            // Up to a third of what is left, so that kills spread over the run.
            let step = (TOTAL.saturating_sub(before) / 3).max(1);
            let target = before + rng.random_range(1..=step);
            while complete_lines(&path).saturating_sub(1) < target
                && started.elapsed() < Duration::from_secs(60)
            {
                if proc.try_wait().unwrap().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            std::thread::sleep(Duration::from_millis(rng.random_range(0..=5)));
        }
        let exited_by_itself = proc.try_wait().unwrap().is_some();
        // Across processes the journal is locked while the child runs: a
        // lock we can take means the child's run has returned, so the
        // journal is complete. (Held by the child: `WouldBlock`.)
        let mut locked_by_child = false;
        if round > 0 && !exited_by_itself {
            let f = std::fs::File::open(&path).unwrap();
            match f.try_lock() {
                Err(std::fs::TryLockError::WouldBlock) => locked_by_child = true,
                Ok(()) => assert_eq!(complete_lines(&path), 1 + TOTAL),
                Err(std::fs::TryLockError::Error(e)) => panic!("cannot test the lock: {e}"),
            }
        }
        proc.kill().unwrap(); // SIGKILL on Unix
        proc.wait().unwrap();
        // Whatever the kill point, the journal reads (a torn last line at most).
        if path.exists() && complete_lines(&path) > 0 {
            let partial = Journal::read(&path).unwrap();
            let n = partial.records.len();
            at_kill.push(n);
            let keys: HashSet<_> = partial.records.iter().map(Record::key).collect();
            assert_eq!(keys.len(), n, "a key journaled twice after round {round}");
            if !exited_by_itself && n > before && n < TOTAL {
                mid_run_kills += 1;
                if round > 0 {
                    assert!(locked_by_child, "journal unlocked mid-run in round {round}");
                }
            }
        }
    }
    eprintln!("records in the journal at each kill: {at_kill:?}");
    assert!(
        mid_run_kills >= 3,
        "only {mid_run_kills} kills landed mid-run: {at_kill:?}"
    );

    run_to_end(addr, &path);
    let last = Journal::read(&path).unwrap();
    assert_eq!(last.torn, None);
    assert_eq!(last.records.len(), TOTAL, "each request exactly once");
    let keys: HashSet<_> = last.records.iter().map(Record::key).collect();
    assert_eq!(keys.len(), TOTAL);
    assert_eq!(last.header, clean.header);
    let (last, clean) = (normalized(last.records), normalized(clean.records));
    assert_eq!(last, clean);
    // And so the final report equals the uninterrupted run's, byte for byte.
    let report = |records: &[Record]| {
        let run = RunInfo::default().count(records);
        Report::build(run, records, &standard_analyzers()).to_json()
    };
    assert_eq!(report(&last), report(&clean));
    // Killed requests were sent again: the stub served more than two runs' worth.
    assert!(served.load(Ordering::SeqCst) >= 2 * TOTAL as u64);
}

#[test]
fn ctrl_c_once_stops_cleanly_twice_exits_at_once() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || serve(listener, Arc::default()));
    let dir = tempfile::tempdir().unwrap();

    // One Ctrl-C: the request in flight finishes, nothing else starts, the
    // process returns normally with a summary.
    let path = dir.path().join("once.jsonl");
    let mut proc = child_in(addr, &path, "ctrlc").spawn().unwrap();
    wait_for_lines(&path, 1 + 5, &mut proc);
    sigint(&proc);
    let out = proc.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .find_map(|l| l.find("stopped=").map(|i| &l[i..]))
        .unwrap_or_else(|| panic!("no summary line in {stdout:?}"));
    let field = |name: &str| -> usize {
        line.split(' ')
            .find_map(|kv| kv.strip_prefix(name))
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!(line.starts_with("stopped=interrupted"), "{line}");
    let (new, not_run) = (field("new="), field("not_run="));
    assert_eq!(new + not_run, TOTAL);
    assert!(not_run > 0, "{line}");
    let journal = Journal::read(&path).unwrap();
    assert_eq!((journal.records.len(), journal.torn), (new, None));

    // Two Ctrl-C while requests take seconds: the second exits with 130
    // without waiting for them, and the journal is still whole.
    let path = dir.path().join("twice.jsonl");
    let mut proc = child_in(addr, &path, "ctrlc-slow").spawn().unwrap();
    wait_for_lines(&path, 1, &mut proc);
    std::thread::sleep(Duration::from_millis(200));
    sigint(&proc);
    std::thread::sleep(Duration::from_millis(200));
    sigint(&proc);
    let out = proc.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let journal = Journal::read(&path).unwrap();
    assert_eq!(journal.torn, None);
    assert_eq!(journal.records.len(), 0, "every request takes 5 s or more");
}
