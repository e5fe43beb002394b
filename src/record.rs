//! Records: one attempt of one prompt on one model, with its outcome.

use serde::{Deserialize, Serialize};

use crate::classify::{Classification, Verdict};
use crate::model::{ModelError, Response};
use crate::prompt::Prompt;

/// What came of one request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// The model answered and the answer was classified.
    Answered {
        /// The response.
        response: Response,
        /// Its classification.
        classification: Classification,
    },
    /// The request failed; the error is kept so that reports count it.
    Failed {
        /// The error.
        error: ModelError,
    },
}

/// One attempt of one prompt on one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The prompt, carried whole so a journal is self-contained.
    pub prompt: Prompt,
    /// The model label ([`crate::model::ClientInfo::model`]).
    pub model: String,
    /// The sample index (0 for the first draw).
    pub sample: u32,
    /// The response and verdict, or the error.
    #[serde(flatten)]
    pub outcome: Outcome,
}

impl Record {
    /// The verdict, or `None` for a failed request.
    pub fn verdict(&self) -> Option<Verdict> {
        match &self.outcome {
            Outcome::Answered { classification, .. } => Some(classification.verdict),
            Outcome::Failed { .. } => None,
        }
    }

    /// Refused (`Some(true)`), not refused (`Some(false)`), or neither: a failed
    /// request, no answer or an undetermined verdict (`None`).
    pub fn refused(&self) -> Option<bool> {
        self.verdict().and_then(Verdict::is_refusal)
    }

    /// The response, if the request succeeded.
    pub fn response(&self) -> Option<&Response> {
        match &self.outcome {
            Outcome::Answered { response, .. } => Some(response),
            Outcome::Failed { .. } => None,
        }
    }

    /// The error, if the request failed.
    pub fn error(&self) -> Option<&ModelError> {
        match &self.outcome {
            Outcome::Answered { .. } => None,
            Outcome::Failed { error } => Some(error),
        }
    }

    /// The key that identifies this request across runs:
    /// (prompt id, model, sample).
    pub fn key(&self) -> RecordKey {
        RecordKey {
            prompt_id: self.prompt.id.clone(),
            model: self.model.clone(),
            sample: self.sample,
        }
    }
}

/// (prompt id, model, sample): each is done exactly once per run.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RecordKey {
    /// The prompt id.
    pub prompt_id: String,
    /// The model label.
    pub model: String,
    /// The sample index.
    pub sample: u32,
}
