//! CyberSecEval's MITRE false-refusal prompts (`mitre_frr.json`, Meta
//! PurpleLlama).
//!
//! The file is a JSON array of 750 objects with `mutated_prompt` (the prompt),
//! `is_malicious` (always `false`), `attack_type` and `model` (the generator).
//! Every prompt is benign, so a refusal of one is a false refusal. The file
//! has no ids: a prompt's id is `frr-<index>` with the 0-based array index,
//! which is also the `prompt_id` of the multilingual variant of the file.
//! Every field other than `mutated_prompt` goes into the metadata.
//!
//! In errors, the location's number is the 1-based record (array element)
//! number, except for JSON that does not parse, where it is the text line.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{MissingPolicy, Prompt, PromptSet, PromptSource, Skipped};
use crate::error::{Error, Location, Result};

/// The CyberSecEval MITRE FRR prompt file.
///
/// ```no_run
/// use refusal_bias::prompt::PromptSource;
/// use refusal_bias::prompt::frr::FrrSource;
///
/// let set = FrrSource::new("../shared/data/cyberseceval_frr_mitre/mitre_frr.json").load()?;
/// assert_eq!(set.prompts[0].id, "frr-0");
/// # Ok::<(), refusal_bias::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct FrrSource {
    path: PathBuf,
    policy: MissingPolicy,
}

/// The field holding the prompt text.
const TEXT_FIELD: &str = "mutated_prompt";

impl FrrSource {
    /// A source reading the FRR file at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FrrSource {
            path: path.into(),
            policy: MissingPolicy::Error,
        }
    }

    /// Sets what to do with a record without a `mutated_prompt`.
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

impl PromptSource for FrrSource {
    fn name(&self) -> String {
        self.path.display().to_string()
    }

    fn load(&self) -> Result<PromptSet> {
        let source = self.name();
        let text = std::fs::read_to_string(&self.path).map_err(|e| Error::io(&self.path, e))?;
        // Records are numbered from 1 in locations; ids use the 0-based index.
        let value: Value = serde_json::from_str(&text).map_err(|e| {
            Error::invalid(
                Location::new(&source).line(e.line() as u64),
                format!("malformed json: {e}"),
            )
        })?;
        let Value::Array(records) = value else {
            return Err(Error::invalid(
                Location::new(&source),
                "expected a json array of records",
            ));
        };
        let mut set = PromptSet::default();
        for (index, record) in records.into_iter().enumerate() {
            let here = Location::new(&source).line(index as u64 + 1);
            let Value::Object(mut obj) = record else {
                return Err(Error::invalid(here, "record is not a json object"));
            };
            let text = match obj.remove(TEXT_FIELD) {
                Some(Value::String(s)) if !s.trim().is_empty() => s,
                Some(Value::String(_)) | Some(Value::Null) | None => {
                    let reason = format!("missing or empty `{TEXT_FIELD}`");
                    match self.policy {
                        MissingPolicy::Error => {
                            return Err(Error::invalid(here.field(TEXT_FIELD), reason));
                        }
                        MissingPolicy::Skip => {
                            set.skipped.push(Skipped {
                                location: here.field(TEXT_FIELD),
                                reason,
                            });
                            continue;
                        }
                    }
                }
                Some(_) => {
                    return Err(Error::invalid(here.field(TEXT_FIELD), "expected a string"));
                }
            };
            let mut prompt = Prompt::new(format!("frr-{index}"), text);
            prompt.metadata = obj.into_iter().collect();
            set.prompts.push(prompt);
        }
        tracing::debug!(
            source = %source,
            prompts = set.prompts.len(),
            skipped = set.skipped.len(),
            "loaded cyberseceval frr prompts"
        );
        Ok(set)
    }
}
