//! [`ReplayClient`]: serves recorded responses instead of calling a model.
//!
//! Recordings are keyed by prompt id and sample index. A recording without a
//! sample index is sample 0. A request for a key that has no recording fails
//! with [`ErrorKind::NotRecorded`] (it becomes an error record; nothing
//! panics).
//!
//! # Formats
//! - JSONL ([`ReplayClient::from_jsonl`]): one object per line with
//!   `prompt_id` (string or number), optional `sample`, and either
//!   `response` (a string, or a full [`Response`] object) or `text`. Blank
//!   lines are skipped; other keys are ignored.
//! - CSV ([`ReplayClient::from_csv`]) with a [`CsvColumns`] mapping.
//! - The XSTest v2 completion files ([`ReplayClient::xstest_completions`]):
//!   columns `id,type,prompt,completion,...`. Their `id` is `v2-<n>`; the
//!   replay key is `<n>`, the `id` column of `xstest_prompts.csv`, which is
//!   the prompt id the XSTest prompt loader uses. So a run over the XSTest
//!   prompts replays the matching completion.
//!
//! [`ReplayClient::detect`] picks the format from the extension and the CSV
//! header. Loader errors name the file, the line and the field.

use std::collections::HashMap;
use std::path::Path;

use async_trait::async_trait;
use serde_json::Value;

use super::{ChatRequest, ClientInfo, ErrorKind, ModelClient, ModelError, Response};
use crate::error::{Error, Location, Result};

/// Column names of a CSV recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvColumns {
    /// The prompt id column.
    pub id: String,
    /// The response text column.
    pub text: String,
    /// The sample index column; without one every row is sample 0.
    pub sample: Option<String>,
}

impl CsvColumns {
    /// A mapping with no sample column.
    pub fn new(id: impl Into<String>, text: impl Into<String>) -> Self {
        CsvColumns {
            id: id.into(),
            text: text.into(),
            sample: None,
        }
    }
}

/// Serves recorded responses keyed by `(prompt_id, sample)`.
///
/// ```
/// use refusal_bias::model::{ChatRequest, Message, ModelClient, Params, Response};
/// use refusal_bias::model::replay::ReplayClient;
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let mut replay = ReplayClient::new("recorded");
/// replay.insert("p1", 0, Response::text("Sure, here is how."));
/// let mut request = ChatRequest {
///     prompt_id: "p1".into(),
///     sample: 0,
///     system: None,
///     messages: vec![Message::user("...")],
///     params: Params::default(),
/// };
/// assert_eq!(replay.complete(&request).await.unwrap().text, "Sure, here is how.");
/// request.sample = 1;
/// assert!(replay.complete(&request).await.is_err());
/// # });
/// ```
#[derive(Debug, Clone, Default)]
pub struct ReplayClient {
    label: String,
    entries: HashMap<(String, u32), Response>,
}

impl ReplayClient {
    /// An empty replay labelled `label` (the model name in records).
    pub fn new(label: impl Into<String>) -> Self {
        ReplayClient {
            label: label.into(),
            entries: HashMap::new(),
        }
    }

    /// The same replay with another label.
    #[must_use]
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    /// Adds a recording, returning the one it replaced.
    pub fn insert(
        &mut self,
        prompt_id: impl Into<String>,
        sample: u32,
        response: Response,
    ) -> Option<Response> {
        self.entries.insert((prompt_id.into(), sample), response)
    }

    /// The number of recordings.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no recordings.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The recording for a key, if any.
    pub fn get(&self, prompt_id: &str, sample: u32) -> Option<&Response> {
        self.entries.get(&(prompt_id.to_owned(), sample))
    }

