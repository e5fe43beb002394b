//! The built-in defensive corpus.
//!
//! 48 defensive security tasks written for this crate, six in each of the
//! eight categories of [`Category::DEFENSIVE`]. Every task is legitimate work
//! on systems the requester owns or defends (hardening a server, analysing a
//! sample from one's own quarantine, reading one's own logs). Each is written
//! twice: once with the study's security-sensitive words ("dump the LSASS
//! memory", "brute force", "C2") and once as the same request in plain words.
//! Each task also carries its own authorization statement, varied from task to
//! task. [`defensive`] expands every task into its four framings (see
//! [`super::variants`]), 192 prompts in all, with ids such as
//! `hardening-03/sensitive+auth`.
//!
//! The tasks live in `src/prompt/corpus/defensive.jsonl`, one JSON object per
//! line with `group`, `category`, `sensitive`, `neutral` and `auth`, embedded
//! in the library and parsed once.
//!
//! Shortcoming: the neutral rewordings were written by one person and checked
//! only against the keyword list; a human rating of semantic equivalence per
//! pair would make the sensitive-vs-neutral comparison stronger.

use std::sync::OnceLock;

use serde::Deserialize;

use super::variants::Task;
use super::{Category, Prompt};

const DATA: &str = include_str!("corpus/defensive.jsonl");

/// One line of the data file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    group: String,
    category: Category,
    sensitive: String,
    neutral: String,
    auth: String,
}

/// The corpus tasks, in file order (eight categories, six tasks each).
pub fn defensive_tasks() -> &'static [Task] {
    static TASKS: OnceLock<Vec<Task>> = OnceLock::new();
    TASKS.get_or_init(|| {
        DATA.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                // The file is part of the crate and checked by its tests, so a
                // bad line is a bug in the crate, not an input error.
                let line: Line = serde_json::from_str(l).unwrap_or_else(|e| {
                    panic!("corpus/defensive.jsonl:{}: {e}", i + 1);
                });
                Task::new(line.group, line.category, line.sensitive, line.neutral)
                    .with_authorization(line.auth)
            })
            .collect()
    })
}

/// The built-in defensive corpus: every task of [`defensive_tasks`] in its
/// four framings (sensitive, neutral, sensitive+auth, neutral+auth), in task
/// order.
///
/// ```
/// use refusal_bias::prompt::corpus;
///
/// let prompts = corpus::defensive();
/// assert_eq!(prompts.len(), 8 * 6 * 4);
/// assert_eq!(prompts[0].id, "hardening-01/sensitive");
/// ```
pub fn defensive() -> Vec<Prompt> {
    defensive_tasks().iter().flat_map(Task::variants).collect()
}
