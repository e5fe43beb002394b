//! Live tests against a real local model server (llama.cpp serving
//! SmolLM2-135M in this project), through the OpenAI and the Anthropic
//! protocols.
//!
//! Set `REFUSAL_BIAS_LIVE_URL` (for example `http://127.0.0.1:8080`) and
//! `REFUSAL_BIAS_LIVE_MODEL`. Without them each test prints "skipping: ..."
//! and passes, unless `REFUSAL_BIAS_REQUIRE_LIVE=1`, which makes it fail.

#![cfg(feature = "http")]

mod support;

use std::time::Duration;

use refusal_bias::model::anthropic::AnthropicClient;
use refusal_bias::model::openai::OpenAiClient;
use refusal_bias::model::retry::{Retry, RetryPolicy};
use refusal_bias::model::{ModelClient, Params, StopReason};
use support::{live, request};

fn params(max_tokens: u32) -> Params {
    Params {
        temperature: Some(0.0),
        max_tokens: Some(max_tokens),
        seed: Some(1),
        ..Params::default()
    }
}

#[tokio::test]
async fn openai_protocol_answers_and_maps_length() {
    let Some((url, model)) = live() else { return };
    let client = Retry::new(
        OpenAiClient::builder(&url, &model)
            .timeout(Duration::from_secs(120))
            .build()
            .unwrap(),
        RetryPolicy::default(),
    );
    let mut req = request("live-1", "Name one way to keep a laptop secure.");
    req.params = params(8);
    let r = client.complete(&req).await.unwrap();
    assert!(!r.text.trim().is_empty(), "empty answer: {r:?}");
    let usage = r.usage.expect("llama.cpp reports usage");
    assert!(usage.input_tokens > 0);
    // An 8-token cap on an open question ends by length, with at most 8
    // generated tokens.
    assert_eq!(r.stop, Some(StopReason::Length), "{r:?}");
    assert!(usage.output_tokens <= 8);
    assert_eq!(r.attempts, 1);
}

#[tokio::test]
async fn openai_protocol_finishes_a_short_answer() {
    let Some((url, model)) = live() else { return };
    let client = OpenAiClient::builder(&url, &model)
        .max_tokens(200)
        .temperature(0.0)
        .build()
        .unwrap();
    let mut req = request("live-2", "Reply with the single word: yes");
    req.system = Some("You answer in one word.".into());
    let r = client.complete(&req).await.unwrap();
    assert!(!r.text.trim().is_empty());
    assert!(
        matches!(r.stop, Some(StopReason::Complete | StopReason::Length)),
        "{r:?}"
    );
    assert!(r.latency_ms > 0);
}

#[tokio::test]
async fn anthropic_protocol_answers() {
    let Some((url, model)) = live() else { return };
    let client = AnthropicClient::builder(&url, &model)
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let mut req = request("live-3", "Name one way to keep a laptop secure.");
    req.params = params(8);
    req.system = Some("You are a helpful assistant.".into());
    let r = client.complete(&req).await.unwrap();
    assert!(!r.text.trim().is_empty(), "empty answer: {r:?}");
    assert_eq!(r.stop, Some(StopReason::Length), "{r:?}");
    let usage = r.usage.expect("usage reported");
    assert!(
        usage.output_tokens <= 8 && usage.output_tokens > 0,
        "{usage:?}"
    );
}
