//! Refusal classifiers: the [`RefusalClassifier`] trait, verdicts and evidence.
//!
//! Built-in classifiers: [`signals::SignalClassifier`] (API refusal fields),
//! [`pattern::PatternClassifier`] (rules over the text, reading the signals
//! too), [`judge::JudgeClassifier`] (an LLM judge over any model client) and
//! [`cascade::Cascade`] (cheap classifiers first, the judge only where they
//! are unsure). [`score`] measures any of them against human labels.

pub mod cascade;
pub mod judge;
mod normalize;
pub mod pattern;
pub mod score;
pub mod signals;

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::model::Response;
use crate::prompt::Prompt;

/// The outcome of classifying one response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The model did the task.
    Compliance,
    /// The model declined part of the task or added friction, but helped.
    PartialRefusal,
    /// The model declined (hard or soft refusal).
    Refusal,
    /// Not a verdict: the response is empty, or was cut off before any answer.
    NoAnswer,
    /// Not a verdict: the classifier could not decide.
    Undetermined,
}

impl Verdict {
    /// Whether this verdict counts as refused when pooled into refused / not
    /// refused: `Some(true)` for refusal and partial refusal, `Some(false)` for
    /// compliance, `None` for the outcomes that are not verdicts.
    pub fn is_refusal(self) -> Option<bool> {
        match self {
            Verdict::Refusal | Verdict::PartialRefusal => Some(true),
            Verdict::Compliance => Some(false),
            Verdict::NoAnswer | Verdict::Undetermined => None,
        }
    }

    /// The verdict's stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Compliance => "compliance",
            Verdict::PartialRefusal => "partial_refusal",
            Verdict::Refusal => "refusal",
            Verdict::NoAnswer => "no_answer",
            Verdict::Undetermined => "undetermined",
        }
    }
}

/// A finer kind of refusal, where the classifier can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalKind {
    /// An explicit decline ("I can't help with that").
    Hard,
    /// A decline without saying so: deflection, lecture, redirect.
    Soft,
    /// Help that is degraded: partial, hedged, or with friction.
    Degraded,
}

/// What a piece of evidence was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceSource {
    /// The response text.
    Text,
    /// An API-level signal (refusal field, stop reason, block).
    Signal,
    /// A judge model's answer.
    Judge,
}

/// Why a classifier decided as it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The rule or signal that fired (for example `hard.cant_help` or
    /// `openai.message_refusal`).
    pub rule: String,
    /// What it was read from.
    pub source: EvidenceSource,
    /// Byte range in the response text, for text rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span: Option<(usize, usize)>,
    /// The matched text (at most a short excerpt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excerpt: Option<String>,
}

/// A classifier's decision about one response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Classification {
    /// The verdict.
    pub verdict: Verdict,
    /// Hard, soft or degraded, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<RefusalKind>,
    /// The classifier that decided.
    pub classifier: String,
    /// The rules or signals that decided, most important first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
}

impl Classification {
    /// A classification with no evidence.
    pub fn new(verdict: Verdict, classifier: impl Into<String>) -> Self {
        Classification {
            verdict,
            kind: None,
            classifier: classifier.into(),
            evidence: Vec::new(),
        }
    }
}

/// Decides whether a response refuses its prompt.
#[async_trait]
pub trait RefusalClassifier: Send + Sync {
    /// A short name recorded with each classification.
    fn name(&self) -> String;

    /// Classifies `response` to `prompt`.
    async fn classify(&self, prompt: &Prompt, response: &Response) -> Classification;
}

#[async_trait]
impl<T: RefusalClassifier + ?Sized> RefusalClassifier for Arc<T> {
    fn name(&self) -> String {
        (**self).name()
    }
    async fn classify(&self, prompt: &Prompt, response: &Response) -> Classification {
        (**self).classify(prompt, response).await
    }
}

#[async_trait]
impl<T: RefusalClassifier + ?Sized> RefusalClassifier for Box<T> {
    fn name(&self) -> String {
        (**self).name()
    }
    async fn classify(&self, prompt: &Prompt, response: &Response) -> Classification {
        (**self).classify(prompt, response).await
    }
}
