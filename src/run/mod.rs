//! The runner and its journal.
//!
//! [`Runner::run`] sends every prompt to every model, `samples` times, with
//! bounded concurrency; classifies each response as soon as it arrives; and
//! appends each [`Record`] to a [`Journal`] as it completes. Started again on
//! the same journal, it resumes: each (prompt id, model, sample) is done
//! exactly once across all runs; the journal is locked for the whole run, so
//! a second run on it fails at once instead. It stops cleanly on a [`Budget`]
//! or a [`Shutdown`], and returns the records in a fixed order (prompt order,
//! then model order, then sample) whatever the concurrency.
//!
//! Progress goes to `tracing` (`run started`, `run progress` every
//! [`RunConfig::progress_every`], `run stalled` warnings from the watchdog,
//! `run finished`) and, for progress bars, to an [`Observer`] as [`Event`]s.
//!
//! The journal format, its durability and how readers pick among repeated
//! lines for one key are described in [`Journal`]: in short, one
//! header line with a configuration fingerprint, then one record per line,
//! and the last line for a key wins.
//!
//! ```no_run
//! use std::path::Path;
//! use std::sync::Arc;
//!
//! use refusal_bias::classify::RefusalClassifier;
//! use refusal_bias::model::ModelClient;
//! use refusal_bias::prompt::Prompt;
//! use refusal_bias::run::{Budget, RunConfig, Runner, SeedPolicy, Shutdown};
//!
//! # async fn demo(
//! #     model: Arc<dyn ModelClient>,
//! #     classifier: Arc<dyn RefusalClassifier>,
//! # ) -> refusal_bias::Result<()> {
//! let prompts = vec![Prompt::new("p1", "How do I audit sudoers on my servers?")];
//! let config = RunConfig {
//!     concurrency: 8,
//!     samples: 3,
//!     seed: SeedPolicy::PerSample { base: 42 },
//!     budget: Budget::unlimited().with_max_requests(1_000),
//!     ..RunConfig::default()
//! };
//! let summary = Runner::new(config)
//!     .run(&prompts, &[model], classifier, Path::new("out/journal.jsonl"), Shutdown::ctrl_c())
//!     .await?;
//! println!("{} records, stopped: {}", summary.records.len(), summary.stopped);
//! # Ok(())
//! # }
//! ```

mod budget;
mod journal;
mod progress;
mod runner;
mod shutdown;

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::model::Params;
use crate::record::Record;

pub use budget::{Budget, BudgetLimit, Price, Spent};
pub use journal::{
    FORMAT as JOURNAL_FORMAT, Journal, JournalContents, JournalHeader, JournalReader, ResumeInfo,
    RunIdentity, SYNC_EVERY, SYNC_EVERY_RECORDS, TornLine, VERSION as JOURNAL_VERSION,
};
pub use progress::{Event, InFlight, Observer, Progress};
pub use runner::Runner;
pub use shutdown::Shutdown;

/// How the seed of each draw is chosen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "policy", rename_all = "snake_case")]
pub enum SeedPolicy {
    /// Every draw uses [`Params::seed`] of the base parameters as given
    /// (usually none, leaving the provider's own randomness).
    #[default]
    AsGiven,
    /// Draw `i` uses seed `base + i` (wrapping), for providers that take a seed.
    PerSample {
        /// The seed of draw 0.
        base: u64,
    },
}

impl SeedPolicy {
    /// The parameters for draw `sample`, starting from `base`.
    pub fn params_for(&self, base: &Params, sample: u32) -> Params {
        match *self {
            SeedPolicy::AsGiven => base.clone(),
            SeedPolicy::PerSample { base: seed } => Params {
                seed: Some(seed.wrapping_add(u64::from(sample))),
                ..base.clone()
            },
        }
    }
}

