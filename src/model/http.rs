//! Shared plumbing for the HTTP providers: client construction with the
//! whole-request and stalled-body timeouts, error mapping, `Retry-After`
//! parsing and the per-call `tracing` span.

use std::time::{Duration, Instant, SystemTime};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use tracing::field::Empty;

use super::{ChatRequest, ErrorKind, ModelError, Response};

/// Default whole-request timeout of the HTTP clients.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);
/// Default connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest provider error message kept in a [`ModelError`].
const MAX_ERROR_MESSAGE: usize = 300;

/// Timeouts shared by the HTTP client builders.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    pub(crate) total: Duration,
    /// `None`: as long as `total`. A non-streaming server sends nothing,
    /// headers included, until its answer is complete, so on a slow or busy
    /// server a shorter silence limit would cut off every long answer (and a
    /// retry would start it over).
    pub(crate) read: Option<Duration>,
    pub(crate) connect: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            total: DEFAULT_TIMEOUT,
            read: None,
            connect: DEFAULT_CONNECT_TIMEOUT,
        }
    }
}

/// Builds a `reqwest` client with the given timeouts.
pub(crate) fn build_client(t: Timeouts) -> Result<reqwest::Client, ModelError> {
    reqwest::Client::builder()
        .timeout(t.total)
        .read_timeout(t.read.unwrap_or(t.total))
        .connect_timeout(t.connect)
        .build()
        .map_err(|e| ModelError::new(ErrorKind::Config, format!("cannot build http client: {e}")))
}

/// Joins a base URL and a path below `/v1` (or `/v1beta`): a base that already
/// ends in the version segment is not given a second one.
pub(crate) fn endpoint(base: &str, version: &str, path: &str) -> String {
    let base = base.trim_end_matches('/');
    if base.ends_with(&format!("/{version}")) {
        format!("{base}/{path}")
    } else {
        format!("{base}/{version}/{path}")
    }
}

/// Checks that `base` parses as an http(s) URL and carries no credentials.
pub(crate) fn check_base_url(base: &str) -> Result<(), ModelError> {
    let url = reqwest::Url::parse(base).map_err(|e| {
        ModelError::new(ErrorKind::Config, format!("invalid base url {base:?}: {e}"))
    })?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(ModelError::new(
            ErrorKind::Config,
            format!("base url {base:?} is not http or https"),
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ModelError::new(
            ErrorKind::Config,
            "base url must not carry credentials; use an api key variable",
        ));
    }
    Ok(())
}

/// A header value holding a secret, marked sensitive so that `reqwest` and
/// `http` never print it.
pub(crate) fn secret_header(value: &str) -> Result<HeaderValue, ModelError> {
    let mut v = HeaderValue::from_str(value)
        .map_err(|_| ModelError::new(ErrorKind::Config, "api key is not a valid header value"))?;
    v.set_sensitive(true);
    Ok(v)
}

/// Maps a transport error from `reqwest` into a [`ModelError`] (no URL, no body).
pub(crate) fn map_reqwest(e: &reqwest::Error, reading_body: bool) -> ModelError {
    let cause = root_cause(e);
    if e.is_timeout() {
        let what = if reading_body {
            "response body stalled or request timed out"
        } else {
            "request timed out"
        };
        return ModelError::new(ErrorKind::Timeout, what);
    }
    if e.is_builder() {
        return ModelError::new(ErrorKind::Config, format!("cannot build request: {cause}"));
    }
    if e.is_connect() {
        return ModelError::new(ErrorKind::Connect, format!("connection failed: {cause}"));
    }
    let what = if reading_body {
        "connection broke while reading the body"
    } else {
        "connection closed before a response"
    };
    ModelError::new(ErrorKind::Connect, format!("{what}: {cause}"))
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string().to_lowercase()
}

/// POSTs `body` as JSON and returns the parsed JSON of a 2xx answer.
///
/// A non-2xx status becomes [`ErrorKind::Status`] with the provider's own
/// error message (truncated) and any `Retry-After` wait; a 2xx body that is
/// not JSON becomes [`ErrorKind::Decode`].
pub(crate) async fn post_json(
    client: &reqwest::Client,
    url: &str,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: &Value,
    span: &tracing::Span,
) -> Result<Value, ModelError> {
    let mut req = client.post(url).json(body);
    for (k, v) in headers {
        req = req.header(k, v);
    }
    let resp = req.send().await.map_err(|e| map_reqwest(&e, false))?;
    let status = resp.status().as_u16();
    span.record("status", status);
    let retry_after = retry_after_ms(resp.headers(), SystemTime::now());
    let bytes = resp.bytes().await.map_err(|e| map_reqwest(&e, true))?;
    if !(200..300).contains(&status) {
        let mut err = ModelError::status(status, provider_error_message(&bytes));
        err.retry_after_ms = retry_after;
        return Err(err);
    }
    serde_json::from_slice(&bytes).map_err(|e| {
        ModelError::new(
            ErrorKind::Decode,
            format!("response body is not json ({} bytes): {e}", bytes.len()),
        )
    })
}