    /// Loads JSONL recordings (see the [module docs](self)). Labelled with
    /// the file stem.
    pub fn from_jsonl(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let mut out = Loader::new(path, stem(path));
        for (i, line) in text.lines().enumerate() {
            let n = i as u64 + 1;
            if line.trim().is_empty() {
                continue;
            }
            let at = || Location::new(path.display().to_string()).line(n);
            let v: Value = serde_json::from_str(line)
                .map_err(|e| Error::invalid(at(), format!("invalid json: {e}")))?;
            let id = match v.get("prompt_id") {
                Some(Value::String(s)) if !s.is_empty() => s.clone(),
                Some(Value::Number(x)) => x.to_string(),
                _ => {
                    return Err(Error::invalid(
                        at().field("prompt_id"),
                        "missing or empty prompt id",
                    ));
                }
            };
            let sample = match v.get("sample") {
                None | Some(Value::Null) => 0,
                Some(s) => s
                    .as_u64()
                    .and_then(|s| u32::try_from(s).ok())
                    .ok_or_else(|| {
                        Error::invalid(at().field("sample"), "sample is not a small whole number")
                    })?,
            };
            let response = match (v.get("response"), v.get("text")) {
                (Some(Value::String(s)), _) => Response::text(s.clone()),
                (Some(obj @ Value::Object(_)), _) => {
                    let mut r: Response = serde_json::from_value(obj.clone()).map_err(|e| {
                        Error::invalid(at().field("response"), format!("invalid response: {e}"))
                    })?;
                    r.attempts = r.attempts.max(1);
                    r
                }
                (Some(_), _) => {
                    return Err(Error::invalid(
                        at().field("response"),
                        "response is neither a string nor an object",
                    ));
                }
                (None, Some(Value::String(s))) => Response::text(s.clone()),
                (None, _) => {
                    return Err(Error::invalid(
                        at().field("response"),
                        "missing `response` or `text`",
                    ));
                }
            };
            out.add(id, sample, response, n)?;
        }
        Ok(out.finish())
    }

    /// Loads CSV recordings with the given column mapping. Labelled with the
    /// file stem. Rows are counted from 1 at the header line.
    pub fn from_csv(path: impl AsRef<Path>, columns: &CsvColumns) -> Result<Self> {
        let path = path.as_ref();
        let label = stem(path);
        read_csv(path, label, columns, |id| Ok(id.to_owned()))
    }

    /// Loads an XSTest v2 completion file
    /// (`xstest_v2_completions_<model>.csv`), keyed by the prompts file's
    /// numeric id (`v2-12` becomes `12`) and labelled `<model>`.
    pub fn xstest_completions(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let s = stem(path);
        let label = s
            .strip_prefix("xstest_v2_completions_")
            .map(str::to_owned)
            .unwrap_or(s);
        read_csv(path, label, &CsvColumns::new("id", "completion"), |id| {
            let n = id.strip_prefix("v2-").unwrap_or(id);
            match n.parse::<u32>() {
                Ok(n) => Ok(n.to_string()),
                Err(_) => Err(format!("xstest id {id:?} is not `v2-<number>`")),
            }
        })
    }

    /// Loads a recording, picking the format: `.jsonl`/`.ndjson` is JSONL; a
    /// `.csv` whose header has `id` and `completion` is an XSTest completion
    /// file; another `.csv` needs a `prompt_id` (or `id`) column and a
    /// `response`, `text` or `completion` column, plus an optional `sample`.
    pub fn detect(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        match ext.as_str() {
            "jsonl" | "ndjson" => Self::from_jsonl(path),
            "csv" => {
                let header = csv_header(path)?;
                let has = |c: &str| header.iter().any(|h| h == c);
                if has("id") && has("completion") && !has("prompt_id") {
                    return Self::xstest_completions(path);
                }
                let id = ["prompt_id", "id"].into_iter().find(|c| has(c));
                let text = ["response", "text", "completion"]
                    .into_iter()
                    .find(|c| has(c));
                match (id, text) {
                    (Some(id), Some(text)) => {
                        let mut cols = CsvColumns::new(id, text);
                        cols.sample = has("sample").then(|| "sample".to_owned());
                        Self::from_csv(path, &cols)
                    }
                    _ => Err(Error::invalid(
                        Location::new(path.display().to_string()).line(1),
                        "csv header needs a `prompt_id` or `id` column and a `response`, \
                         `text` or `completion` column",
                    )),
                }
            }
            other => Err(Error::invalid(
                Location::new(path.display().to_string()),
                format!("cannot tell the recording format from extension {other:?}"),
            )),
        }
    }
}

#[async_trait]
impl ModelClient for ReplayClient {
    fn info(&self) -> ClientInfo {
        ClientInfo {
            provider: "replay".into(),
            base_url: None,
            model: self.label.clone(),
        }
    }

    async fn complete(&self, request: &ChatRequest) -> std::result::Result<Response, ModelError> {
        let key = (request.prompt_id.clone(), request.sample);
        match self.entries.get(&key) {
            Some(r) => {
                let mut r = r.clone();
                r.attempts = 1;
                Ok(r)
            }
            None => Err(ModelError::new(
                ErrorKind::NotRecorded,
                format!(
                    "no recording for prompt {:?} sample {} in replay {:?}",
                    request.prompt_id, request.sample, self.label
                ),
            )),
        }
    }
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("replay")
        .to_owned()
}

