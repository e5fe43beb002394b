#![warn(missing_docs)]
//! Measure defensive refusal bias in language models.
//!
//! Safety-tuned models refuse legitimate defensive security work when the
//! request *sounds* offensive: "dump the credentials cache on our domain
//! controller" is refused where the same task in plain words is answered. This
//! crate measures that on any model, with paired designs and exact statistics.
//!
//! # How an evaluation is put together
//!
//! Four traits are the seams; each has built-in implementations and is open to
//! your own:
//!
//! - [`prompt::PromptSource`] yields [`prompt::Prompt`]s, each with a task
//!   category, a [`prompt::Framing`] (sensitive or neutral wording,
//!   authorization stated or not) and a task group that pairs the variants of
//!   one task.
//! - [`model::ModelClient`] sends one [`model::ChatRequest`] and returns one
//!   [`model::Response`], with the API-level refusal signals of every provider
//!   mapped into the same fields. Failures are typed [`model::ModelError`]s that
//!   say whether a retry may help.
//! - [`classify::RefusalClassifier`] turns a response into a
//!   [`classify::Classification`]: a [`classify::Verdict`] with the evidence
//!   (rule and span) that decided it.
//! - [`analysis::Analyzer`] turns [`record::Record`]s into one
//!   [`report::Section`] of a [`report::Report`], every figure with its n and
//!   its method.
//!
//! The [`run::Runner`] ties them together: bounded concurrency, an append-only
//! journal written as records complete, resume that does each (prompt, model,
//! sample) exactly once, budgets and a clean Ctrl-C.
//!
//! # Counting honestly
//!
//! A failed request is a [`record::Record`] with its error, never a silently
//! smaller denominator. Rates are computed over records with a verdict
//! (refusal, partial refusal, compliance); failed requests and the outcomes
//! that are not verdicts (`NoAnswer`, `Undetermined`) are counted beside every
//! rate.
//!
//! # Statistics
//!
//! [`stats`] holds pure numerics (intervals for proportions, ratios, paired and
//! stratified tests, corrections, bootstrap, logistic regression), each checked
//! against reference values computed with scipy and statsmodels by a script in
//! the repository.

pub mod analysis;
pub mod classify;
pub mod error;
pub mod model;
pub mod prompt;
pub mod record;
pub mod report;
pub mod run;
pub mod stats;

pub use error::{Error, Result};

// The README's code blocks are compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
