//! The Anthropic Messages client (`/v1/messages`).
//!
//! Sends `x-api-key` (when a key is set) and `anthropic-version: 2023-06-01`.
//! The request's system text goes in the top-level `system` field. The API
//! requires `max_tokens`; without one from the request or the builder the
//! client sends [`DEFAULT_MAX_TOKENS`].
//!
//! Mapping into [`Response`]: the `text` blocks of `content` are joined into
//! `text` (an empty `content` array gives an empty text), `thinking` blocks
//! into `reasoning`; `stop_reason` `end_turn`/`stop_sequence` map to
//! [`StopReason::Complete`], `max_tokens` to [`StopReason::Length`],
//! `refusal` to [`StopReason::Refusal`], `tool_use` to
//! [`StopReason::ToolUse`]. An `overloaded_error` arrives as HTTP 529 and is
//! a retryable [`ModelError`].

use async_trait::async_trait;
use reqwest::header::{HeaderName, HeaderValue};
use serde_json::{Value, json};

use super::http::{self, BuilderCore, Core};
use super::{
    ChatRequest, ClientInfo, ErrorKind, ModelClient, ModelError, Response, Role, StopReason, Usage,
};

/// `max_tokens` sent when neither the request nor the builder sets one.
pub const DEFAULT_MAX_TOKENS: u32 = 1024;
/// The `anthropic-version` header value.
pub const API_VERSION: &str = "2023-06-01";

/// A client for the Anthropic Messages API and servers that speak it.
///
/// ```no_run
/// use refusal_bias::model::anthropic::AnthropicClient;
///
/// # fn main() -> Result<(), refusal_bias::model::ModelError> {
/// let client = AnthropicClient::builder("http://127.0.0.1:8080", "local-model")
///     .api_key_env("ANTHROPIC_API_KEY")
///     .max_tokens(512)
///     .build()?;
/// # let _ = client;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct AnthropicClient {
    core: Core,
    url: String,
}

/// Builds an [`AnthropicClient`]; errors surface at
/// [`AnthropicBuilder::build`].
#[derive(Debug, Clone)]
#[must_use]
pub struct AnthropicBuilder {
    core: BuilderCore,
}

impl AnthropicClient {
    /// A builder for `model` served at `base_url` (for example
    /// `https://api.anthropic.com` or `http://127.0.0.1:8080`).
    pub fn builder(base_url: impl Into<String>, model: impl Into<String>) -> AnthropicBuilder {
        AnthropicBuilder {
            core: BuilderCore::new(base_url, model),
        }
    }

    fn body(&self, request: &ChatRequest) -> Value {
        let messages: Vec<Value> = request
            .messages
            .iter()
            .map(|m| {
                let role = match m.role {
                    Role::User => "user",
                    Role::Assistant => "assistant",
                };
                json!({"role": role, "content": m.content})
            })
            .collect();
        let p = self.core.params(request);
        let mut body = json!({
            "model": self.core.model,
            "messages": messages,
            "max_tokens": p.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
        });
        let obj = body.as_object_mut().expect("object literal");
        if let Some(system) = &request.system {
            obj.insert("system".into(), json!(system));
        }
        if let Some(t) = p.temperature {
            obj.insert("temperature".into(), json!(t));
        }
        if let Some(t) = p.top_p {
            obj.insert("top_p".into(), json!(t));
        }
        // The Messages API takes no seed; `p.seed` only keys the cache.
        body
    }
}

impl AnthropicBuilder {
    http::builder_methods!();

    /// Checks the configuration, reads the key and builds the client.
    pub fn build(self) -> Result<AnthropicClient, ModelError> {
        let core = self.core.build()?;
        let url = http::endpoint(&core.base_url, "v1", "messages");
        Ok(AnthropicClient { core, url })
    }
}

#[async_trait]
impl ModelClient for AnthropicClient {
    fn info(&self) -> ClientInfo {
        self.core.info("anthropic")
    }

    async fn complete(&self, request: &ChatRequest) -> Result<Response, ModelError> {
        let mut headers = vec![(
            HeaderName::from_static("anthropic-version"),
            HeaderValue::from_static(API_VERSION),
        )];
        headers.extend(
            self.core
                .key_header(HeaderName::from_static("x-api-key"), str::to_owned)?,
        );
        let body = self.body(request);
        http::call(
            "anthropic",
            &self.core,
            &self.url,
            request,
            headers,
            body,
            parse,
        )
        .await
    }
}

/// Maps a Messages API body into a [`Response`].
pub(crate) fn parse(v: &Value) -> Result<Response, ModelError> {
    if v.get("type").and_then(Value::as_str) == Some("error") {
        let text = http::provider_error_message(v.to_string().as_bytes());
        return Err(ModelError::new(
            ErrorKind::Decode,
            format!("error inside a 200 response: {text}"),
        ));
    }
    let Some(content) = v.get("content").and_then(Value::as_array) else {
        return Err(ModelError::new(
            ErrorKind::Decode,
            "response has no content array",
        ));
    };
    let mut text = String::new();
    let mut reasoning = String::new();
    for block in content {
        match block.get("type").and_then(Value::as_str) {
            Some("text") => text.push_str(block.get("text").and_then(Value::as_str).unwrap_or("")),
            Some("thinking") => {
                reasoning.push_str(block.get("thinking").and_then(Value::as_str).unwrap_or(""))
            }
            _ => {}
        }
    }
    let raw_stop = v
        .get("stop_reason")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let stop = raw_stop.as_deref().map(|s| match s {
        "end_turn" | "stop_sequence" => StopReason::Complete,
        "max_tokens" => StopReason::Length,
        "refusal" => StopReason::Refusal,
        "tool_use" => StopReason::ToolUse,
        _ => StopReason::Other,
    });
    let usage = v.get("usage").map(|u| Usage {
        input_tokens: u.get("input_tokens").and_then(Value::as_u64).unwrap_or(0),
        output_tokens: u.get("output_tokens").and_then(Value::as_u64).unwrap_or(0),
    });
    Ok(Response {
        text,
        reasoning: (!reasoning.is_empty()).then_some(reasoning),
        refusal: None,
        stop,
        raw_stop,
        block_reason: None,
        usage,
        latency_ms: 0,
        model: v.get("model").and_then(Value::as_str).map(str::to_owned),
        attempts: 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_blocks_and_stops() {
        let v = json!({"type": "message", "model": "c", "content": [
            {"type": "thinking", "thinking": "hmm"}, {"type": "text", "text": "a"},
            {"type": "text", "text": "b"}], "stop_reason": "max_tokens",
            "usage": {"input_tokens": 5, "output_tokens": 9}});
        let r = parse(&v).unwrap();
        assert_eq!(
            (r.text.as_str(), r.reasoning.as_deref()),
            ("ab", Some("hmm"))
        );
        assert_eq!(r.stop, Some(StopReason::Length));
        assert_eq!(
            r.usage,
            Some(Usage {
                input_tokens: 5,
                output_tokens: 9
            })
        );
        let r = parse(&json!({"content": [], "stop_reason": "refusal"})).unwrap();
        assert_eq!((r.text.as_str(), r.stop), ("", Some(StopReason::Refusal)));
        assert_eq!(
            parse(&json!({"id": 1})).unwrap_err().kind,
            ErrorKind::Decode
        );
    }
}