/// Collects recordings and rejects duplicate keys.
struct Loader<'a> {
    path: &'a Path,
    client: ReplayClient,
    first_line: HashMap<(String, u32), u64>,
}

impl<'a> Loader<'a> {
    fn new(path: &'a Path, label: String) -> Self {
        Loader {
            path,
            client: ReplayClient::new(label),
            first_line: HashMap::new(),
        }
    }

    fn add(&mut self, id: String, sample: u32, response: Response, line: u64) -> Result<()> {
        if let Some(first) = self.first_line.get(&(id.clone(), sample)) {
            return Err(Error::invalid(
                Location::new(self.path.display().to_string()).line(line),
                format!(
                    "duplicate recording for prompt {id:?} sample {sample} (first at line {first})"
                ),
            ));
        }
        self.first_line.insert((id.clone(), sample), line);
        self.client.insert(id, sample, response);
        Ok(())
    }

    fn finish(self) -> ReplayClient {
        tracing::debug!(
            file = %self.path.display(),
            recordings = self.client.len(),
            "replay loaded"
        );
        self.client
    }
}

fn csv_reader(path: &Path) -> Result<csv::Reader<std::fs::File>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    Ok(csv::ReaderBuilder::new().flexible(false).from_reader(file))
}

fn csv_header(path: &Path) -> Result<Vec<String>> {
    let mut r = csv_reader(path)?;
    let h = r.headers().map_err(|e| csv_error(path, &e))?;
    Ok(h.iter()
        .map(|c| c.trim_start_matches('\u{feff}').trim().to_owned())
        .collect())
}

fn csv_error(path: &Path, e: &csv::Error) -> Error {
    let mut at = Location::new(path.display().to_string());
    if let Some(p) = e.position() {
        at = at.line(p.line());
    }
    Error::invalid(at, format!("invalid csv: {e}"))
}

fn read_csv(
    path: &Path,
    label: String,
    columns: &CsvColumns,
    map_id: impl Fn(&str) -> std::result::Result<String, String>,
) -> Result<ReplayClient> {
    let header = csv_header(path)?;
    let col = |name: &str| {
        header.iter().position(|h| h == name).ok_or_else(|| {
            Error::invalid(
                Location::new(path.display().to_string())
                    .line(1)
                    .field(name),
                "column missing from the header",
            )
        })
    };
    let id_col = col(&columns.id)?;
    let text_col = col(&columns.text)?;
    let sample_col = columns.sample.as_deref().map(col).transpose()?;
    // Line numbers are counted here from the record's byte offset: on CRLF
    // files the csv crate puts a record's start between `\r` and `\n` of the
    // line before, and its line counter is one short.
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let line_of = |offset: u64| {
        let mut end = (offset as usize).min(bytes.len());
        while end < bytes.len() && matches!(bytes[end], b'\r' | b'\n') {
            end += 1;
        }
        bytes[..end].iter().filter(|b| **b == b'\n').count() as u64 + 1
    };
    let mut reader = csv::ReaderBuilder::new().from_reader(&bytes[..]);
    let mut out = Loader::new(path, label);
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(csv_error(path, &e)),
        }
        let line = record.position().map_or(0, |p| line_of(p.byte()));
        let at = |field: &str| {
            Location::new(path.display().to_string())
                .line(line)
                .field(field)
        };
        let raw_id = record.get(id_col).unwrap_or("").trim();
        if raw_id.is_empty() {
            return Err(Error::invalid(at(&columns.id), "empty prompt id"));
        }
        let id = map_id(raw_id).map_err(|m| Error::invalid(at(&columns.id), m))?;
        let sample = match sample_col {
            None => 0,
            Some(c) => {
                let s = record.get(c).unwrap_or("").trim();
                if s.is_empty() {
                    0
                } else {
                    s.parse::<u32>().map_err(|_| {
                        Error::invalid(
                            at(columns.sample.as_deref().unwrap_or("sample")),
                            format!("sample {s:?} is not a whole number"),
                        )
                    })?
                }
            }
        };
        let text = record.get(text_col).unwrap_or("");
        out.add(id, sample, Response::text(text), line)?;
    }
    Ok(out.finish())
}
