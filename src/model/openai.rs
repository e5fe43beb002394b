//! The OpenAI-compatible chat-completions client (OpenAI, vLLM, Ollama,
//! llama.cpp, LM Studio, OpenRouter, Together, Groq and others).
//!
//! Requests go to `{base_url}/v1/chat/completions` (a base URL that already
//! ends in `/v1` is not given a second one). The key, if any, is sent as
//! `Authorization: Bearer ...`.
//!
//! Mapping into [`Response`]:
//! - `choices[0].message.content` (a string, `null`, or an array of text
//!   parts) becomes `text`; `null` with tool calls gives an empty text and
//!   [`StopReason::ToolUse`];
//! - `message.refusal` becomes `refusal`;
//! - `message.reasoning_content` or `message.reasoning` becomes `reasoning`;
//! - `finish_reason` `stop`, `length`, `content_filter`, `tool_calls` map to
//!   [`StopReason::Complete`], [`StopReason::Length`],
//!   [`StopReason::ContentFilter`], [`StopReason::ToolUse`];
//! - empty `choices` is a [`ErrorKind::Decode`] error, unless the body says
//!   the prompt was filtered (`prompt_filter_results` with a `filtered`
//!   flag), which maps to [`StopReason::ContentFilter`] with `block_reason`
//!   `prompt_filter`.

use async_trait::async_trait;
use reqwest::header::AUTHORIZATION;
use serde_json::{Value, json};

use super::http::{self, BuilderCore, Core};
use super::{
    ChatRequest, ClientInfo, ErrorKind, ModelClient, ModelError, Response, Role, StopReason, Usage,
};

/// A client for OpenAI-compatible `/v1/chat/completions` endpoints.
///
/// ```no_run
/// use std::time::Duration;
/// use refusal_bias::model::{ChatRequest, Message, ModelClient, Params};
/// use refusal_bias::model::openai::OpenAiClient;
///
/// # async fn run() -> Result<(), refusal_bias::model::ModelError> {
/// let client = OpenAiClient::builder("http://127.0.0.1:8080", "local-model")
///     .api_key_env("OPENAI_API_KEY")
///     .temperature(0.0)
///     .max_tokens(256)
///     .timeout(Duration::from_secs(60))
///     .build()?;
/// let request = ChatRequest {
///     prompt_id: "p1".into(),
///     sample: 0,
///     system: None,
///     messages: vec![Message::user("How do I rotate my SSH host keys?")],
///     params: Params::default(),
/// };
/// let response = client.complete(&request).await?;
/// println!("{}", response.text);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct OpenAiClient {
    core: Core,
    url: String,
}

/// Builds an [`OpenAiClient`]; errors surface at [`OpenAiBuilder::build`].
#[derive(Debug, Clone)]
#[must_use]
pub struct OpenAiBuilder {
    core: BuilderCore,
}

impl OpenAiClient {
    /// A builder for `model` served at `base_url` (for example
    /// `http://127.0.0.1:8080` or `https://api.openai.com/v1`).
    pub fn builder(base_url: impl Into<String>, model: impl Into<String>) -> OpenAiBuilder {
        OpenAiBuilder {
            core: BuilderCore::new(base_url, model),
        }
    }

    fn body(&self, request: &ChatRequest) -> Value {
        let mut messages = Vec::with_capacity(request.messages.len() + 1);
        if let Some(system) = &request.system {
            messages.push(json!({"role": "system", "content": system}));
        }
        for m in &request.messages {
            let role = match m.role {
                Role::User => "user",
                Role::Assistant => "assistant",
            };
            messages.push(json!({"role": role, "content": m.content}));
        }
        let p = self.core.params(request);
        let mut body = json!({"model": self.core.model, "messages": messages});
        let obj = body.as_object_mut().expect("object literal");
        if let Some(t) = p.temperature {
            obj.insert("temperature".into(), json!(t));
        }
        // `max_tokens` is what compatible servers read; OpenAI's newer
        // reasoning models want `max_completion_tokens` instead. A flag on
        // the builder would lift this.
        if let Some(n) = p.max_tokens {
            obj.insert("max_tokens".into(), json!(n));
        }
        if let Some(t) = p.top_p {
            obj.insert("top_p".into(), json!(t));
        }
        if let Some(s) = p.seed {
            obj.insert("seed".into(), json!(s));
        }
        body
    }
}

