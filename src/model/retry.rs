//! [`Retry`]: tries a call again when the failure may pass (429, 5xx, 529,
//! connection failures, timeouts), with exponential backoff, jitter and the
//! server's `Retry-After`, within a bound on attempts and on total time.

use std::hash::{Hash, Hasher};
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use super::{ChatRequest, ClientInfo, ModelClient, ModelError, Response};

tokio::task_local! {
    static ATTEMPT: u32;
}

/// The attempt number (1-based) of the call running in this task, as set by
/// an enclosing [`Retry`]; 1 outside one. Clients put it in their span.
pub fn current_attempt() -> u32 {
    ATTEMPT.try_with(|a| *a).unwrap_or(1)
}

/// How [`Retry`] retries.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Most attempts in all, the first one included (at least 1).
    pub max_attempts: u32,
    /// Backoff before the second attempt.
    pub initial_backoff: Duration,
    /// Backoff growth per attempt.
    pub multiplier: f64,
    /// Upper bound on one computed backoff (a server's `Retry-After` may ask
    /// for more; see [`RetryPolicy::max_retry_after`]).
    pub max_backoff: Duration,
    /// Fraction of each backoff taken off at random, in `[0, 1]`: 0 waits the
    /// full backoff, 1 waits anywhere between 0 and the full backoff.
    pub jitter: f64,
    /// Give up rather than start a wait that would end later than this after
    /// the first attempt began.
    pub max_elapsed: Duration,
    /// Give up when a server asks to wait longer than this.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    /// 5 attempts, 1 s doubling to at most 30 s, half jitter, 5 minutes in
    /// all, `Retry-After` honoured up to 2 minutes.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_secs(1),
            multiplier: 2.0,
            max_backoff: Duration::from_secs(30),
            jitter: 0.5,
            max_elapsed: Duration::from_secs(300),
            max_retry_after: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `next` (2 for the first retry) after `error`,
    /// or `None` when the policy says to stop. `key` seeds the jitter.
    pub fn wait(&self, next: u32, error: &ModelError, key: u64) -> Option<Duration> {
        if next > self.max_attempts.max(1) || !error.is_retryable() {
            return None;
        }
        let exp = self.multiplier.max(1.0).powi(next.saturating_sub(2) as i32);
        let base = self.initial_backoff.as_secs_f64() * exp;
        let base = base.min(self.max_backoff.as_secs_f64());
        let u = unit_interval(key, next);
        let backoff = base * (1.0 - self.jitter.clamp(0.0, 1.0) * u);
        let mut wait = Duration::from_secs_f64(backoff.max(0.0));
        if let Some(ms) = error.retry_after_ms {
            let asked = Duration::from_millis(ms);
            if asked > self.max_retry_after {
                return None;
            }
            wait = wait.max(asked);
        }
        Some(wait)
    }
}

/// A deterministic value in `[0, 1)` from the request key and attempt, so
/// that runs are reproducible while concurrent requests spread out.
fn unit_interval(key: u64, attempt: u32) -> f64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (key, attempt).hash(&mut h);
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// Retries a wrapped client by a [`RetryPolicy`]. The attempt count lands in
/// [`Response::attempts`] or [`ModelError::attempts`].
///
/// ```
/// use refusal_bias::model::replay::ReplayClient;
/// use refusal_bias::model::retry::{Retry, RetryPolicy};
///
/// let client = Retry::new(ReplayClient::new("empty"), RetryPolicy::default());
/// # let _ = client;
/// ```
#[derive(Debug, Clone)]
pub struct Retry<C> {
    inner: C,
    policy: RetryPolicy,
}

impl<C> Retry<C> {
    /// Wraps `inner`.
    pub fn new(inner: C, policy: RetryPolicy) -> Self {
        Retry { inner, policy }
    }

    /// The wrapped client.
    pub fn inner(&self) -> &C {
        &self.inner
    }
}

#[async_trait]
impl<C: ModelClient> ModelClient for Retry<C> {
    fn info(&self) -> ClientInfo {
        self.inner.info()
    }

    async fn complete(&self, request: &ChatRequest) -> Result<Response, ModelError> {
        let started = Instant::now();
        let key = {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            (&request.prompt_id, request.sample).hash(&mut h);
            h.finish()
        };
        let mut attempt = 1u32;
        loop {
            let result = ATTEMPT.scope(attempt, self.inner.complete(request)).await;
            let error = match result {
                Ok(mut r) => {
                    r.attempts = attempt;
                    return Ok(r);
                }
                Err(e) => e,
            };
            let wait = self.policy.wait(attempt + 1, &error, key);
            let wait = wait.filter(|w| started.elapsed() + *w <= self.policy.max_elapsed);
            let Some(wait) = wait else {
                let mut error = error;
                error.attempts = attempt;
                return Err(error);
            };
            tracing::debug!(
                prompt_id = %request.prompt_id,
                sample = request.sample,
                attempt,
                kind = ?error.kind,
                status = error.status,
                wait_ms = wait.as_millis() as u64,
                "retrying model call"
            );
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ErrorKind;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            jitter: 0.0,
            ..RetryPolicy::default()
        }
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let e = ModelError::status(503, "x");
        let p = policy();
        // 1 s, 2 s, 4 s, 8 s from initial 1 s and multiplier 2.
        let waits: Vec<_> = (2..=5).map(|n| p.wait(n, &e, 7).unwrap()).collect();
        assert_eq!(waits, [1, 2, 4, 8].map(Duration::from_secs));
        assert_eq!(p.wait(6, &e, 7), None, "max_attempts is 5");
        let capped = RetryPolicy {
            max_backoff: Duration::from_secs(3),
            max_attempts: 9,
            ..p
        };
        assert_eq!(capped.wait(5, &e, 7), Some(Duration::from_secs(3)));
    }

    #[test]
    fn never_retries_a_400_and_honours_retry_after() {
        let p = policy();
        assert_eq!(p.wait(2, &ModelError::status(400, "too long"), 1), None);
        assert_eq!(p.wait(2, &ModelError::new(ErrorKind::Decode, "x"), 1), None);
        let mut e = ModelError::status(429, "slow down");
        e.retry_after_ms = Some(7500);
        assert_eq!(p.wait(2, &e, 1), Some(Duration::from_millis(7500)));
        e.retry_after_ms = Some(600_000);
        assert_eq!(p.wait(2, &e, 1), None, "beyond max_retry_after");
    }

    #[test]
    fn jitter_stays_within_bounds() {
        let p = RetryPolicy {
            jitter: 1.0,
            ..RetryPolicy::default()
        };
        let e = ModelError::new(ErrorKind::Timeout, "x");
        let waits: Vec<_> = (0..200).map(|k| p.wait(3, &e, k).unwrap()).collect();
        assert!(waits.iter().all(|w| *w <= Duration::from_secs(2)));
        // Full jitter over 200 keys must not collapse onto one value.
        let distinct: std::collections::HashSet<_> = waits.iter().collect();
        assert!(distinct.len() > 100);
    }
}
