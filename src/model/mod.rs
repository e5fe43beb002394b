//! Model clients: the [`ModelClient`] trait, the request and response types
//! every provider maps into, and typed errors that say whether a retry may help.
//!
//! # Providers
//! - [`openai::OpenAiClient`]: OpenAI-compatible `/v1/chat/completions`.
//! - [`anthropic::AnthropicClient`]: Anthropic `/v1/messages`.
//! - [`gemini::GeminiClient`]: Gemini `generateContent`.
//! - [`replay::ReplayClient`]: recorded responses (JSONL, CSV, XSTest).
//!
//! The HTTP providers need the `http` feature (on by default). API keys are
//! read from an environment variable into a [`secret::ApiKey`], which never
//! prints itself.
//!
//! # Wrappers and their order
//! Every wrapper implements [`ModelClient`] and wraps any client. Stack them,
//! from the outside in, as
//!
//! ```text
//! Cache -> ConcurrencyLimit -> Retry -> RateLimit -> Timeout -> provider
//! ```
//!
//! - [`cache::Cache`] outermost, so that a hit costs no permit, no retry
//!   budget and no rate-limit tokens.
//! - [`concurrency::ConcurrencyLimit`] outside [`retry::Retry`], so that a
//!   request waiting out a backoff keeps its slot and retries cannot pile up
//!   beyond the limit.
//! - [`rate_limit::RateLimit`] inside `Retry`, so that every attempt, retries
//!   included, is counted against requests and tokens per minute.
//! - [`timeout::Timeout`] innermost bounds each attempt, so that a timed-out
//!   attempt is retried. (Put a second one outside `Retry` to bound a call
//!   with all its retries.)
//!
//! ```
//! use std::time::Duration;
//! use refusal_bias::model::cache::Cache;
//! use refusal_bias::model::concurrency::ConcurrencyLimit;
//! use refusal_bias::model::rate_limit::{RateLimit, RateLimits};
//! use refusal_bias::model::replay::ReplayClient;
//! use refusal_bias::model::retry::{Retry, RetryPolicy};
//! use refusal_bias::model::timeout::Timeout;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! let provider = ReplayClient::new("recorded"); // or an HTTP client
//! let client = Cache::new(
//!     ConcurrencyLimit::new(
//!         Retry::new(
//!             RateLimit::new(
//!                 Timeout::new(provider, Duration::from_secs(120)),
//!                 RateLimits { requests_per_minute: Some(600), tokens_per_minute: None },
//!             )?,
//!             RetryPolicy::default(),
//!         ),
//!         32,
//!     ),
//!     dir.path(),
//! )?;
//! # let _ = client;
//! # Ok(())
//! # }
//! ```

use std::sync::Arc;

#[cfg(feature = "http")]
pub mod anthropic;
pub mod cache;
pub mod concurrency;
#[cfg(feature = "http")]
pub mod gemini;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "http")]
pub mod openai;
pub mod rate_limit;
pub mod replay;
pub mod retry;
pub mod secret;
pub mod timeout;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// Who wrote a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The user.
    User,
    /// The model.
    Assistant,
}

/// One chat message (the system text is carried separately in [`ChatRequest`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Message {
    /// The author.
    pub role: Role,
    /// The text.
    pub content: String,
}

impl Message {
    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Message {
            role: Role::User,
            content: content.into(),
        }
    }
}

/// Sampling parameters. `None` leaves the provider's default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Upper bound on generated tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Nucleus sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Seed, where the provider takes one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

/// One chat request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    /// The prompt this request was built from (used by replay and for logging;
    /// never sent to a provider).
    pub prompt_id: String,
    /// The sample index (0 for the first draw).
    pub sample: u32,
    /// Optional system text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// The conversation, usually one user message.
    pub messages: Vec<Message>,
    /// Sampling parameters.
    #[serde(default)]
    pub params: Params,
}

impl ChatRequest {
    /// A single-turn request for a prompt.
    pub fn from_prompt(prompt: &crate::prompt::Prompt, sample: u32, params: Params) -> Self {
        ChatRequest {
            prompt_id: prompt.id.clone(),
            sample,
            system: prompt.system.clone(),
            messages: vec![Message::user(prompt.text.clone())],
            params,
        }
    }
}

/// Why generation stopped, mapped from each provider's own field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StopReason {
    /// A natural end (OpenAI `stop`, Anthropic `end_turn`/`stop_sequence`,
    /// Gemini `STOP`).
    Complete,
    /// The token limit was reached (OpenAI `length`, Anthropic `max_tokens`,
    /// Gemini `MAX_TOKENS`).
    Length,
    /// A provider content filter stopped the answer (OpenAI `content_filter`).
    ContentFilter,
    /// The model declined through the API (Anthropic `refusal`).
    Refusal,
    /// A safety block (Gemini `SAFETY`, `PROHIBITED_CONTENT`, ...).
    Safety,
    /// The model called a tool instead of answering.
    ToolUse,
    /// Anything else; the raw value is in [`Response::raw_stop`].
    Other,
}

