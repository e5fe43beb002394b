//! The Gemini `generateContent` client.
//!
//! Requests go to `{base_url}/v1beta/models/{model}:generateContent` (a base
//! URL ending in `/v1beta` or `/v1` is used as is); the key, when set, goes
//! in the `x-goog-api-key` header, never in the URL.
//!
//! Mapping into [`Response`]: `promptFeedback.blockReason` becomes
//! `block_reason` with [`StopReason::Safety`] and an empty text; the first
//! candidate's text parts are joined into `text` (parts marked `thought` go
//! to `reasoning`); `finishReason` `STOP` maps to [`StopReason::Complete`],
//! `MAX_TOKENS` to [`StopReason::Length`], `SAFETY`, `PROHIBITED_CONTENT`,
//! `BLOCKLIST`, `SPII` and `IMAGE_SAFETY` to [`StopReason::Safety`], others to
//! [`StopReason::Other`].

use async_trait::async_trait;
use reqwest::header::HeaderName;
use serde_json::{Value, json};

use super::http::{self, BuilderCore, Core};
use super::{
    ChatRequest, ClientInfo, ErrorKind, ModelClient, ModelError, Response, Role, StopReason, Usage,
};

/// A client for Gemini `generateContent`.
///
/// ```no_run
/// use refusal_bias::model::gemini::GeminiClient;
///
/// # fn main() -> Result<(), refusal_bias::model::ModelError> {
/// let client = GeminiClient::builder("http://127.0.0.1:8080", "gemini-model")
///     .api_key_env("GEMINI_API_KEY")
///     .build()?;
/// # let _ = client;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct GeminiClient {
    core: Core,
    url: String,
}

/// Builds a [`GeminiClient`]; errors surface at [`GeminiBuilder::build`].
#[derive(Debug, Clone)]
#[must_use]
pub struct GeminiBuilder {
    core: BuilderCore,
}

impl GeminiClient {
    /// A builder for `model` served at `base_url` (for example
    /// `https://generativelanguage.googleapis.com`).
    pub fn builder(base_url: impl Into<String>, model: impl Into<String>) -> GeminiBuilder {
        GeminiBuilder {
            core: BuilderCore::new(base_url, model),
        }
    }

    fn body(&self, request: &ChatRequest) -> Value {
        let contents: Vec<Value> = request
            .messages
            .iter()
            .map(|m| {
                let role = match m.role {
                    Role::User => "user",
                    Role::Assistant => "model",
                };
                json!({"role": role, "parts": [{"text": m.content}]})
            })
            .collect();
        let p = self.core.params(request);
        let mut config = serde_json::Map::new();
        if let Some(t) = p.temperature {
            config.insert("temperature".into(), json!(t));
        }
        if let Some(n) = p.max_tokens {
            config.insert("maxOutputTokens".into(), json!(n));
        }
        if let Some(t) = p.top_p {
            config.insert("topP".into(), json!(t));
        }
        if let Some(s) = p.seed {
            // Gemini's seed is an int32.
            config.insert("seed".into(), json!(s as i32));
        }
        let mut body = json!({"contents": contents});
        let obj = body.as_object_mut().expect("object literal");
        if let Some(system) = &request.system {
            obj.insert(
                "systemInstruction".into(),
                json!({"parts": [{"text": system}]}),
            );
        }
        if !config.is_empty() {
            obj.insert("generationConfig".into(), Value::Object(config));
        }
        body
    }
}

impl GeminiBuilder {
    http::builder_methods!();

    /// Checks the configuration, reads the key and builds the client.
    pub fn build(self) -> Result<GeminiClient, ModelError> {
        let core = self.core.build()?;
        let base = core.base_url.trim_end_matches('/');
        let url = if base.ends_with("/v1beta") || base.ends_with("/v1") {
            format!("{base}/models/{}:generateContent", core.model)
        } else {
            format!("{base}/v1beta/models/{}:generateContent", core.model)
        };
        Ok(GeminiClient { core, url })
    }
}

#[async_trait]
impl ModelClient for GeminiClient {
    fn info(&self) -> ClientInfo {
        self.core.info("gemini")
    }

    async fn complete(&self, request: &ChatRequest) -> Result<Response, ModelError> {
        let headers = self
            .core
            .key_header(HeaderName::from_static("x-goog-api-key"), str::to_owned)?
            .into_iter()
            .collect();
        let body = self.body(request);
        http::call(
            "gemini", &self.core, &self.url, request, headers, body, parse,
        )
        .await
    }
}

/// Maps a `generateContent` body into a [`Response`].
pub(crate) fn parse(v: &Value) -> Result<Response, ModelError> {
    let usage = v.get("usageMetadata").map(|u| Usage {
        input_tokens: u
            .get("promptTokenCount")
            .and_then(Value::as_u64)
            .unwrap_or(0),
        output_tokens: u
            .get("candidatesTokenCount")
            .and_then(Value::as_u64)
            .unwrap_or(0),
    });
    let model = v
        .get("modelVersion")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let block = v
        .get("promptFeedback")
        .and_then(|f| f.get("blockReason"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let candidate = v
        .get("candidates")
        .and_then(Value::as_array)
        .and_then(|c| c.first());
    let Some(candidate) = candidate else {
        if let Some(reason) = block {
            return Ok(Response {
                stop: Some(StopReason::Safety),
                raw_stop: None,
                block_reason: Some(reason),
                usage,
                model,
                attempts: 1,
                ..Response::default()
            });
        }
        return Err(ModelError::new(
            ErrorKind::Decode,
            "response has no candidates",
        ));
    };
    let mut text = String::new();
    let mut reasoning = String::new();
    let parts = candidate
        .get("content")
        .and_then(|c| c.get("parts"))
        .and_then(Value::as_array);
    for part in parts.into_iter().flatten() {
        let t = part.get("text").and_then(Value::as_str).unwrap_or("");
        if part.get("thought").and_then(Value::as_bool) == Some(true) {
            reasoning.push_str(t);
        } else {
            text.push_str(t);
        }
    }
    let raw_stop = candidate
        .get("finishReason")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let stop = raw_stop.as_deref().map(|s| match s {
        "STOP" => StopReason::Complete,
        "MAX_TOKENS" => StopReason::Length,
        "SAFETY" | "PROHIBITED_CONTENT" | "BLOCKLIST" | "SPII" | "IMAGE_SAFETY" => {
            StopReason::Safety
        }
        _ => StopReason::Other,
    });
    Ok(Response {
        text,
        reasoning: (!reasoning.is_empty()).then_some(reasoning),
        refusal: None,
        stop,
        raw_stop,
        block_reason: block,
        usage,
        latency_ms: 0,
        model,
        attempts: 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safety_finish_without_text() {
        let v = json!({"candidates": [{"finishReason": "SAFETY", "safetyRatings": []}],
            "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 0}});
        let r = parse(&v).unwrap();
        assert_eq!((r.text.as_str(), r.stop), ("", Some(StopReason::Safety)));
        assert_eq!(r.raw_stop.as_deref(), Some("SAFETY"));
        let v = json!({"candidates": [{"content": {"parts": [{"text": "x", "thought": true},
            {"text": "hi"}]}, "finishReason": "STOP"}]});
        let r = parse(&v).unwrap();
        assert_eq!((r.text.as_str(), r.reasoning.as_deref()), ("hi", Some("x")));
    }
}
