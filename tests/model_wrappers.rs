//! The cache, concurrency-limit and rate-limit wrappers, the cache key's
//! stability, and that API keys stay out of logs and cache files.

#![cfg(feature = "http")]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use refusal_bias::model::cache::{self, Cache};
use refusal_bias::model::concurrency::ConcurrencyLimit;
use refusal_bias::model::openai::OpenAiClient;
use refusal_bias::model::rate_limit::{RateLimit, RateLimits};
use refusal_bias::model::secret::ApiKey;
use refusal_bias::model::{ChatRequest, ClientInfo, ModelClient, ModelError, Params, Response};
use support::{Action, Stub, openai_answer, request};

#[test]
fn cache_key_is_stable() {
    let info = ClientInfo {
        provider: "openai".into(),
        base_url: Some("http://127.0.0.1:1".into()),
        model: "m".into(),
    };
    let mut req = request("any-id", "hi");
    req.sample = 2;
    req.params = Params {
        temperature: Some(0.0),
        max_tokens: Some(16),
        ..Params::default()
    };
    let text = r#"{"format":1,"provider":"openai","base_url":"http://127.0.0.1:1","model":"m","system":null,"messages":[{"role":"user","content":"hi"}],"params":{"temperature":0.0,"max_tokens":16},"sample":2}"#;
    assert_eq!(cache::key_text(&info, &req), text);
    // python3: hashlib.sha256(text.encode()).hexdigest()
    assert_eq!(
        cache::key(&info, &req),
        "3479bca81918ac81d0c952ab3744d2d927a5c0cdfab181df0b1ba737d34a3ba5"
    );
    // The prompt id does not change the key; the sample does.
    req.prompt_id = "other".into();
    assert_eq!(
        cache::key(&info, &req),
        "3479bca81918ac81d0c952ab3744d2d927a5c0cdfab181df0b1ba737d34a3ba5"
    );
    req.sample = 3;
    assert_ne!(
        cache::key(&info, &req),
        "3479bca81918ac81d0c952ab3744d2d927a5c0cdfab181df0b1ba737d34a3ba5"
    );
}

