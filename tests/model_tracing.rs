//! The `model_call` span carries its fields, and neither the API key nor the
//! prompt or answer text reaches the logs.

#![cfg(feature = "http")]

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use refusal_bias::model::ModelClient;
use refusal_bias::model::openai::OpenAiClient;
use refusal_bias::model::retry::{Retry, RetryPolicy};
use refusal_bias::model::secret::ApiKey;
use support::{Action, Stub, openai_answer, request};
use tracing_subscriber::fmt::format::FmtSpan;

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn span_fields_and_no_secrets_in_logs() {
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(FmtSpan::CLOSE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let stub = Stub::start(|s| {
        if s.index == 0 {
            Action::status(503, &[], r#"{"error":"busy"}"#)
        } else {
            Action::ok(openai_answer("SECRET-ANSWER-TEXT"))
        }
    })
    .await;
    let client = OpenAiClient::builder(&stub.url, "stub-model")
        .api_key(ApiKey::new("sk-live-must-not-leak"))
        .build()
        .unwrap();
    assert!(!format!("{client:?}").contains("sk-live-must-not-leak"));
    let policy = RetryPolicy {
        initial_backoff: std::time::Duration::from_millis(5),
        ..RetryPolicy::default()
    };
    let r = Retry::new(client, policy)
        .complete(&request("prompt-42", "SECRET-PROMPT-TEXT"))
        .await
        .unwrap();
    assert_eq!(r.attempts, 2);
    // The server did get the key, as a bearer token.
    assert_eq!(
        stub.seen()[1].header("authorization"),
        Some("Bearer sk-live-must-not-leak")
    );

    let logs = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    for needle in [
        "sk-live-must-not-leak",
        "SECRET-PROMPT-TEXT",
        "SECRET-ANSWER-TEXT",
    ] {
        assert!(!logs.contains(needle), "{needle} leaked into logs:\n{logs}");
    }
    // Two spans closed, one per attempt, with the fixed fields.
    let closes: Vec<&str> = logs.lines().filter(|l| l.contains("close")).collect();
    assert_eq!(closes.len(), 2, "{logs}");
    for (i, line) in closes.iter().enumerate() {
        for field in [
            "model_call{",
            "provider=\"openai\"",
            "model=\"stub-model\"",
            "prompt_id=prompt-42",
            "sample=0",
        ] {
            assert!(line.contains(field), "{field} missing in {line}");
        }
        assert!(line.contains(&format!("attempt={}", i + 1)), "{line}");
    }
    assert!(closes[0].contains("status=503"), "{}", closes[0]);
    assert!(closes[1].contains("status=200"), "{}", closes[1]);
    assert!(closes[1].contains("input_tokens=10") && closes[1].contains("output_tokens=5"));
    assert!(closes[1].contains("latency_ms="));
}