/// The provider's error message from an error body: `error.message`,
/// `error` as a string, or `message`; else a placeholder. Truncated.
pub(crate) fn provider_error_message(body: &[u8]) -> String {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let msg = parsed.as_ref().and_then(|v| {
        let err = v.get("error");
        let kind = err
            .and_then(|e| e.get("type").or_else(|| e.get("status")))
            .and_then(Value::as_str);
        let text = err
            .and_then(|e| e.get("message"))
            .and_then(Value::as_str)
            .or_else(|| err.and_then(Value::as_str))
            .or_else(|| v.get("message").and_then(Value::as_str));
        match (kind, text) {
            (Some(k), Some(t)) => Some(format!("{k}: {t}")),
            (None, Some(t)) => Some(t.to_owned()),
            (Some(k), None) => Some(k.to_owned()),
            (None, None) => None,
        }
    });
    let mut msg = msg.unwrap_or_else(|| "provider gave no error message".to_owned());
    if msg.len() > MAX_ERROR_MESSAGE {
        let mut cut = MAX_ERROR_MESSAGE;
        while !msg.is_char_boundary(cut) {
            cut -= 1;
        }
        msg.truncate(cut);
        msg.push_str("...");
    }
    msg
}

/// How long the server asked us to wait, in milliseconds, from (first match):
/// `retry-after-ms`, `retry-after` (seconds or an HTTP date, relative to
/// `now`), or the largest OpenAI-style `x-ratelimit-reset-requests` /
/// `x-ratelimit-reset-tokens` duration (`1s`, `6m0s`, `250ms`).
///
/// Anthropic's `anthropic-ratelimit-*-reset` headers are RFC 3339 timestamps;
/// they are not read (Anthropic also sends `retry-after` on a 429). Parsing
/// them would need an RFC 3339 parser such as `jiff`.
pub fn retry_after_ms(headers: &HeaderMap, now: SystemTime) -> Option<u64> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = get("retry-after-ms").and_then(|v| v.parse::<f64>().ok())
        && ms.is_finite()
        && ms >= 0.0
    {
        return Some(ms.ceil() as u64);
    }
    if let Some(v) = get("retry-after") {
        if let Ok(secs) = v.parse::<f64>()
            && secs.is_finite()
            && secs >= 0.0
        {
            return Some((secs * 1000.0).ceil() as u64);
        }
        if let Ok(when) = httpdate::parse_http_date(v) {
            let wait = when.duration_since(now).unwrap_or(Duration::ZERO);
            return Some(wait.as_millis() as u64);
        }
    }
    ["x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"]
        .iter()
        .filter_map(|h| get(h).and_then(parse_go_duration))
        .max()
}

/// Parses durations such as `1s`, `6m0s`, `1h2m3.5s`, `250ms` into milliseconds.
fn parse_go_duration(s: &str) -> Option<u64> {
    let mut total = 0.0f64;
    let mut num = String::new();
    let mut chars = s.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let value: f64 = num.parse().ok()?;
        num.clear();
        let factor = match c {
            'h' => 3_600_000.0,
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                1.0
            }
            'm' => 60_000.0,
            's' => 1000.0,
            _ => return None,
        };
        total += value * factor;
        any = true;
    }
    if !num.is_empty() || !any {
        return None;
    }
    Some(total.ceil() as u64)
}

/// Opens the `model_call` span for one attempt of `request`.
/// One model call: the `model_call` span, the POST, the provider's `parse`,
/// and the span's closing fields (status, latency, tokens), whatever the outcome.
pub(crate) async fn call(
    provider: &str,
    core: &Core,
    url: &str,
    request: &ChatRequest,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Value,
    parse: fn(&Value) -> Result<Response, ModelError>,
) -> Result<Response, ModelError> {
    use tracing::Instrument;

    let span = call_span(provider, &core.model, request);
    let started = Instant::now();
    let mut result = post_json(&core.client, url, headers, &body, &span)
        .instrument(span.clone())
        .await
        .and_then(|v| parse(&v));
    finish(&span, started, &mut result);
    result
}