impl OpenAiBuilder {
    http::builder_methods!();

    /// Checks the configuration, reads the key and builds the client.
    pub fn build(self) -> Result<OpenAiClient, ModelError> {
        let core = self.core.build()?;
        let url = http::endpoint(&core.base_url, "v1", "chat/completions");
        Ok(OpenAiClient { core, url })
    }
}

#[async_trait]
impl ModelClient for OpenAiClient {
    fn info(&self) -> ClientInfo {
        self.core.info("openai")
    }

    async fn complete(&self, request: &ChatRequest) -> Result<Response, ModelError> {
        let headers = self
            .core
            .key_header(AUTHORIZATION, |key| format!("Bearer {key}"))?
            .into_iter()
            .collect();
        let body = self.body(request);
        http::call(
            "openai", &self.core, &self.url, request, headers, body, parse,
        )
        .await
    }
}

/// Maps a chat-completions body into a [`Response`].
pub(crate) fn parse(v: &Value) -> Result<Response, ModelError> {
    let usage = v.get("usage").map(|u| Usage {
        input_tokens: u.get("prompt_tokens").and_then(Value::as_u64).unwrap_or(0),
        output_tokens: u
            .get("completion_tokens")
            .and_then(Value::as_u64)
            .unwrap_or(0),
    });
    let model = v.get("model").and_then(Value::as_str).map(str::to_owned);
    let choice = match v.get("choices").and_then(Value::as_array) {
        Some(c) if !c.is_empty() => &c[0],
        Some(_) | None => {
            if prompt_filtered(v) {
                return Ok(Response {
                    stop: Some(StopReason::ContentFilter),
                    raw_stop: Some("content_filter".into()),
                    block_reason: Some("prompt_filter".into()),
                    usage,
                    model,
                    attempts: 1,
                    ..Response::default()
                });
            }
            if let Some(msg) = v.get("error") {
                // Some servers send an error object with status 200.
                let text = http::provider_error_message(msg.to_string().as_bytes());
                return Err(ModelError::new(
                    ErrorKind::Decode,
                    format!("error inside a 200 response: {text}"),
                ));
            }
            return Err(ModelError::new(
                ErrorKind::Decode,
                "response has no choices",
            ));
        }
    };
    let message = choice.get("message");
    let text = http::text_of(message.and_then(|m| m.get("content"))).unwrap_or_default();
    let refusal = message
        .and_then(|m| m.get("refusal"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    let reasoning = message
        .and_then(|m| m.get("reasoning_content").or_else(|| m.get("reasoning")))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    let has_tool_calls = message
        .and_then(|m| m.get("tool_calls"))
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    let raw_stop = choice
        .get("finish_reason")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let stop = match raw_stop.as_deref() {
        Some("stop") => Some(StopReason::Complete),
        Some("length") => Some(StopReason::Length),
        Some("content_filter") => Some(StopReason::ContentFilter),
        Some("tool_calls" | "function_call") => Some(StopReason::ToolUse),
        Some(_) => Some(StopReason::Other),
        None if has_tool_calls => Some(StopReason::ToolUse),
        None => None,
    };
    Ok(Response {
        text,
        reasoning,
        refusal,
        stop,
        raw_stop,
        block_reason: None,
        usage,
        latency_ms: 0,
        model,
        attempts: 1,
    })
}

fn prompt_filtered(v: &Value) -> bool {
    let Some(results) = v.get("prompt_filter_results").and_then(Value::as_array) else {
        return false;
    };
    results.iter().any(|r| {
        r.get("content_filter_results")
            .and_then(Value::as_object)
            .is_some_and(|m| {
                m.values()
                    .any(|c| c.get("filtered").and_then(Value::as_bool) == Some(true))
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_fields() {
        let v = json!({
            "model": "m1",
            "choices": [{"message": {"content": null, "refusal": "I can't help with that.",
                         "reasoning_content": "thinking"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 7, "completion_tokens": 3}
        });
        let r = parse(&v).unwrap();
        assert_eq!(r.text, "");
        assert_eq!(r.refusal.as_deref(), Some("I can't help with that."));
        assert_eq!(r.reasoning.as_deref(), Some("thinking"));
        assert_eq!(r.stop, Some(StopReason::Complete));
        assert_eq!(
            r.usage,
            Some(Usage {
                input_tokens: 7,
                output_tokens: 3
            })
        );
        assert_eq!(r.model.as_deref(), Some("m1"));
    }

    #[test]
    fn tool_calls_and_parts() {
        let v = json!({"choices": [{"message": {"content": null,
            "tool_calls": [{"id": "x"}]}, "finish_reason": "tool_calls"}]});
        assert_eq!(parse(&v).unwrap().stop, Some(StopReason::ToolUse));
        let v = json!({"choices": [{"message": {"content": [{"type": "text", "text": "a"},
            {"type": "text", "text": "b"}]}, "finish_reason": "weird"}]});
        let r = parse(&v).unwrap();
        assert_eq!(r.text, "ab");
        assert_eq!(
            (r.stop, r.raw_stop.as_deref()),
            (Some(StopReason::Other), Some("weird"))
        );
    }

    #[test]
    fn build_errors_are_config_errors() {
        let e = OpenAiClient::builder("not a url", "m").build().unwrap_err();
        assert_eq!(e.kind, ErrorKind::Config);
        let e = OpenAiClient::builder("ftp://127.0.0.1:1", "m")
            .build()
            .unwrap_err();
        assert_eq!(
            e.message,
            "base url \"ftp://127.0.0.1:1\" is not http or https"
        );
        let e = OpenAiClient::builder("http://user:pw@127.0.0.1:1", "m")
            .build()
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Config);
        assert!(!e.message.contains("pw"));
        let e = OpenAiClient::builder("http://127.0.0.1:1", " ")
            .build()
            .unwrap_err();
        assert_eq!(e.message, "model name is empty");
    }

    #[test]
    fn request_params_override_client_defaults() {
        let c = OpenAiClient::builder("http://127.0.0.1:1/v1/", "m")
            .temperature(0.5)
            .max_tokens(100)
            .build()
            .unwrap();
        assert_eq!(c.url, "http://127.0.0.1:1/v1/chat/completions");
        let mut req = ChatRequest {
            prompt_id: "p".into(),
            sample: 0,
            system: Some("sys".into()),
            messages: vec![super::super::Message::user("hi")],
            params: super::super::Params::default(),
        };
        req.params.max_tokens = Some(7);
        let body = c.body(&req);
        assert_eq!(body["temperature"], 0.5);
        assert_eq!(body["max_tokens"], 7);
        assert!(body.get("seed").is_none());
        assert_eq!(
            body["messages"][0],
            json!({"role": "system", "content": "sys"})
        );
        assert_eq!(
            body["messages"][1],
            json!({"role": "user", "content": "hi"})
        );
    }

    #[test]
    fn prompt_filter_without_choices() {
        let v = json!({"choices": [], "prompt_filter_results": [{"prompt_index": 0,
            "content_filter_results": {"violence": {"filtered": true, "severity": "high"}}}]});
        let r = parse(&v).unwrap();
        assert_eq!(r.stop, Some(StopReason::ContentFilter));
        assert_eq!(r.block_reason.as_deref(), Some("prompt_filter"));
        let e = parse(&json!({"choices": []})).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Decode);
    }
}
