//! The runner: plans the keys, resumes from the journal, sends the requests
//! with bounded concurrency, classifies, journals and summarizes.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

// Tokio's clock, so that tests can pause and advance time.
use tokio::time::Instant;

use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;

use crate::classify::RefusalClassifier;
use crate::error::{Error, Result};
use crate::model::{ChatRequest, ModelClient};
use crate::prompt::Prompt;
use crate::record::{Outcome, Record, RecordKey};
use crate::run::budget::Tracker;
use crate::run::journal::{Journal, JournalHeader, RunIdentity};
use crate::run::progress::{Event, InFlight, Observer, Progress};
use crate::run::shutdown::Shutdown;
use crate::run::{RunConfig, RunCounts, RunSummary, StopCause};

/// How many in-flight requests a stall warning lists.
const STALL_LIST: usize = 10;

/// Runs prompts against models; see the [module docs](crate::run).
#[derive(Clone)]
pub struct Runner {
    config: RunConfig,
    observer: Option<Arc<dyn Observer>>,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("config", &self.config)
            .field("observer", &self.observer.is_some())
            .finish()
    }
}

/// A fixed-size set of job indices.
struct BitSet(Vec<u64>);

impl BitSet {
    fn new(n: usize) -> Self {
        BitSet(vec![0; n.div_ceil(64)])
    }
    fn get(&self, i: usize) -> bool {
        self.0[i / 64] & (1 << (i % 64)) != 0
    }
    fn set(&mut self, i: usize, v: bool) {
        if v {
            self.0[i / 64] |= 1 << (i % 64);
        } else {
            self.0[i / 64] &= !(1 << (i % 64));
        }
    }
    fn count(&self) -> u64 {
        self.0.iter().map(|w| u64::from(w.count_ones())).sum()
    }
}

/// Maps keys to job indices: job = (prompt * models + model) * samples + sample,
/// which is also the output order.
struct Plan {
    prompt_index: HashMap<String, usize>,
    model_index: HashMap<String, usize>,
    models: usize,
    samples: u32,
    total: usize,
}

impl Plan {
    fn new(prompts: &[Prompt], labels: &[String], samples: u32) -> Result<Self> {
        let mut prompt_index = HashMap::with_capacity(prompts.len());
        for (i, p) in prompts.iter().enumerate() {
            if prompt_index.insert(p.id.clone(), i).is_some() {
                return Err(Error::Config(format!(
                    "prompt id `{}` appears more than once; ids must be unique to resume",
                    p.id
                )));
            }
        }
        let mut model_index = HashMap::with_capacity(labels.len());
        for (i, m) in labels.iter().enumerate() {
            if model_index.insert(m.clone(), i).is_some() {
                return Err(Error::Config(format!(
                    "model label `{m}` appears more than once; give each client its own label"
                )));
            }
        }
        let total = prompts
            .len()
            .checked_mul(labels.len())
            .and_then(|n| n.checked_mul(samples as usize))
            .ok_or_else(|| Error::Config("too many prompts x models x samples".into()))?;
        Ok(Plan {
            prompt_index,
            model_index,
            models: labels.len(),
            samples,
            total,
        })
    }

    fn index(&self, key: &RecordKey) -> Option<usize> {
        let p = *self.prompt_index.get(&key.prompt_id)?;
        let m = *self.model_index.get(&key.model)?;
        (key.sample < self.samples)
            .then(|| (p * self.models + m) * self.samples as usize + key.sample as usize)
    }

    fn split(&self, job: usize) -> (usize, usize, u32) {
        let s = self.samples as usize;
        let sample = (job % s) as u32;
        let pm = job / s;
        (pm / self.models, pm % self.models, sample)
    }
}

impl Runner {
    /// A runner with `config`.
    pub fn new(config: RunConfig) -> Self {
        Runner {
            config,
            observer: None,
        }
    }

    /// Sends [`Event`]s to `observer` (a progress bar, say).
    #[must_use]
    pub fn with_observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// The configuration.
    pub fn config(&self) -> &RunConfig {
        &self.config
    }

    fn emit(&self, event: Event) {
        if let Some(o) = &self.observer {
            o.on_event(&event);
        }
    }