#[tokio::test]
async fn cache_hits_misses_and_never_stores_errors() {
    let stub = Stub::start(|s| {
        if s.last_user_text() == "fail" {
            Action::status(500, &[], r#"{"error":"boom"}"#)
        } else {
            Action::ok(openai_answer(&format!("answer {}", s.index)))
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let client = OpenAiClient::builder(&stub.url, "m")
        .api_key(ApiKey::new("sk-secret-test-value"))
        .build()
        .unwrap();
    let cached = Cache::new(client.clone(), dir.path()).unwrap();
    let req = request("p1", "hello");
    assert_eq!(cached.complete(&req).await.unwrap().text, "answer 0");
    assert_eq!(cached.complete(&req).await.unwrap().text, "answer 0", "hit");
    assert_eq!(stub.count(), 1);
    // A second cache over the same folder (another run) hits too.
    let other_run = Cache::new(client.clone(), dir.path()).unwrap();
    assert_eq!(other_run.complete(&req).await.unwrap().text, "answer 0");
    assert_eq!(stub.count(), 1);
    // Another sample or temperature is another entry.
    let mut s1 = req.clone();
    s1.sample = 1;
    assert_eq!(cached.complete(&s1).await.unwrap().text, "answer 1");
    let mut t = req.clone();
    t.params.temperature = Some(0.7);
    assert_eq!(cached.complete(&t).await.unwrap().text, "answer 2");
    assert_eq!(stub.count(), 3);
    // Errors pass through and are not stored.
    let bad = request("p2", "fail");
    assert!(cached.complete(&bad).await.is_err());
    assert!(cached.complete(&bad).await.is_err());
    assert_eq!(stub.count(), 5);
    assert!(!cached.entry_path(&bad).exists());
    // The entry file holds the key text and the answer, never the api key,
    // and no temporary file is left behind.
    let entry = std::fs::read_to_string(cached.entry_path(&req)).unwrap();
    assert!(entry.contains("answer 0") && !entry.contains("sk-secret-test-value"));
    let files: Vec<_> = walk(dir.path());
    assert_eq!(files.len(), 3, "{files:?}");
    assert!(files.iter().all(|f| f.ends_with(".json")));
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    out
}

#[tokio::test]
async fn cache_survives_two_writers_on_one_key() {
    let stub = Stub::start(|_| Action::ok(openai_answer("same"))).await;
    let dir = tempfile::tempdir().unwrap();
    let client = OpenAiClient::builder(&stub.url, "m").build().unwrap();
    let a = Cache::new(client.clone(), dir.path()).unwrap();
    let b = Cache::new(client, dir.path()).unwrap();
    let req = request("p", "race");
    let futs = (0..8).map(|i| {
        let (a, b, req) = (&a, &b, &req);
        async move {
            if i % 2 == 0 {
                a.complete(req).await
            } else {
                b.complete(req).await
            }
        }
    });
    for r in futures::future::join_all(futs).await {
        assert_eq!(r.unwrap().text, "same");
    }
    // However many raced, one whole entry remains and it parses.
    let files = walk(dir.path());
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(a.complete(&req).await.unwrap().text, "same");
}

/// A client that counts how many calls overlap.
struct Overlap {
    now: AtomicUsize,
    peak: AtomicUsize,
    calls: AtomicUsize,
}

#[async_trait]
impl ModelClient for Overlap {
    fn info(&self) -> ClientInfo {
        ClientInfo {
            provider: "test".into(),
            base_url: None,
            model: "overlap".into(),
        }
    }
    async fn complete(&self, _: &ChatRequest) -> Result<Response, ModelError> {
        let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(n, Ordering::SeqCst);
        self.calls.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(20)).await;
        self.now.fetch_sub(1, Ordering::SeqCst);
        Ok(Response::text("ok"))
    }
}

#[tokio::test]
async fn concurrency_limit_caps_calls_in_flight() {
    let inner = Arc::new(Overlap {
        now: AtomicUsize::new(0),
        peak: AtomicUsize::new(0),
        calls: AtomicUsize::new(0),
    });
    let limited = ConcurrencyLimit::new(inner.clone(), 3);
    let reqs: Vec<_> = (0..20).map(|i| request(&format!("p{i}"), "x")).collect();
    let results = futures::future::join_all(reqs.iter().map(|r| limited.complete(r))).await;
    assert!(results.iter().all(|r| r.is_ok()));
    assert_eq!(inner.calls.load(Ordering::SeqCst), 20);
    // 20 calls of 20 ms each, all started together: without the limit the
    // peak would be 20.
    assert_eq!(inner.peak.load(Ordering::SeqCst), 3);
    assert_eq!(limited.in_flight(), 0);
}

#[tokio::test]
async fn rate_limit_rejects_zero_and_lets_a_burst_through() {
    let inner = Arc::new(Overlap {
        now: AtomicUsize::new(0),
        peak: AtomicUsize::new(0),
        calls: AtomicUsize::new(0),
    });
    let zero = RateLimits {
        requests_per_minute: Some(0),
        tokens_per_minute: None,
    };
    assert!(RateLimit::new(inner.clone(), zero).is_err());
    // 60 per minute allows a burst of 60 at once, then one per second:
    // 5 requests pass at once, and the limiter records them.
    let limits = RateLimits {
        requests_per_minute: Some(60),
        tokens_per_minute: Some(100_000),
    };
    let limited = RateLimit::new(inner.clone(), limits).unwrap();
    let reqs: Vec<_> = (0..5).map(|i| request(&format!("p{i}"), "x")).collect();
    let results = futures::future::join_all(reqs.iter().map(|r| limited.complete(r))).await;
    assert!(results.iter().all(|r| r.is_ok()));
    assert_eq!(inner.calls.load(Ordering::SeqCst), 5);
    assert_eq!(inner.peak.load(Ordering::SeqCst), 5);
}

#[tokio::test]
async fn rate_limit_paces_beyond_the_burst() {
    let inner = Arc::new(Overlap {
        now: AtomicUsize::new(0),
        peak: AtomicUsize::new(0),
        calls: AtomicUsize::new(0),
    });
    // 120 per minute: a burst of 120, then one every 500 ms. The 121st
    // request must wait for its cell; the order of start times shows it.
    let limits = RateLimits {
        requests_per_minute: Some(120),
        tokens_per_minute: None,
    };
    let limited = RateLimit::new(inner.clone(), limits).unwrap();
    let start = std::time::Instant::now();
    let reqs: Vec<_> = (0..121).map(|i| request(&format!("p{i}"), "x")).collect();
    let results = futures::future::join_all(reqs.iter().map(|r| limited.complete(r))).await;
    assert!(results.iter().all(|r| r.is_ok()));
    assert!(
        start.elapsed() >= Duration::from_millis(450),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn tokens_per_minute_reserves_max_tokens_before_sending() {
    let inner = Arc::new(Overlap {
        now: AtomicUsize::new(0),
        peak: AtomicUsize::new(0),
        calls: AtomicUsize::new(0),
    });
    // 60 000 tokens per minute: a burst of 60 000, refilled at 1 000 per
    // second. Each request reserves 1 input token ("abcd" / 4) plus 30 249
    // max tokens = 30 250, so two need 60 500: the second must wait for 500
    // tokens, 0.5 s.
    let limits = RateLimits {
        requests_per_minute: None,
        tokens_per_minute: Some(60_000),
    };
    let limited = RateLimit::new(inner.clone(), limits).unwrap();
    let mut req = request("p", "abcd");
    req.params.max_tokens = Some(30_249);
    let start = std::time::Instant::now();
    limited.complete(&req).await.unwrap();
    limited.complete(&req).await.unwrap();
    assert!(
        start.elapsed() >= Duration::from_millis(450),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(inner.calls.load(Ordering::SeqCst), 2);
}