/// How a run proceeds.
#[derive(Debug, Clone, PartialEq)]
pub struct RunConfig {
    /// Requests in flight at once (at least 1). Default 4.
    pub concurrency: usize,
    /// Draws per prompt and model (at least 1). Default 1.
    pub samples: u32,
    /// The base sampling parameters of every request.
    pub params: Params,
    /// How each draw's seed is chosen. Default [`SeedPolicy::AsGiven`].
    pub seed: SeedPolicy,
    /// Spending limits for this call. Default unlimited.
    pub budget: Budget,
    /// Warn (a `tracing` warning and [`Event::Stalled`]) when nothing has
    /// completed for this long while requests are in flight. Default 2 minutes;
    /// `None` turns the watchdog off.
    pub stall_after: Option<Duration>,
    /// How often progress is logged and [`Event::Progress`] sent. Default 10 s.
    pub progress_every: Duration,
    /// After a shutdown, how long requests in flight may take before they are
    /// abandoned (they are not journaled and will run on resume). `None` (the
    /// default) waits for them, relying on the client's own timeout.
    pub shutdown_grace: Option<Duration>,
    /// Run again the keys whose journaled record is a failure. The new record
    /// is appended and supersedes the old one. Default false.
    pub retry_errors: bool,
    /// Resume a journal written by a different configuration, reusing the
    /// records whose keys this run also has. Default false: that is an
    /// [`crate::Error::Config`].
    pub allow_config_mismatch: bool,
    /// Keep the records in memory and return them in
    /// [`RunSummary::records`]. Default true; turn off for very long runs
    /// that read the journal afterwards, so memory stays flat.
    pub collect_records: bool,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            concurrency: 4,
            samples: 1,
            params: Params::default(),
            seed: SeedPolicy::AsGiven,
            budget: Budget::unlimited(),
            stall_after: Some(Duration::from_secs(120)),
            progress_every: Duration::from_secs(10),
            shutdown_grace: None,
            retry_errors: false,
            allow_config_mismatch: false,
            collect_records: true,
        }
    }
}

/// Why a run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "cause", content = "limit", rename_all = "snake_case")]
pub enum StopCause {
    /// Every key has a record.
    Finished,
    /// A budget limit was reached; the remaining keys were not run.
    Budget(BudgetLimit),
    /// A shutdown was requested; the remaining keys were not run.
    Interrupted,
}

impl fmt::Display for StopCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopCause::Finished => f.write_str("finished"),
            StopCause::Budget(limit) => write!(f, "budget ({limit} reached)"),
            StopCause::Interrupted => f.write_str("interrupted"),
        }
    }
}

/// What a run did, in numbers.
///
/// `resumed + new + skipped_budget + not_run == total` always holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunCounts {
    /// Keys planned: prompts x models x samples.
    pub total: u64,
    /// Keys whose record was taken from the journal.
    pub resumed: u64,
    /// Keys whose record was made by this call.
    pub new: u64,
    /// Of `new`, keys that had a failed record in the journal (retried).
    pub retried: u64,
    /// Records (resumed or new) that are failed requests, including
    /// journaled failures whose retry did not happen (budget, shutdown).
    pub failed: u64,
    /// Keys not run because a budget limit was reached.
    pub skipped_budget: u64,
    /// Keys not run because of a shutdown (including in-flight requests
    /// abandoned after the grace period).
    pub not_run: u64,
    /// Journal lines superseded by a later line for the same key.
    pub superseded: u64,
    /// Resumed records whose prompt has the same text but other labels
    /// (category, framing, group, metadata) than the prompt given now; the
    /// summary carries the current prompt, the journal line keeps the old.
    /// Counted only when [`RunConfig::collect_records`] is on.
    pub relabelled: u64,
    /// Journal records whose key is not part of this run (only possible with
    /// [`RunConfig::allow_config_mismatch`]); they are left in the file.
    pub ignored: u64,
}

/// The result of [`Runner::run`].
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    /// One record per key that has one, in prompt order, then model order,
    /// then sample; empty when [`RunConfig::collect_records`] is off.
    pub records: Vec<Record>,
    /// The counts.
    pub counts: RunCounts,
    /// Why the run stopped.
    pub stopped: StopCause,
    /// What this call spent.
    pub spent: Spent,
    /// The journal's path.
    pub journal: PathBuf,
    /// Wall time of this call.
    pub elapsed: Duration,
}