    /// Runs every prompt on every model `samples` times, journaling to
    /// `journal` (created, or resumed if it exists).
    ///
    /// Returns a summary even when a budget or `shutdown` stopped the run
    /// early; errors are reserved for a bad configuration (including a
    /// journal from another configuration, unless allowed) and journal I/O.
    /// Failed requests are records, not errors.
    ///
    /// The journal is locked from the start of the call until it returns: a
    /// run on a journal that another run (in this process or another) holds
    /// fails at once with [`Error::Config`] ("journal X is in use by another
    /// run"), before any request is sent.
    ///
    /// Journal writes are plain blocking writes made from this future (one
    /// line per record, an `fsync` at the cadence in [`crate::run::Journal`]).
    pub async fn run(
        &self,
        prompts: &[Prompt],
        models: &[Arc<dyn ModelClient>],
        classifier: Arc<dyn RefusalClassifier>,
        journal: &Path,
        shutdown: Shutdown,
    ) -> Result<RunSummary> {
        let started = Instant::now();
        let cfg = &self.config;
        if cfg.concurrency == 0 {
            return Err(Error::Config("concurrency must be at least 1".into()));
        }
        if cfg.samples == 0 {
            return Err(Error::Config("samples must be at least 1".into()));
        }
        let infos: Vec<_> = models.iter().map(|m| m.info()).collect();
        let labels: Vec<String> = infos.iter().map(|i| i.model.clone()).collect();
        cfg.budget.validate(labels.iter().map(String::as_str))?;
        let plan = Plan::new(prompts, &labels, cfg.samples)?;

        let identity = RunIdentity::new(
            prompts,
            infos,
            cfg.params.clone(),
            cfg.samples,
            cfg.seed,
            classifier.name(),
        );
        let header = JournalHeader::new(identity);

        // Resume: the last journal line for a key decides whether it is done.
        let mut done = BitSet::new(plan.total);
        let mut failed_before = BitSet::new(plan.total);
        let mut seen = BitSet::new(plan.total);
        let mut fresh = BitSet::new(plan.total);
        let mut slots: Vec<Option<Record>> = if cfg.collect_records {
            vec![None; plan.total]
        } else {
            Vec::new()
        };
        let mut counts = RunCounts {
            total: plan.total as u64,
            ..RunCounts::default()
        };
        let (mut writer, info) =
            Journal::resume(journal, &header, cfg.allow_config_mismatch, |record| {
                let Some(i) = plan.index(&record.key()) else {
                    counts.ignored += 1;
                    return;
                };
                if seen.get(i) {
                    counts.superseded += 1;
                }
                seen.set(i, true);
                let failed = matches!(record.outcome, Outcome::Failed { .. });
                let redo = failed && cfg.retry_errors;
                done.set(i, !redo);
                failed_before.set(i, failed);
                // A failed record to retry stays in its slot until superseded,
                // so that a run stopped early still reports it.
                if cfg.collect_records {
                    let mut record = record;
                    let now = &prompts[plan.split(i).0];
                    // Same request, other labels (category, framing, group,
                    // metadata): report with today's labels.
                    if record.prompt != *now
                        && record.prompt.text == now.text
                        && record.prompt.system == now.system
                    {
                        record.prompt = now.clone();
                        counts.relabelled += 1;
                    }
                    slots[i] = Some(record);
                }
            })?;
        writer.guard_with(shutdown.clone());
        if counts.relabelled > 0 {
            tracing::warn!(journal = %journal.display(), relabelled = counts.relabelled,
                "prompt labels changed since these records were journaled; \
                 the summary uses the current labels, the journal keeps the old");
        }
        counts.resumed = done.count();

        let mut progress = Progress {
            total: counts.total,
            resumed: counts.resumed,
            to_run: counts.total - counts.resumed,
            ..Progress::default()
        };
        tracing::info!(
            journal = %journal.display(),
            total = counts.total,
            resumed = counts.resumed,
            to_run = progress.to_run,
            torn_line_dropped = info.torn.is_some(),
            concurrency = cfg.concurrency,
            samples = cfg.samples,
            models = models.len(),
            "run started"
        );
        self.emit(Event::Started(progress));

        let mut tracker = Tracker::new(cfg.budget.clone());
        // The requests are polled inside this future rather than spawned: I/O
        // overlaps fully, but classification runs on one thread at a time.
        // Known shortcoming: spawning jobs on a `JoinSet` would spread
        // expensive classifiers (an LLM judge is I/O, so it is unaffected)
        // over cores, at the cost of `'static` prompts.
        let mut in_flight: FuturesUnordered<BoxFuture<'static, (usize, Record)>> =
            FuturesUnordered::new();
        let mut running: HashMap<usize, Instant> = HashMap::new();
        let mut cursor = 0usize;
        let mut stop: Option<StopCause> = None;
        let mut grace_deadline: Option<Instant> = None;
        let mut last_completion = Instant::now();
        let mut last_stall_warning: Option<Instant> = None;
        let mut last_progress = Instant::now();
        let tick_every = cfg
            .stall_after
            .map_or(Duration::from_secs(1), |s| {
                (s / 2).min(Duration::from_secs(1))
            })
            .max(Duration::from_millis(10));
        let mut tick = tokio::time::interval(tick_every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);

        loop {
            // Start work while there is room, work left, and no reason to stop.
            while stop.is_none() && in_flight.len() < cfg.concurrency {
                while cursor < plan.total && done.get(cursor) {
                    cursor += 1;
                }
                if cursor >= plan.total {
                    break;
                }
                if shutdown.is_triggered() {
                    stop = Some(StopCause::Interrupted);
                    break;
                }
                if let Some(limit) = tracker.exhausted() {
                    tracing::info!(%limit, spent = ?tracker.spent(), "budget reached; not starting more requests");
                    stop = Some(StopCause::Budget(limit));
                    break;
                }
                let job = cursor;
                cursor += 1;
                tracker.start_request();
                running.insert(job, Instant::now());
                in_flight.push(self.job(job, &plan, prompts, models, &labels, &classifier));
            }
            if stop == Some(StopCause::Interrupted)
                && grace_deadline.is_none()
                && let Some(grace) = cfg.shutdown_grace
            {
                grace_deadline = Some(Instant::now() + grace);
            }
            if in_flight.is_empty() {
                break;
            }
            let watching_shutdown = stop.is_none();
            tokio::select! {
                Some((job, record)) = in_flight.next() => {
                    running.remove(&job);
                    last_completion = Instant::now();
                    last_stall_warning = None;
                    tracker.add_usage(&record.model, record.response().and_then(|r| r.usage.as_ref()));
                    writer.append(&record)?;
                    done.set(job, true);
                    fresh.set(job, true);
                    counts.new += 1;
                    if failed_before.get(job) {
                        counts.retried += 1;
                    }
                    progress.done += 1;
                    let verdict = record.verdict();
                    if let Some(e) = record.error() {
                        progress.failed += 1;
                        tracing::debug!(prompt_id = %record.prompt.id, model = %record.model,
                            sample = record.sample, error = %e, "request failed");
                    } else {
                        tracing::trace!(prompt_id = %record.prompt.id, model = %record.model,
                            sample = record.sample, verdict = ?verdict, "record done");
                    }
                    if record.refused() == Some(true) {
                        progress.refusals += 1;
                    }
                    progress.update_rate(started.elapsed());
                    if self.observer.is_some() {
                        self.emit(Event::RecordDone { key: record.key(), verdict, progress });
                    }
                    if cfg.collect_records {
                        slots[job] = Some(record);
                    }
                }
                () = shutdown.triggered(), if watching_shutdown => {
                    tracing::warn!(in_flight = in_flight.len(),
                        "shutdown requested: starting no more requests, waiting for those in flight");
                    stop = Some(StopCause::Interrupted);
                }
                () = sleep_until_opt(grace_deadline) => {
                    tracing::warn!(abandoned = in_flight.len(),
                        "shutdown grace period over: abandoning requests in flight (they run again on resume)");
                    break;
                }
                _ = tick.tick() => {
                    let now = Instant::now();
                    if let Some(after) = cfg.stall_after {
                        let idle = now - last_completion;
                        let due = last_stall_warning.is_none_or(|t| now - t >= after);
                        if idle >= after && due {
                            last_stall_warning = Some(now);
                            let list = stalled_list(&running, &plan, prompts, &labels, now);
                            let shown: Vec<String> = list.iter().take(STALL_LIST).map(|f| {
                                format!("{}/{}#{} ({:.0?})", f.key.prompt_id, f.key.model, f.key.sample, f.running_for)
                            }).collect();
                            tracing::warn!(idle_secs = idle.as_secs_f64(), in_flight = list.len(),
                                oldest = %shown.join(", "), "run stalled: nothing completed recently");
                            self.emit(Event::Stalled { idle, in_flight: list });
                        }
                    }
                    if now - last_progress >= cfg.progress_every {
                        last_progress = now;
                        progress.update_rate(started.elapsed());
                        tracing::info!(done = progress.done, to_run = progress.to_run,
                            failed = progress.failed, refusals = progress.refusals,
                            rate_per_sec = progress.rate,
                            eta_secs = progress.eta.map(|d| d.as_secs()), "run progress");
                        self.emit(Event::Progress(progress));
                    }
                }
            }
        }
        drop(in_flight);
        writer.sync()?;

        let remaining = counts.total - counts.resumed - counts.new;
        let stopped = match stop {
            _ if remaining == 0 => StopCause::Finished,
            Some(cause) => cause,
            // Cannot happen: the loop only ends with work left after a stop.
            None => StopCause::Interrupted,
        };
        match stopped {
            StopCause::Budget(_) => counts.skipped_budget = remaining,
            StopCause::Interrupted => counts.not_run = remaining,
            StopCause::Finished => {}
        }
        let records: Vec<Record> = slots.into_iter().flatten().collect();
        counts.failed = if cfg.collect_records {
            records.iter().filter(|r| r.error().is_some()).count() as u64
        } else {
            // Without the records in memory: this call's failures, plus the
            // journal's that were not run again.
            let kept = (0..plan.total)
                .filter(|&i| failed_before.get(i) && !fresh.get(i))
                .count() as u64;
            kept + progress.failed
        };
        let summary = RunSummary {
            records,
            counts,
            stopped,
            spent: tracker.spent(),
            journal: journal.to_path_buf(),
            elapsed: started.elapsed(),
        };
        tracing::info!(
            stopped = %summary.stopped,
            new = counts.new,
            resumed = counts.resumed,
            failed = counts.failed,
            skipped_budget = counts.skipped_budget,
            not_run = counts.not_run,
            requests = summary.spent.requests,
            tokens = summary.spent.tokens,
            elapsed_secs = summary.elapsed.as_secs_f64(),
            "run finished"
        );
        self.emit(Event::Finished { counts, stopped });
        Ok(summary)
    }