pub(crate) fn call_span(provider: &str, model: &str, request: &ChatRequest) -> tracing::Span {
    tracing::info_span!(
        "model_call",
        provider,
        model,
        prompt_id = %request.prompt_id,
        sample = request.sample,
        attempt = super::retry::current_attempt(),
        status = Empty,
        latency_ms = Empty,
        input_tokens = Empty,
        output_tokens = Empty,
        error_kind = Empty,
    )
}

/// Records the outcome of a call on its span and fills `latency_ms`.
pub(crate) fn finish(
    span: &tracing::Span,
    started: Instant,
    result: &mut Result<Response, ModelError>,
) {
    let ms = started.elapsed().as_millis() as u64;
    span.record("latency_ms", ms);
    match result {
        Ok(r) => {
            r.latency_ms = ms;
            if let Some(u) = r.usage {
                span.record("input_tokens", u.input_tokens);
                span.record("output_tokens", u.output_tokens);
            }
            tracing::debug!(parent: span, stop = ?r.stop, "model call done");
        }
        Err(e) => {
            span.record("error_kind", tracing::field::debug(e.kind));
            tracing::debug!(parent: span, error = %e, "model call failed");
        }
    }
}

/// Text of a JSON value that may be a string, null, or an array of parts
/// each with a `text` field.
pub(crate) fn text_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Array(parts) => {
            let texts: Vec<&str> = parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str).or_else(|| p.as_str()))
                .collect();
            if texts.is_empty() {
                None
            } else {
                Some(texts.concat())
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        // Hand-computed: 6 min = 360000 ms; 1.5 s = 1500 ms.
        assert_eq!(parse_go_duration("6m0s"), Some(360_000));
        assert_eq!(parse_go_duration("1.5s"), Some(1500));
        assert_eq!(parse_go_duration("250ms"), Some(250));
        assert_eq!(parse_go_duration("1h2m"), Some(3_720_000));
        assert_eq!(parse_go_duration("abc"), None);
        assert_eq!(parse_go_duration("12"), None);
    }

    #[test]
    fn retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(retry_after_ms(&h, now), Some(2000));
        // An HTTP date 30 s after `now`.
        let date = httpdate::fmt_http_date(now + Duration::from_secs(30));
        h.insert("retry-after", HeaderValue::from_str(&date).unwrap());
        assert_eq!(retry_after_ms(&h, now), Some(30_000));
        h.insert("retry-after-ms", HeaderValue::from_static("120"));
        assert_eq!(retry_after_ms(&h, now), Some(120));
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-reset-requests", HeaderValue::from_static("1s"));
        h.insert("x-ratelimit-reset-tokens", HeaderValue::from_static("6m0s"));
        assert_eq!(retry_after_ms(&h, now), Some(360_000));
        assert_eq!(retry_after_ms(&HeaderMap::new(), now), None);
    }

    #[test]
    fn error_messages() {
        let body =
            br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
        assert_eq!(provider_error_message(body), "overloaded_error: Overloaded");
        assert_eq!(
            provider_error_message(b"<html>"),
            "provider gave no error message"
        );
        let long = format!(r#"{{"error":"{}"}}"#, "é".repeat(400));
        assert!(provider_error_message(long.as_bytes()).len() <= MAX_ERROR_MESSAGE + 3);
    }

    #[test]
    fn endpoints() {
        assert_eq!(
            endpoint("http://127.0.0.1:8080/", "v1", "chat/completions"),
            "http://127.0.0.1:8080/v1/chat/completions"
        );
        assert_eq!(
            endpoint("https://api.example.test/v1", "v1", "messages"),
            "https://api.example.test/v1/messages"
        );
    }
}

/// Builder state shared by the HTTP providers; the first error is kept and
/// returned from `build()`.
#[derive(Debug, Clone)]
pub(crate) struct BuilderCore {
    pub(crate) base_url: String,
    pub(crate) model: String,
    pub(crate) api_key: Option<super::secret::ApiKey>,
    pub(crate) api_key_env: Option<String>,
    pub(crate) params: super::Params,
    pub(crate) timeouts: Timeouts,
}

