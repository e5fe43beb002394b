//! The XSTest v2 prompt file (`xstest_prompts.csv`, Röttger et al. 2024).
//!
//! The file has the columns `id,prompt,type,label,focus,note`: 450 prompts,
//! 250 labelled `safe` and 200 `unsafe` (the `contrast_*` types). Each prompt
//! gets the file's `id` as its id (so completions keyed `v2-<id>` can be
//! matched to it), the `type` as a [`Category::Other`], and `label`, `focus`
//! and `note` in its metadata. The prompt text is kept verbatim, trailing
//! spaces included.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::csv::read_table;
use super::{Category, MissingPolicy, Prompt, PromptSet, PromptSource, Skipped};
use crate::error::{Error, Location, Result};

/// The header of the XSTest prompt file.
pub const XSTEST_COLUMNS: [&str; 6] = ["id", "prompt", "type", "label", "focus", "note"];

/// The XSTest prompt CSV.
///
/// ```no_run
/// use refusal_bias::prompt::PromptSource;
/// use refusal_bias::prompt::xstest::XsTestSource;
///
/// let set = XsTestSource::new("../shared/data/xstest/xstest_prompts.csv").load()?;
/// let unsafe_n = set.prompts.iter().filter(|p| p.metadata["label"] == "unsafe").count();
/// # Ok::<(), refusal_bias::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct XsTestSource {
    path: PathBuf,
    policy: MissingPolicy,
}

impl XsTestSource {
    /// A source reading the XSTest prompt file at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        XsTestSource {
            path: path.into(),
            policy: MissingPolicy::Error,
        }
    }

    /// Sets what to do with a row whose `id`, `prompt` or `type` is empty.
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

impl PromptSource for XsTestSource {
    fn name(&self) -> String {
        self.path.display().to_string()
    }

    fn load(&self) -> Result<PromptSet> {
        let source = self.name();
        let table = read_table(&self.path)?;
        let mapped: Vec<(&'static str, &str)> = XSTEST_COLUMNS.iter().map(|c| (*c, *c)).collect();
        let cols = table.resolve(&source, &mapped)?;
        let [id, prompt, kind, label, focus, note] = [0, 1, 2, 3, 4, 5].map(|i| cols[i].1);
        let mut set = PromptSet::default();
        for row in &table.rows {
            let here = Location::new(&source).line(row.line);
            let empty = [("id", id), ("prompt", prompt), ("type", kind)]
                .into_iter()
                .find(|(_, i)| row.cells[*i].trim().is_empty());
            if let Some((field, _)) = empty {
                let reason = format!("empty `{field}` cell");
                match self.policy {
                    MissingPolicy::Error => return Err(Error::invalid(here.field(field), reason)),
                    MissingPolicy::Skip => {
                        set.skipped.push(Skipped {
                            location: here.field(field),
                            reason,
                        });
                        continue;
                    }
                }
            }
            let mut p = Prompt::new(row.cells[id].trim(), row.cells[prompt].as_str())
                .with_category(Category::Other(row.cells[kind].trim().to_string()));
            for (key, i) in [("label", label), ("focus", focus), ("note", note)] {
                p.metadata
                    .insert(key.to_string(), Value::String(row.cells[i].clone()));
            }
            set.prompts.push(p);
        }
        tracing::debug!(
            source = %source,
            prompts = set.prompts.len(),
            skipped = set.skipped.len(),
            "loaded xstest prompts"
        );
        Ok(set)
    }
}