    /// The future of one request: send, classify, make the record.
    fn job(
        &self,
        job: usize,
        plan: &Plan,
        prompts: &[Prompt],
        models: &[Arc<dyn ModelClient>],
        labels: &[String],
        classifier: &Arc<dyn RefusalClassifier>,
    ) -> BoxFuture<'static, (usize, Record)> {
        let (p, m, sample) = plan.split(job);
        let prompt = prompts[p].clone();
        let client = Arc::clone(&models[m]);
        let model = labels[m].clone();
        let classifier = Arc::clone(classifier);
        let params = self.config.seed.params_for(&self.config.params, sample);
        Box::pin(async move {
            let request = ChatRequest::from_prompt(&prompt, sample, params);
            let outcome = match client.complete(&request).await {
                Ok(response) => {
                    let classification = classifier.classify(&prompt, &response).await;
                    Outcome::Answered {
                        response,
                        classification,
                    }
                }
                Err(error) => Outcome::Failed { error },
            };
            (
                job,
                Record {
                    prompt,
                    model,
                    sample,
                    outcome,
                },
            )
        })
    }
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

fn stalled_list(
    running: &HashMap<usize, Instant>,
    plan: &Plan,
    prompts: &[Prompt],
    labels: &[String],
    now: Instant,
) -> Vec<InFlight> {
    let mut list: Vec<InFlight> = running
        .iter()
        .map(|(&job, &since)| {
            let (p, m, sample) = plan.split(job);
            InFlight {
                key: RecordKey {
                    prompt_id: prompts[p].id.clone(),
                    model: labels[m].clone(),
                    sample,
                },
                running_for: now - since,
            }
        })
        .collect();
    list.sort_by(|a, b| b.running_for.cmp(&a.running_for).then(a.key.cmp(&b.key)));
    list
}