impl BuilderCore {
    pub(crate) fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        BuilderCore {
            base_url: base_url.into(),
            model: model.into(),
            api_key: None,
            api_key_env: None,
            params: super::Params::default(),
            timeouts: Timeouts::default(),
        }
    }

    pub(crate) fn build(self) -> Result<Core, ModelError> {
        check_base_url(&self.base_url)?;
        if self.model.trim().is_empty() {
            return Err(ModelError::new(ErrorKind::Config, "model name is empty"));
        }
        let key = match (self.api_key, &self.api_key_env) {
            (Some(k), _) => Some(k),
            (None, Some(var)) => super::secret::ApiKey::from_env(var)?,
            (None, None) => None,
        };
        if key.is_none()
            && let Some(var) = &self.api_key_env
        {
            tracing::debug!(variable = %var, "api key variable unset; sending no key");
        }
        Ok(Core {
            client: build_client(self.timeouts)?,
            base_url: self.base_url.trim_end_matches('/').to_owned(),
            model: self.model,
            key,
            defaults: self.params,
        })
    }
}

/// A built HTTP client configuration.
#[derive(Debug, Clone)]
pub(crate) struct Core {
    pub(crate) client: reqwest::Client,
    pub(crate) base_url: String,
    pub(crate) model: String,
    pub(crate) key: Option<super::secret::ApiKey>,
    pub(crate) defaults: super::Params,
}

impl Core {
    /// The client's identity as `provider`, without secrets.
    pub(crate) fn info(&self, provider: &str) -> super::ClientInfo {
        super::ClientInfo {
            provider: provider.into(),
            base_url: Some(self.base_url.clone()),
            model: self.model.clone(),
        }
    }

    /// The API key as the header `name`, its value made by `value` from the
    /// key; nothing when the client has no key. The header is marked sensitive.
    pub(crate) fn key_header(
        &self,
        name: HeaderName,
        value: impl FnOnce(&str) -> String,
    ) -> Result<Option<(HeaderName, HeaderValue)>, ModelError> {
        self.key
            .as_ref()
            .map(|key| Ok((name, secret_header(&value(key.expose()))?)))
            .transpose()
    }

    /// The request's parameters, each falling back to the client default.
    pub(crate) fn params(&self, request: &ChatRequest) -> super::Params {
        let (r, d) = (&request.params, &self.defaults);
        super::Params {
            temperature: r.temperature.or(d.temperature),
            max_tokens: r.max_tokens.or(d.max_tokens),
            top_p: r.top_p.or(d.top_p),
            seed: r.seed.or(d.seed),
        }
    }
}

/// The builder methods every HTTP provider shares.
macro_rules! builder_methods {
    () => {
        /// Reads the API key from the environment variable `var` at `build()`.
        /// An unset or empty variable means no key (fine for local servers).
        pub fn api_key_env(mut self, var: impl Into<String>) -> Self {
            self.core.api_key_env = Some(var.into());
            self
        }

        /// Uses `key` (takes precedence over [`Self::api_key_env`]).
        pub fn api_key(mut self, key: $crate::model::secret::ApiKey) -> Self {
            self.core.api_key = Some(key);
            self
        }

        /// Default temperature (a request's own value wins).
        pub fn temperature(mut self, t: f64) -> Self {
            self.core.params.temperature = Some(t);
            self
        }

        /// Default token limit (a request's own value wins).
        pub fn max_tokens(mut self, n: u32) -> Self {
            self.core.params.max_tokens = Some(n);
            self
        }

        /// Default nucleus sampling (a request's own value wins).
        pub fn top_p(mut self, p: f64) -> Self {
            self.core.params.top_p = Some(p);
            self
        }

        /// Default seed, where the provider takes one (a request's own value wins).
        pub fn seed(mut self, seed: u64) -> Self {
            self.core.params.seed = Some(seed);
            self
        }

        /// Whole-request timeout (default 120 s).
        pub fn timeout(mut self, d: std::time::Duration) -> Self {
            self.core.timeouts.total = d;
            self
        }

        /// Longest silence while reading before the body counts as stalled
        /// (default: the whole-request timeout, since a non-streaming server
        /// is silent until its answer is complete).
        pub fn read_timeout(mut self, d: std::time::Duration) -> Self {
            self.core.timeouts.read = Some(d);
            self
        }

        /// Connect timeout (default 10 s).
        pub fn connect_timeout(mut self, d: std::time::Duration) -> Self {
            self.core.timeouts.connect = d;
            self
        }
    };
}
pub(crate) use builder_methods;
