//! [`Timeout`]: bounds the whole call of a wrapped client.
//!
//! The HTTP clients also have their own whole-request and stalled-body
//! (read) timeouts; this wrapper bounds anything, a stack of wrappers
//! included. Put it inside [`super::retry::Retry`] to bound each attempt, or
//! outside to bound the call with all its retries.

use std::time::Duration;

use async_trait::async_trait;

use super::{ChatRequest, ClientInfo, ErrorKind, ModelClient, ModelError, Response};

/// Fails a call with [`ErrorKind::Timeout`] when the wrapped client has not
/// answered within the limit. The abandoned call is dropped (cancelled).
#[derive(Debug, Clone)]
pub struct Timeout<C> {
    inner: C,
    limit: Duration,
}

impl<C> Timeout<C> {
    /// Wraps `inner` with a limit of `limit` per call.
    pub fn new(inner: C, limit: Duration) -> Self {
        Timeout { inner, limit }
    }
}

#[async_trait]
impl<C: ModelClient> ModelClient for Timeout<C> {
    fn info(&self) -> ClientInfo {
        self.inner.info()
    }

    async fn complete(&self, request: &ChatRequest) -> Result<Response, ModelError> {
        match tokio::time::timeout(self.limit, self.inner.complete(request)).await {
            Ok(r) => r,
            Err(_) => Err(ModelError::new(
                ErrorKind::Timeout,
                format!("no answer within {} ms", self.limit.as_millis()),
            )),
        }
    }
}
