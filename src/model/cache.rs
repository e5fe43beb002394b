//! [`Cache`]: an on-disk response cache shared safely between runs.
//!
//! # Key
//! The key is the SHA-256 (hex) of a canonical JSON text built from
//! everything that can change the answer:
//!
//! ```text
//! {"format":1,"provider":..,"base_url":..,"model":..,"system":..,
//!  "messages":[{"role":..,"content":..},..],"params":{..},"sample":..}
//! ```
//!
//! with the fields in that order, `params` holding only the parameters that
//! are set (in the order temperature, max_tokens, top_p, seed) and
//! `base_url`/`system` `null` when absent. The prompt id is not part of the
//! key (two prompts with the same text share answers); the crate's version
//! is not either, so entries stay valid across releases. A change to the
//! key text bumps `format`.
//!
//! The parameters are those of the request, not the client's defaults (a
//! wrapper cannot see inside the client); a client built with other default
//! parameters should use another cache directory. Reading the defaults
//! through [`ModelClient::info`] would lift that.
//!
//! # Storage
//! One file per entry, `<dir>/<first two hex digits>/<hex>.json`, holding the
//! key text and the [`Response`]. Each is written to a unique temporary file
//! in the same folder and renamed into place, so a reader sees a whole entry
//! or none, and two runs sharing the folder at most compute the same answer
//! twice. Errors are never stored. An unreadable entry is a miss and is
//! overwritten. A hit returns the stored response as it was first received
//! (its `latency_ms` and `attempts` are those of the original call).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{ChatRequest, ClientInfo, ErrorKind, ModelClient, ModelError, Response};

/// Version of the key text; see the [module docs](self).
pub const KEY_FORMAT: u32 = 1;

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Serves repeated requests from disk; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct Cache<C> {
    inner: C,
    dir: PathBuf,
}

impl<C: ModelClient> Cache<C> {
    /// Wraps `inner`, storing entries under `dir` (created if missing).
    pub fn new(inner: C, dir: impl Into<PathBuf>) -> Result<Self, ModelError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|e| {
            ModelError::new(
                ErrorKind::Config,
                format!("cannot create cache folder {}: {e}", dir.display()),
            )
        })?;
        Ok(Cache { inner, dir })
    }

    /// The file an entry for `request` lives in.
    pub fn entry_path(&self, request: &ChatRequest) -> PathBuf {
        let key = key(&self.inner.info(), request);
        self.dir.join(&key[..2]).join(format!("{key}.json"))
    }
}

/// The canonical key text for `request` sent through a client `info`.
pub fn key_text(info: &ClientInfo, request: &ChatRequest) -> String {
    let p = &request.params;
    let params: Vec<String> = [
        ("temperature", p.temperature.map(|t| json!(t))),
        ("max_tokens", p.max_tokens.map(|n| json!(n))),
        ("top_p", p.top_p.map(|t| json!(t))),
        ("seed", p.seed.map(|s| json!(s))),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| format!("\"{k}\":{v}")))
    .collect();
    let messages: Vec<String> = request
        .messages
        .iter()
        .map(|m| {
            format!(
                "{{\"role\":{},\"content\":{}}}",
                json!(m.role),
                Value::String(m.content.clone())
            )
        })
        .collect();
    // Written out field by field so that the text does not depend on
    // serde_json's map ordering features.
    format!(
        "{{\"format\":{KEY_FORMAT},\"provider\":{},\"base_url\":{},\"model\":{},\"system\":{},\
         \"messages\":[{}],\"params\":{{{}}},\"sample\":{}}}",
        json!(info.provider),
        json!(info.base_url),
        json!(info.model),
        json!(request.system),
        messages.join(","),
        params.join(","),
        request.sample
    )
}

/// The hex SHA-256 of [`key_text`].
pub fn key(info: &ClientInfo, request: &ChatRequest) -> String {
    hex::encode(Sha256::digest(key_text(info, request).as_bytes()))
}

async fn read_entry(path: &Path) -> Option<Response> {
    let bytes = tokio::fs::read(path).await.ok()?;
    let v: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(file = %path.display(), error = %e, "unreadable cache entry; ignored");
            return None;
        }
    };
    serde_json::from_value(v.get("response")?.clone()).ok()
}

async fn write_entry(path: &Path, key_text: &str, response: &Response) -> std::io::Result<()> {
    let dir = path.parent().expect("entry paths have a folder");
    tokio::fs::create_dir_all(dir).await?;
    let body = serde_json::to_vec_pretty(&json!({"key": key_text, "response": response}))
        .map_err(std::io::Error::other)?;
    let tmp = dir.join(format!(
        ".{}.{}.{}.tmp",
        path.file_stem().and_then(|s| s.to_str()).unwrap_or("entry"),
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    if let Err(e) = tokio::fs::write(&tmp, &body).await {
        let _ = tokio::fs::remove_file(&tmp).await;
        return Err(e);
    }
    if let Err(e) = tokio::fs::rename(&tmp, path).await {
        let _ = tokio::fs::remove_file(&tmp).await;
        return Err(e);
    }
    Ok(())
}

#[async_trait]
impl<C: ModelClient> ModelClient for Cache<C> {
    fn info(&self) -> ClientInfo {
        self.inner.info()
    }

    async fn complete(&self, request: &ChatRequest) -> Result<Response, ModelError> {
        let text = key_text(&self.inner.info(), request);
        let hash = hex::encode(Sha256::digest(text.as_bytes()));
        let path = self.dir.join(&hash[..2]).join(format!("{hash}.json"));
        if let Some(r) = read_entry(&path).await {
            tracing::debug!(prompt_id = %request.prompt_id, sample = request.sample, "cache hit");
            return Ok(r);
        }
        let response = self.inner.complete(request).await?;
        if let Err(e) = write_entry(&path, &text, &response).await {
            // A cache that cannot be written costs speed, not the sample.
            tracing::warn!(file = %path.display(), error = %e, "cannot write cache entry");
        }
        Ok(response)
    }
}
