//! The collector: a thread of its own (never a tokio worker) that drains
//! the sink's shards into the run's aggregate about once a second, samples
//! the `vus` gauges, hands the drained points to the streamed outputs,
//! shows progress and the changes made to the run, and checks the abortOnFail
//! thresholds.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::exec::Live;
use crate::metrics::{Aggregate, Sample, Sink, TagSet, Threshold, evaluate, names};
use crate::output::{ChangeLog, PointSender, Progress};

/// How often the collector drains the shards and progress is shown.
const COLLECT_EVERY: Duration = Duration::from_secs(1);

/// What the collector needs to watch a run.
pub struct Watch {
    pub sink: Arc<Sink>,
    /// The run's aggregate, shared so that the run keeps it whatever
    /// becomes of the collector.
    pub aggregate: Arc<Mutex<Aggregate>>,
    pub points: PointSender,
    pub progress: Progress,
    /// The abortOnFail thresholds; the first to fail cancels `interrupt`.
    pub abort_thresholds: Vec<Threshold>,
    pub interrupt: CancellationToken,
    /// VUs taking part right now, and VUs held (more after a live
    /// scale-up), over every scenario.
    pub vus: Box<dyn Fn() -> (u32, u32) + Send>,
    /// Changes made during the run, shown and streamed as they come.
    pub changes: Arc<ChangeLog>,
    /// The test clock: thresholds judge rates over test time, pauses excluded.
    pub live: Arc<Live>,
}

/// A running collector.
pub struct Collector {
    stop: mpsc::Sender<()>,
    thread: JoinHandle<Option<String>>,
}

impl Collector {
    /// Starts collecting; the first tick is one period after `clock`.
    pub fn start(watch: Watch, clock: Instant) -> std::io::Result<Collector> {
        let (stop, stopped) = mpsc::channel();
        let thread =
            std::thread::Builder::new().name("vespid-collect".into()).spawn(move || collect(watch, clock, &stopped))?;
        Ok(Collector { stop, thread })
    }

    /// Stops the ticks after a last drain; the abortOnFail threshold that
    /// stopped the run, if one did, or `Err` if the collector died (the
    /// aggregate it shared still holds what it drained).
    pub fn finish(self) -> Result<Option<String>, ()> {
        let _ = self.stop.send(());
        self.thread.join().map_err(|_| ())
    }
}

/// The aggregate, even if a thread died holding it: it is only ever
/// merged into, so what it holds is still true.
pub fn lock(aggregate: &Mutex<Aggregate>) -> MutexGuard<'_, Aggregate> {
    aggregate.lock().unwrap_or_else(|e| e.into_inner())
}

fn collect(mut watch: Watch, clock: Instant, stopped: &mpsc::Receiver<()>) -> Option<String> {
    // Run-wide, as k6's: no scenario tag.
    let vu_tags = watch.sink.intern(TagSet::new::<&str, &str>([]));
    let record_vus = |sink: &Sink, active: u32, max: u32| {
        let samples = [Sample::new(names::VUS, f64::from(active)), Sample::new(names::VUS_MAX, f64::from(max))];
        sink.record(0, &vu_tags, &vu_tags, &samples);
    };
    let mut ticks = 0u32;
    let mut changes_seen = 0;
    let mut aborted_by = None;
    let mut next = clock + COLLECT_EVERY;
    // Until told to stop (or the run's side hung up).
    while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(next.saturating_duration_since(Instant::now())) {
        next += COLLECT_EVERY;
        ticks += 1;
        let (active, held) = (watch.vus)();
        record_vus(&watch.sink, active, held);
        let mut aggregate = lock(&watch.aggregate);
        watch.points.send(watch.sink.drain_into(&mut aggregate));
        watch.progress.update(&aggregate, active, held);
        changes_seen = show_changes(&watch, changes_seen);
        if aborted_by.is_none() && !watch.abort_thresholds.is_empty() {
            aborted_by = failed_abort_threshold(&watch, &aggregate, watch.live.clock.now());
            if let Some(threshold) = &aborted_by {
                eprintln!("threshold {threshold} failed with abortOnFail: stopping the run");
                watch.interrupt.cancel();
            }
        }
    }
    if ticks == 0 {
        // A run shorter than one tick still reports its VUs.
        let (_, held) = (watch.vus)();
        record_vus(&watch.sink, held, held);
    }
    show_changes(&watch, changes_seen);
    watch.progress.finish();
    aborted_by
}

/// Prints the changes after the first `seen` and streams them as markers;
/// returns how many have been shown.
fn show_changes(watch: &Watch, seen: usize) -> usize {
    let new = watch.changes.since(seen);
    for change in &new {
        watch.progress.note(&change.line());
        watch.points.marker(change.clone());
    }
    seen + new.len()
}
/// The first abortOnFail threshold, past its delayAbortEval, that fails on
/// the samples so far (one without samples yet is not a reason to abort).
fn failed_abort_threshold(watch: &Watch, aggregate: &Aggregate, elapsed: Duration) -> Option<String> {
    let due: Vec<Threshold> =
        watch.abort_thresholds.iter().filter(|t| elapsed >= t.delay_abort_eval).cloned().collect();
    evaluate(&due, aggregate, &watch.sink.registry, elapsed)
        .into_iter()
        .find(|outcome| !outcome.passed && outcome.observed.is_some())
        .map(|outcome| format!("{} '{}'", outcome.threshold.series_name(), outcome.threshold.expression))
}
