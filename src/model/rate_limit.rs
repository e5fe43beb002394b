//! [`RateLimit`]: requests per minute and tokens per minute, with the
//! `governor` crate's GCRA limiter.
//!
//! Tokens are not known before a call. Before sending, the wrapper reserves
//! an estimate (a quarter of the prompt's characters plus the request's
//! `max_tokens`); after the answer, any usage beyond the estimate is charged
//! too, and the call returns only once that excess fits in the budget, which
//! slows the caller down to the limit. Usage below the estimate is not given
//! back (governor has no refund), so with generous `max_tokens` the pace is
//! conservative; a limiter with refunds would lift that.

use std::num::NonZeroU32;
use std::sync::Arc;

use async_trait::async_trait;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use super::{ChatRequest, ClientInfo, ErrorKind, ModelClient, ModelError, Response};

/// The limits of a [`RateLimit`]; `None` leaves that dimension unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateLimits {
    /// Requests started per minute.
    pub requests_per_minute: Option<u32>,
    /// Input plus output tokens per minute.
    pub tokens_per_minute: Option<u32>,
}

/// Paces calls of the wrapped client to [`RateLimits`]. Clones share the
/// budget.
#[derive(Clone)]
pub struct RateLimit<C> {
    inner: C,
    limits: RateLimits,
    requests: Option<Arc<DefaultDirectRateLimiter>>,
    tokens: Option<(Arc<DefaultDirectRateLimiter>, NonZeroU32)>,
}

impl<C> std::fmt::Debug for RateLimit<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimit")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

fn nonzero(n: u32, what: &str) -> Result<NonZeroU32, ModelError> {
    NonZeroU32::new(n)
        .ok_or_else(|| ModelError::new(ErrorKind::Config, format!("{what} per minute must be > 0")))
}

impl<C> RateLimit<C> {
    /// Wraps `inner`; a zero limit is a [`ErrorKind::Config`] error.
    pub fn new(inner: C, limits: RateLimits) -> Result<Self, ModelError> {
        let requests = limits
            .requests_per_minute
            .map(|n| nonzero(n, "requests"))
            .transpose()?
            .map(|n| Arc::new(RateLimiter::direct(Quota::per_minute(n))));
        let tokens = limits
            .tokens_per_minute
            .map(|n| nonzero(n, "tokens"))
            .transpose()?
            .map(|n| (Arc::new(RateLimiter::direct(Quota::per_minute(n))), n));
        Ok(RateLimit {
            inner,
            limits,
            requests,
            tokens,
        })
    }
}

/// The token estimate reserved before a call.
fn estimate(request: &ChatRequest) -> u32 {
    let chars: usize = request
        .messages
        .iter()
        .map(|m| m.content.chars().count())
        .sum::<usize>()
        + request.system.as_ref().map_or(0, |s| s.chars().count());
    let input = chars.div_ceil(4) as u64;
    (input + u64::from(request.params.max_tokens.unwrap_or(0))).min(u64::from(u32::MAX)) as u32
}

async fn take(limiter: &DefaultDirectRateLimiter, n: u32, burst: NonZeroU32) {
    // A single call larger than the whole per-minute budget waits for a full
    // budget instead of failing.
    if let Some(n) = NonZeroU32::new(n.min(burst.get())) {
        // Cannot fail: n is at most the burst size.
        let _ = limiter.until_n_ready(n).await;
    }
}

#[async_trait]
impl<C: ModelClient> ModelClient for RateLimit<C> {
    fn info(&self) -> ClientInfo {
        self.inner.info()
    }

    async fn complete(&self, request: &ChatRequest) -> Result<Response, ModelError> {
        if let Some(r) = &self.requests {
            r.until_ready().await;
        }
        let reserved = estimate(request);
        if let Some((t, burst)) = &self.tokens {
            take(t, reserved, *burst).await;
        }
        let result = self.inner.complete(request).await;
        if let (Some((t, burst)), Ok(r)) = (&self.tokens, &result)
            && let Some(u) = r.usage
        {
            let used = (u.input_tokens + u.output_tokens).min(u64::from(u32::MAX)) as u32;
            if used > reserved {
                take(t, used - reserved, *burst).await;
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Message, Params};

    #[test]
    fn estimate_counts_chars_and_max_tokens() {
        let r = ChatRequest {
            prompt_id: "p".into(),
            sample: 0,
            system: Some("abcd".into()),
            messages: vec![Message::user("abcdefgh")],
            params: Params {
                max_tokens: Some(100),
                ..Params::default()
            },
        };
        // 12 characters / 4 = 3 input tokens, plus 100.
        assert_eq!(estimate(&r), 103);
    }
}
