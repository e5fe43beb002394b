//! Prompts from a JSON Lines file, one serialized [`Prompt`] per line.
//!
//! Each non-blank line is a JSON object with the fields of [`Prompt`]: `id` and
//! `text` are required, `system`, `category`, `framing` (`wording`,
//! `authorization`), `group` and `metadata` are optional. Blank lines are
//! ignored but still counted, so line numbers in errors match an editor's.

use std::path::{Path, PathBuf};

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
    let mut required = [("id", None), ("text", None)];
    for (field, slot) in required.iter_mut() {
        match obj.get(*field) {
            None | Some(Value::Null) => {
                return Ok(Err((field, format!("missing field `{field}`"))));
            }
            Some(Value::String(s)) if s.trim().is_empty() => {
                return Ok(Err((field, format!("empty field `{field}`"))));
            }
            Some(Value::String(s)) => *slot = Some(s.clone()),
            Some(other) => {
                return Err(Error::invalid(
                    here.clone().field(*field),
                    format!("expected a string, found {}", kind(other)),
                ));
            }
        }
    }
    let [(_, Some(id)), (_, Some(text))] = required else {
        unreachable!("both required fields were set above");
    };
    let mut prompt = Prompt::new(id, text);
    prompt.system = optional_field::<String>(obj, "system", here)?;
    prompt.category = optional_field::<Category>(obj, "category", here)?;
    prompt.framing = optional_field::<Framing>(obj, "framing", here)?.unwrap_or_default();
    prompt.group = optional_field::<String>(obj, "group", here)?;
    prompt.metadata = optional_field(obj, "metadata", here)?.unwrap_or_default();
    if let Some(unknown) = obj.keys().find(|k| !KNOWN_FIELDS.contains(&k.as_str())) {
        return Err(Error::invalid(
            here.clone().field(unknown.as_str()),
            format!("unknown field, expected one of {}", KNOWN_FIELDS.join(", ")),
        ));
    }
    Ok(Ok(prompt))
}

const KNOWN_FIELDS: [&str; 7] = [
    "id", "text", "system", "category", "framing", "group", "metadata",
];

/// Deserializes `obj[field]` if present and not null, naming the field on error.
fn optional_field<T: serde::de::DeserializeOwned>(
    obj: &Map<String, Value>,
    field: &str,
    here: &Location,
) -> Result<Option<T>> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => T::deserialize(v)
            .map(Some)
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
