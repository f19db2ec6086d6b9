//! A request between its task and the VU waiting for it. Each request runs
//! on a task of its own, so the exchange's deep poll stack runs on a worker
//! thread's stack rather than the VU's fiber stack, whose touched pages stay
//! resident while the VU lives (measured 40 KiB per VU on the fiber, 8 KiB
//! off it). When the VU stops waiting (its iteration was cut: graceful-stop
//! overtime, hard stop, Ctrl-C), the task is aborted and exactly one side
//! records the attempt in flight: the waiting side, at once, as failed with
//! `error:interrupted` when some of it was written (the server may count
//! it); nobody when none of it was, since its gate is sealed and none of it
//! ever will be.

use std::pin::Pin;
use std::sync::{Arc, Mutex};

use super::io::IoStats;
use super::record::{INTERRUPTED, Label};
use super::target::Target;
use super::unsettled::Verdict;
use super::{HttpCtx, VuHttp};
use crate::bindings::http::{Error as HttpError, Request, Response};

/// One guest request's labels and the state of its current attempt.
pub struct InFlight {
    /// The guest's `name`, for every hop's metrics.
    pub name: Option<String>,
    /// The guest's tags, for every hop's metrics.
    pub tags: Vec<(String, String)>,
    /// The VU's iteration that sent it, for `--http-debug`.
    pub iteration: u32,
    attempt: Mutex<AttemptState>,
}

enum AttemptState {
    /// No attempt on the wire: between hops, or not started.
    Idle,
    Sending(Sending),
    /// The VU stopped waiting: nothing more may be sent or recorded.
    Abandoned,
}

/// The attempt on the wire, with what its metrics need.
pub struct Sending {
    pub method: http::Method,
    pub target: Arc<Target>,
    pub io: Arc<IoStats>,
}

/// What the task returns when the VU stopped waiting; nobody reads it.
pub fn interrupted() -> HttpError {
    HttpError::Other("request interrupted".into())
}

impl InFlight {
    /// Takes the request's name and tags; the rest goes to the task.
    fn new(request: &mut Request, iteration: u32) -> Arc<Self> {
        Arc::new(InFlight {
            name: request.name.take(),
            tags: std::mem::take(&mut request.tags),
            iteration,
            attempt: Mutex::new(AttemptState::Idle),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, AttemptState> {
        self.attempt.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Publishes the attempt about to be sent (its `io` gate already open);
    /// false when the VU stopped waiting: send nothing.
    pub fn start(&self, sending: Sending) -> bool {
        let mut state = self.state();
        if matches!(*state, AttemptState::Abandoned) {
            return false;
        }
        *state = AttemptState::Sending(sending);
        true
    }

    /// Takes the attempt back: true when this task is to record it; false
    /// when the waiting side already did (or had nothing to record).
    /// Callers record with no `.await` in between, so an abort cannot fall
    /// between the two.
    pub fn finish(&self) -> bool {
        let mut state = self.state();
        match *state {
            AttemptState::Abandoned => false,
            _ => {
                *state = AttemptState::Idle;
                true
            }
        }
    }

    fn abandon(&self) -> Option<Sending> {
        match std::mem::replace(&mut *self.state(), AttemptState::Abandoned) {
            AttemptState::Sending(sending) => Some(sending),
            _ => None,
        }
    }
}

impl HttpCtx {
    /// Sends `request` on a task of its own (boxed before it moves) and
    /// waits for it; see the module doc for what happens when this future
    /// is dropped first. `iteration` is the VU's, for `--http-debug`.
    pub async fn send(
        &self,
        mut request: Request,
        iteration: u32,
        verdict: Verdict,
    ) -> Result<(Response, Option<u32>), HttpError> {
        let inflight = InFlight::new(&mut request, iteration);
        let (vu, task_side) = (self.0.clone(), inflight.clone());
        let exchange: Pin<Box<dyn Future<Output = _> + Send>> =
            Box::pin(async move { vu.send(request, &task_side, verdict).await });
        let task = tokio::spawn(exchange);
        let _cut = CutGuard { vu: &self.0, inflight: &inflight, task: task.abort_handle() };
        task.await.unwrap_or_else(|err| Err(HttpError::Other(format!("request task failed: {err}"))))
    }
}

/// Dropped with the waiting side: after the request settled (nothing to
/// do), or when the VU stopped waiting (abort, and record what was sent).
struct CutGuard<'a> {
    vu: &'a VuHttp,
    inflight: &'a InFlight,
    task: tokio::task::AbortHandle,
}

impl Drop for CutGuard<'_> {
    fn drop(&mut self) {
        self.task.abort();
        if !self.task.is_finished() {
            self.vu.shared.cut_while_running(self.task.clone());
        }
        let Some(sending) = self.inflight.abandon() else { return };
        if sending.io.seal() {
            let name = self.inflight.name.as_deref().unwrap_or_else(|| sending.target.name());
            let label = Label { method: &sending.method, name, tags: &self.inflight.tags };
            self.vu.record_failure(&label, INTERRUPTED, sending.io.take_bytes());
        }
    }
}
