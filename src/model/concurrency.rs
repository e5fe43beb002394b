//! [`ConcurrencyLimit`]: at most N calls of the wrapped client at once.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::Semaphore;

use super::{ChatRequest, ClientInfo, ErrorKind, ModelClient, ModelError, Response};

/// Lets at most `max` calls through to the wrapped client at a time; the
/// others wait their turn (first come, first served). Clones share the
/// limit.
#[derive(Debug, Clone)]
pub struct ConcurrencyLimit<C> {
    inner: C,
    permits: Arc<Semaphore>,
    max: usize,
}

impl<C> ConcurrencyLimit<C> {
    /// Wraps `inner` with a limit of `max` (at least 1) calls in flight.
    pub fn new(inner: C, max: usize) -> Self {
        let max = max.max(1);
        ConcurrencyLimit {
            inner,
            permits: Arc::new(Semaphore::new(max)),
            max,
        }
    }

    /// Calls in flight right now.
    pub fn in_flight(&self) -> usize {
        self.max - self.permits.available_permits()
    }
}

#[async_trait]
impl<C: ModelClient> ModelClient for ConcurrencyLimit<C> {
    fn info(&self) -> ClientInfo {
        self.inner.info()
    }

    async fn complete(&self, request: &ChatRequest) -> Result<Response, ModelError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| ModelError::new(ErrorKind::Other, "concurrency limit closed"))?;
        self.inner.complete(request).await
    }
}