/// Token usage as reported by the provider.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Generated tokens.
    pub output_tokens: u64,
}

/// A model's answer, with the API-level refusal signals every provider maps into.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// The answer text (empty when the model gave none).
    pub text: String,
    /// Reasoning text, where a model returns it separately.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
    /// An explicit refusal message (OpenAI `message.refusal`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
    /// Why generation stopped, if the provider said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<StopReason>,
    /// The provider's own stop value, verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_stop: Option<String>,
    /// A prompt-level block (Gemini `promptFeedback.blockReason`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_reason: Option<String>,
    /// Token usage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Wall time of the successful attempt, in milliseconds.
    #[serde(default)]
    pub latency_ms: u64,
    /// The model id the provider reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// How many attempts it took (1 without retries).
    #[serde(default = "one")]
    pub attempts: u32,
}

fn one() -> u32 {
    1
}

impl Response {
    /// A response holding just `text`, stopped normally.
    pub fn text(text: impl Into<String>) -> Self {
        Response {
            text: text.into(),
            stop: Some(StopReason::Complete),
            attempts: 1,
            ..Response::default()
        }
    }
}

/// What kind of failure a model call met.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// The provider answered with an HTTP error status.
    Status,
    /// The request or the body timed out.
    Timeout,
    /// The connection failed or was reset.
    Connect,
    /// The body could not be parsed.
    Decode,
    /// The client is misconfigured (missing key, bad URL).
    Config,
    /// A replay source has no recorded response for the request.
    NotRecorded,
    /// Anything else.
    Other,
}

/// A failed model call. It becomes a record, never a lost sample.
///
/// The message never contains an API key or a request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{kind:?}{}: {message}", status.map(|s| format!(" {s}")).unwrap_or_default())]
pub struct ModelError {
    /// The kind of failure.
    pub kind: ErrorKind,
    /// The HTTP status, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// A short description (lowercase, no secrets, no bodies beyond a provider's
    /// error message).
    pub message: String,
    /// How long the provider asked us to wait, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
    /// How many attempts were made before giving up.
    #[serde(default = "one")]
    pub attempts: u32,
}

impl ModelError {
    /// A new error of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ModelError {
            kind,
            status: None,
            message: message.into(),
            retry_after_ms: None,
            attempts: 1,
        }
    }

    /// An HTTP status error.
    pub fn status(status: u16, message: impl Into<String>) -> Self {
        ModelError {
            status: Some(status),
            ..ModelError::new(ErrorKind::Status, message)
        }
    }

    /// Whether trying again later may succeed: 408, 409, 429, 5xx (529
    /// included), timeouts and connection failures. A 400 never is.
    pub fn is_retryable(&self) -> bool {
        match self.kind {
            ErrorKind::Timeout | ErrorKind::Connect => true,
            ErrorKind::Status => {
                matches!(self.status, Some(408 | 409 | 429) | Some(500..=599))
            }
            _ => false,
        }
    }
}

/// Identifies a client configuration: what can change the answer, without secrets.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClientInfo {
    /// The protocol (`openai`, `anthropic`, `gemini`, `replay`, ...).
    pub provider: String,
    /// The endpoint, if any (no credentials in it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// The model name sent to the provider, or the label of a replay.
    pub model: String,
}

/// Sends one chat request and returns one [`Response`].
///
/// Implementations map their provider's JSON into [`Response`] so that
/// classifiers never parse provider formats. Wrappers (retry, rate limit,
/// timeout, cache) implement this trait too and wrap any client.
#[async_trait]
pub trait ModelClient: Send + Sync {
    /// The configuration that identifies this client.
    fn info(&self) -> ClientInfo;

    /// Sends `request`.
    async fn complete(&self, request: &ChatRequest) -> Result<Response, ModelError>;
}

#[async_trait]
impl<T: ModelClient + ?Sized> ModelClient for Arc<T> {
    fn info(&self) -> ClientInfo {
        (**self).info()
    }
    async fn complete(&self, request: &ChatRequest) -> Result<Response, ModelError> {
        (**self).complete(request).await
    }
}

#[async_trait]
impl<T: ModelClient + ?Sized> ModelClient for Box<T> {
    fn info(&self) -> ClientInfo {
        (**self).info()
    }
    async fn complete(&self, request: &ChatRequest) -> Result<Response, ModelError> {
        (**self).complete(request).await
    }
}
