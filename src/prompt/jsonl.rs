//! Prompts from a JSON Lines file, one serialized [`Prompt`] per line.
//!
//! Each non-blank line is a JSON object with the fields of [`Prompt`]: `id` and
//! `text` are required, `system`, `category`, `framing` (`wording`,
//! `authorization`), `group` and `metadata` are optional. Blank lines are
//! ignored but still counted, so line numbers in errors match an editor's.
//! A key that is not a field of [`Prompt`] is an error naming it, so that a
//! misspelt `categroy` is not silently dropped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use serde_json::{Map, Value};

use super::{Category, Framing, MissingPolicy, Prompt, PromptSet, PromptSource, Skipped};
use crate::error::{Error, Location, Result};

/// A JSONL prompt file.
///
/// ```no_run
/// use refusal_bias::prompt::{MissingPolicy, PromptSource, jsonl::JsonlSource};
///
/// let set = JsonlSource::new("prompts.jsonl")
///     .missing(MissingPolicy::Skip)
///     .load()?;
/// println!("{} prompts, {} skipped", set.prompts.len(), set.skipped.len());
/// # Ok::<(), refusal_bias::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct JsonlSource {
    path: PathBuf,
    policy: MissingPolicy,
}

impl JsonlSource {
    /// A source reading `path`, failing on a line that lacks `id` or `text`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        JsonlSource {
            path: path.into(),
            policy: MissingPolicy::Error,
        }
    }

    /// Sets what to do with a line that lacks `id` or `text`.
    #[must_use]
    pub fn missing(mut self, policy: MissingPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The file read.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl PromptSource for JsonlSource {
    fn name(&self) -> String {
        self.path.display().to_string()
    }

    fn load(&self) -> Result<PromptSet> {
        let text = std::fs::read_to_string(&self.path).map_err(|e| Error::io(&self.path, e))?;
        let set = parse_jsonl(&self.name(), &text, self.policy)?;
        tracing::debug!(
            source = %self.name(),
            prompts = set.prompts.len(),
            skipped = set.skipped.len(),
            "loaded jsonl prompts"
        );
        Ok(set)
    }
}

/// Parses JSONL text; `source` names it in errors.
pub(crate) fn parse_jsonl(source: &str, text: &str, policy: MissingPolicy) -> Result<PromptSet> {
    let mut set = PromptSet::default();
    for (i, line) in text.lines().enumerate() {
        let line_no = i as u64 + 1;
        if line.trim().is_empty() {
            continue;
        }
        let here = Location::new(source).line(line_no);
        let value: Value = serde_json::from_str(line)
            .map_err(|e| Error::invalid(here.clone(), format!("malformed json: {e}")))?;
        let Value::Object(obj) = value else {
            return Err(Error::invalid(here, "expected a json object"));
        };
        match prompt_from_object(&obj, &here)? {
            Ok(prompt) => set.prompts.push(prompt),
            Err((field, reason)) => match policy {
                MissingPolicy::Error => return Err(Error::invalid(here.field(field), reason)),
                MissingPolicy::Skip => set.skipped.push(Skipped {
                    location: here.field(field),
                    reason,
                }),
            },
        }
    }
    Ok(set)
}

/// Builds a prompt from one JSON object. The outer error is a malformed field
/// (always fatal); the inner one a missing required field `(field, reason)`,
/// which the caller may skip.
fn prompt_from_object(
    obj: &Map<String, Value>,
    here: &Location,
) -> Result<Result<Prompt, (&'static str, String)>> {
    // Required fields: a missing or blank one falls under the missing policy;
    // a value of the wrong type is an error either way.
    for field in ["id", "text"] {
        match obj.get(field) {
            None | Some(Value::Null) => {
                return Ok(Err((field, format!("missing field `{field}`"))));
            }
            Some(Value::String(s)) if s.trim().is_empty() => {
                return Ok(Err((field, format!("empty field `{field}`"))));
            }
            Some(Value::String(_)) => {}
            Some(other) => {
                return Err(Error::invalid(
                    here.clone().field(field),
                    format!("expected a string, found {}", kind(other)),
                ));
            }
        }
    }
    if let Some(unknown) = obj.keys().find(|k| !KNOWN_FIELDS.contains(&k.as_str())) {
        return Err(Error::invalid(
            here.clone().field(unknown.as_str()),
            format!("unknown field, expected one of {}", KNOWN_FIELDS.join(", ")),
        ));
    }
    // Deserialize the whole object so that every field of `Prompt` is read
    // by its own serde rules; on failure, find the field to blame by reading
    // the optional fields one at a time.
    match Prompt::deserialize(Value::Object(obj.clone())) {
        Ok(prompt) => Ok(Ok(prompt)),
        Err(whole) => {
            check_field::<Option<String>>(obj, "system", here)?;
            check_field::<Option<Category>>(obj, "category", here)?;
            check_field::<Framing>(obj, "framing", here)?;
            check_field::<Option<String>>(obj, "group", here)?;
            check_field::<BTreeMap<String, Value>>(obj, "metadata", here)?;
            Err(Error::invalid(here.clone(), whole.to_string()))
        }
    }
}

/// The fields of [`Prompt`]'s serde form. A field added to `Prompt` must be
/// added here too, or lines using it are rejected as unknown.
const KNOWN_FIELDS: [&str; 7] = [
    "id", "text", "system", "category", "framing", "group", "metadata",
];

/// Deserializes `obj[field]` alone if present, naming the field on error.
fn check_field<T: serde::de::DeserializeOwned>(
    obj: &Map<String, Value>,
    field: &str,
    here: &Location,
) -> Result<()> {
    match obj.get(field) {
        None => Ok(()),
        Some(v) => T::deserialize(v)
            .map(drop)
            .map_err(|e| Error::invalid(here.clone().field(field), e.to_string())),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
