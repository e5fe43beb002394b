//! Progress events for observers (progress bars) and the stall watchdog.

use std::time::Duration;

use crate::classify::Verdict;
use crate::record::RecordKey;
use crate::run::{RunCounts, StopCause};

/// Where a run stands, as counted by this call.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Progress {
    /// Keys planned in all (prompts x models x samples).
    pub total: u64,
    /// Keys taken from the journal.
    pub resumed: u64,
    /// Requests this call has to make (before any budget or shutdown).
    pub to_run: u64,
    /// Requests this call has completed.
    pub done: u64,
    /// Of `done`, failed requests.
    pub failed: u64,
    /// Of `done`, refusals and partial refusals.
    pub refusals: u64,
    /// Time since the run started.
    pub elapsed: Duration,
    /// Completed requests per second so far.
    pub rate: f64,
    /// Estimated time left at the current rate, once there is a rate.
    pub eta: Option<Duration>,
}

impl Progress {
    pub(crate) fn update_rate(&mut self, elapsed: Duration) {
        self.elapsed = elapsed;
        let secs = elapsed.as_secs_f64();
        self.rate = if secs > 0.0 {
            self.done as f64 / secs
        } else {
            0.0
        };
        self.eta = (self.rate > 0.0).then(|| {
            Duration::from_secs_f64(self.to_run.saturating_sub(self.done) as f64 / self.rate)
        });
    }
}

/// A request in flight, as the stall watchdog reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InFlight {
    /// Its key.
    pub key: RecordKey,
    /// How long it has been running.
    pub running_for: Duration,
}

/// Something that happened during a run.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// The journal is open and the plan is known.
    Started(Progress),
    /// One request finished and its record is in the journal.
    RecordDone {
        /// Its key.
        key: RecordKey,
        /// Its verdict, `None` for a failed request.
        verdict: Option<Verdict>,
        /// Progress after it.
        progress: Progress,
    },
    /// Sent every [`crate::run::RunConfig::progress_every`].
    Progress(Progress),
    /// Nothing completed for [`crate::run::RunConfig::stall_after`].
    Stalled {
        /// Time since the last completion (or the start).
        idle: Duration,
        /// What is in flight, longest-running first.
        in_flight: Vec<InFlight>,
    },
    /// The run ended.
    Finished {
        /// Final counts.
        counts: RunCounts,
        /// Why it ended.
        stopped: StopCause,
    },
}

/// Receives [`Event`]s. Called from the runner's task: keep it quick.
///
/// Any `Fn(&Event) + Send + Sync` closure is an observer.
pub trait Observer: Send + Sync {
    /// Handles one event.
    fn on_event(&self, event: &Event);
}

impl<F: Fn(&Event) + Send + Sync> Observer for F {
    fn on_event(&self, event: &Event) {
        self(event)
    }
}
