//! One test per fault from issue 3, against a loopback stub this file starts:
//! the resulting `Response`/`ModelError` fields, and how many requests the
//! server saw (no sample lost, none sent twice without cause).

#![cfg(feature = "http")]

mod support;

use std::time::Duration;

use refusal_bias::model::anthropic::AnthropicClient;
use refusal_bias::model::gemini::GeminiClient;
use refusal_bias::model::openai::OpenAiClient;
use refusal_bias::model::retry::{Retry, RetryPolicy};
use refusal_bias::model::timeout::Timeout;
use refusal_bias::model::{ErrorKind, ModelClient, StopReason, Usage};
use serde_json::json;
use support::{Action, Stub, openai_answer, request};

fn fast_policy(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        initial_backoff: Duration::from_millis(10),
        jitter: 0.0,
        ..RetryPolicy::default()
    }
}

fn openai(stub: &Stub) -> OpenAiClient {
    OpenAiClient::builder(&stub.url, "stub-model")
        .read_timeout(Duration::from_millis(400))
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

#[tokio::test]
async fn rate_limited_429_waits_for_retry_after() {
    let stub = Stub::start(|s| {
        if s.index == 0 {
            Action::status(
                429,
                &[("retry-after", "1")],
                r#"{"error":{"message":"slow down"}}"#,
            )
        } else {
            Action::ok(openai_answer("fine"))
        }
    })
    .await;
    let client = Retry::new(openai(&stub), fast_policy(3));
    let r = client.complete(&request("p1", "hello")).await.unwrap();
    assert_eq!(r.text, "fine");
    assert_eq!(r.attempts, 2);
    let seen = stub.seen();
    assert_eq!(seen.len(), 2);
    // The header asked for 1 s; the stub's own clock must show the retry no
    // earlier than that after the 429 arrived.
    let gap = seen[1].at.duration_since(seen[0].at);
    assert!(gap >= Duration::from_secs(1), "retried after {gap:?}");
}

#[tokio::test]
async fn server_error_500_is_retried_then_gives_up_with_attempts() {
    let stub = Stub::start(|_| Action::status(500, &[], r#"{"error":"boom"}"#)).await;
    let client = Retry::new(openai(&stub), fast_policy(3));
    let e = client.complete(&request("p1", "hello")).await.unwrap_err();
    assert_eq!(
        (e.kind, e.status, e.attempts),
        (ErrorKind::Status, Some(500), 3)
    );
    assert_eq!(e.message, "boom");
    assert_eq!(stub.count(), 3, "exactly max_attempts requests");
}

#[tokio::test]
async fn bad_request_400_is_not_retried() {
    let body = r#"{"error":{"type":"invalid_request_error","message":"prompt is too long"}}"#;
    let stub = Stub::start(move |_| Action::status(400, &[], body)).await;
    let client = Retry::new(openai(&stub), fast_policy(5));
    let e = client.complete(&request("p1", "hello")).await.unwrap_err();
    assert_eq!((e.status, e.attempts), (Some(400), 1));
    assert_eq!(e.message, "invalid_request_error: prompt is too long");
    assert_eq!(stub.count(), 1);
}

#[tokio::test]
async fn anthropic_overloaded_529_is_retried() {
    let stub = Stub::start(|s| {
        if s.index < 2 {
            Action::status(
                529,
                &[],
                r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
            )
        } else {
            Action::ok(json!({"type": "message", "model": "stub", "content":
                [{"type": "text", "text": "ok"}], "stop_reason": "end_turn",
                "usage": {"input_tokens": 3, "output_tokens": 1}}))
        }
    })
    .await;
    let inner = AnthropicClient::builder(&stub.url, "stub").build().unwrap();
    // Without retry the error itself is visible.
    let e = inner.complete(&request("p1", "hi")).await.unwrap_err();
    assert_eq!(
        (e.status, e.message.as_str()),
        (Some(529), "overloaded_error: Overloaded")
    );
    assert!(e.is_retryable());
    let client = Retry::new(inner, fast_policy(3));
    let r = client.complete(&request("p2", "hi")).await.unwrap();
    // The retried call met the second 529, then the answer.
    assert_eq!((r.text.as_str(), r.attempts), ("ok", 2));
    assert_eq!(stub.count(), 3);
    let seen = stub.seen();
    assert_eq!(seen[0].line, "POST /v1/messages");
    assert_eq!(seen[0].header("anthropic-version"), Some("2023-06-01"));
}

#[tokio::test]
async fn reset_connection_is_a_connect_error_and_retried() {
    let stub = Stub::start(|s| {
        if s.index == 0 {
            Action::Reset
        } else {
            Action::ok(openai_answer("after reset"))
        }
    })
    .await;
    let e = openai(&stub)
        .complete(&request("p1", "x"))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Connect, "{e}");
    let r = Retry::new(openai(&stub), fast_policy(3))
        .complete(&request("p1", "x"))
        .await
        .unwrap();
    assert_eq!((r.text.as_str(), r.attempts), ("after reset", 1));
    assert_eq!(stub.count(), 2);
}

#[tokio::test]
async fn stalled_body_times_out_and_is_retried() {
    let stub = Stub::start(|s| {
        if s.index == 0 {
            Action::Stall {
                partial: r#"{"choices": [{"mess"#.into(),
                for_: Duration::from_secs(5),
            }
        } else {
            Action::ok(openai_answer("unstalled"))
        }
    })
    .await;
    // read_timeout is 400 ms, far below the 5 s stall.
    let r = Retry::new(openai(&stub), fast_policy(3))
        .complete(&request("p1", "x"))
        .await
        .unwrap();
    assert_eq!((r.text.as_str(), r.attempts), ("unstalled", 2));
    assert_eq!(stub.count(), 2);
}

#[tokio::test]
async fn whole_request_timeout_wrapper() {
    let stub = Stub::start(|_| {
        Action::Delay(
            Duration::from_secs(3),
            Box::new(Action::ok(openai_answer("late"))),
        )
    })
    .await;
    let client = Timeout::new(openai(&stub), Duration::from_millis(200));
    let e = client.complete(&request("p1", "x")).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Timeout);
    assert_eq!(e.message, "no answer within 200 ms");
    assert_eq!(stub.count(), 1);
}

#[tokio::test]
async fn malformed_json_is_a_decode_error_not_retried() {
    let stub = Stub::start(|_| Action::status(200, &[], "{\"choices\": [")).await;
    let e = Retry::new(openai(&stub), fast_policy(3))
        .complete(&request("p1", "x"))
        .await
        .unwrap_err();
    assert_eq!((e.kind, e.attempts), (ErrorKind::Decode, 1));
    assert!(
        e.message
            .starts_with("response body is not json (13 bytes)"),
        "{}",
        e.message
    );
    assert_eq!(stub.count(), 1);
}

#[tokio::test]
async fn empty_choices_is_a_decode_error() {
    let stub = Stub::start(|_| Action::ok(json!({"model": "m", "choices": []}))).await;
    let e = openai(&stub)
        .complete(&request("p1", "x"))
        .await
        .unwrap_err();
    assert_eq!(
        (e.kind, e.message.as_str()),
        (ErrorKind::Decode, "response has no choices")
    );
    assert_eq!(stub.count(), 1);
}

#[tokio::test]
async fn refusal_field_is_mapped() {
    let stub = Stub::start(|_| {
        Action::ok(
            json!({"choices": [{"message": {"role": "assistant", "content": null,
            "refusal": "I can't assist with that."}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 7}}),
        )
    })
    .await;
    let r = openai(&stub).complete(&request("p1", "x")).await.unwrap();
    assert_eq!(r.text, "");
    assert_eq!(r.refusal.as_deref(), Some("I can't assist with that."));
    assert_eq!(r.stop, Some(StopReason::Complete));
    assert_eq!(
        r.usage,
        Some(Usage {
            input_tokens: 12,
            output_tokens: 7
        })
    );
}

#[tokio::test]
async fn content_filter_finish_reason_is_mapped() {
    let stub = Stub::start(|_| {
        Action::ok(json!({"choices": [{"message": {"content": "Here is"},
            "finish_reason": "content_filter"}]}))
    })
    .await;
    let r = openai(&stub).complete(&request("p1", "x")).await.unwrap();
    assert_eq!(r.text, "Here is");
    assert_eq!(r.stop, Some(StopReason::ContentFilter));
    assert_eq!(r.raw_stop.as_deref(), Some("content_filter"));
}

#[tokio::test]
async fn anthropic_refusal_stop_reason_is_mapped() {
    let stub = Stub::start(|_| {
        Action::ok(
            json!({"type": "message", "content": [], "stop_reason": "refusal",
            "usage": {"input_tokens": 9, "output_tokens": 0}}),
        )
    })
    .await;
    let client = AnthropicClient::builder(&stub.url, "stub")
        .api_key(refusal_bias::model::secret::ApiKey::new("test-key-123"))
        .build()
        .unwrap();
    let mut req = request("p1", "x");
    req.system = Some("be brief".into());
    let r = client.complete(&req).await.unwrap();
    assert_eq!((r.text.as_str(), r.stop), ("", Some(StopReason::Refusal)));
    let seen = stub.seen();
    assert_eq!(seen[0].header("x-api-key"), Some("test-key-123"));
    assert_eq!(seen[0].body["system"], "be brief");
    assert_eq!(seen[0].body["max_tokens"], 1024);
}

#[tokio::test]
async fn gemini_prompt_block_and_safety_finish_are_mapped() {
    let stub = Stub::start(|s| {
        if s.index == 0 {
            Action::ok(json!({"promptFeedback": {"blockReason": "SAFETY"},
                "usageMetadata": {"promptTokenCount": 6}}))
        } else {
            Action::ok(json!({"candidates": [{"finishReason": "SAFETY"}]}))
        }
    })
    .await;
    let client = GeminiClient::builder(&stub.url, "gem").build().unwrap();
    let r = client.complete(&request("p1", "x")).await.unwrap();
    assert_eq!(r.block_reason.as_deref(), Some("SAFETY"));
    assert_eq!((r.text.as_str(), r.stop), ("", Some(StopReason::Safety)));
    let r = client.complete(&request("p2", "x")).await.unwrap();
    assert_eq!((r.block_reason, r.stop), (None, Some(StopReason::Safety)));
    let seen = stub.seen();
    assert_eq!(seen[0].line, "POST /v1beta/models/gem:generateContent");
    assert_eq!(seen[0].body["contents"][0]["parts"][0]["text"], "x");
}

#[tokio::test]
async fn mixed_faults_lose_and_duplicate_no_sample() {
    // Prompt n fails on its first sighting: reset when n % 3 == 0, 503 when
    // n % 3 == 1; n % 3 == 2 never fails. Every answer echoes its own n.
    let counts = std::sync::Arc::new(std::sync::Mutex::new(std::collections::HashMap::new()));
    let c2 = counts.clone();
    let stub = Stub::start(move |s| {
        let text = s.last_user_text();
        let n: usize = text.trim_start_matches("prompt ").parse().unwrap();
        let mut counts = c2.lock().unwrap();
        let k = counts.entry(n).or_insert(0usize);
        *k += 1;
        match (*k, n % 3) {
            (1, 0) => Action::Reset,
            (1, 1) => Action::status(503, &[], r#"{"error":"busy"}"#),
            _ => Action::ok(openai_answer(&format!("echo {n}"))),
        }
    })
    .await;
    let client = Retry::new(openai(&stub), fast_policy(4));
    let reqs: Vec<_> = (0..30)
        .map(|i| request(&format!("p{i}"), &format!("prompt {i}")))
        .collect();
    let results = futures::future::join_all(reqs.iter().map(|r| client.complete(r))).await;
    for (i, r) in results.iter().enumerate() {
        let r = r.as_ref().unwrap();
        assert_eq!(
            r.text,
            format!("echo {i}"),
            "answer belongs to its own request"
        );
        let expected_attempts = if i % 3 == 2 { 1 } else { 2 };
        assert_eq!(r.attempts, expected_attempts, "prompt {i}");
    }
    // 30 requests, 20 of which (n % 3 in {0, 1}) needed a second attempt.
    assert_eq!(stub.count(), 50);
    let counts = counts.lock().unwrap();
    assert_eq!(counts.len(), 30);
    assert!(
        counts
            .iter()
            .all(|(n, k)| *k == if n % 3 == 2 { 1 } else { 2 })
    );
}
