//! The test clock: time since the test started less the time it was
//! paused, which every executor schedules by (stages, spans, arrivals), so
//! a pause holds the whole test still and paused time is never counted as
//! late or dropped iterations. Reading it is two atomic loads.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::watch;

/// Not paused.
const RUNNING: u64 = u64::MAX;

/// The run's test clock, shared by every executor.
pub struct TestClock {
    /// Set once, when the init phase is over.
    start: OnceLock<Instant>,
    /// Nanoseconds paused before the current pause.
    paused_total: AtomicU64,
    /// Test time (ns) at which the current pause began, or [`RUNNING`].
    paused_at: AtomicU64,
    /// Paused or not, for tasks that wait for a resume; pause and resume
    /// change it and the atomics above under its lock, so they always agree.
    state: watch::Sender<bool>,
}

impl Default for TestClock {
    fn default() -> Self {
        Self::new()
    }
}

impl TestClock {
    /// A clock that reads zero until [`TestClock::start`].
    pub fn new() -> Self {
        TestClock {
            start: OnceLock::new(),
            paused_total: AtomicU64::new(0),
            paused_at: AtomicU64::new(RUNNING),
            state: watch::Sender::new(false),
        }
    }

    /// Starts test time at `at` (once; later calls change nothing).
    pub fn start(&self, at: Instant) {
        let _ = self.start.set(at);
    }

    /// Real time since the start.
    fn real(&self) -> Duration {
        self.start.get().map_or(Duration::ZERO, Instant::elapsed)
    }

    /// Test time now: stands still while paused.
    pub fn now(&self) -> Duration {
        self.at(Instant::now())
    }

    /// Test time at `instant`, a reading of the clock just taken (so a
    /// caller that needs both reads the OS clock once).
    pub fn at(&self, instant: Instant) -> Duration {
        match self.paused_at.load(Ordering::Acquire) {
            RUNNING => {
                let real = self.start.get().map_or(Duration::ZERO, |start| instant.saturating_duration_since(*start));
                real.saturating_sub(Duration::from_nanos(self.paused_total.load(Ordering::Acquire)))
            }
            at => Duration::from_nanos(at),
        }
    }

    /// The real instant at which test time reaches (or reached) `at` if
    /// nothing pauses the test from now on (while paused: if it resumed now).
    pub fn instant_of(&self, at: Duration) -> Instant {
        let (now, real) = (self.now(), Instant::now());
        match at.checked_sub(now) {
            Some(ahead) => real + ahead,
            None => real.checked_sub(now - at).unwrap_or(real),
        }
    }

    /// Sleeps until test time reaches `at`, longer if the test is paused meanwhile.
    pub async fn sleep_until(&self, at: Duration) {
        loop {
            self.resumed().await;
            if self.now() >= at {
                return;
            }
            tokio::time::sleep_until(self.instant_of(at).into()).await;
        }
    }

    pub fn is_paused(&self) -> bool {
        self.paused_at.load(Ordering::Acquire) != RUNNING
    }

    /// Returns once the test is not paused (at once if it is not).
    pub async fn resumed(&self) {
        let mut state = self.state.subscribe();
        // Err: the clock is gone, and with it the run.
        let _ = state.wait_for(|paused| !paused).await;
    }

    /// Pauses the test; false if it already was.
    pub fn pause(&self) -> bool {
        self.state.send_if_modified(|paused| {
            if *paused {
                return false;
            }
            self.paused_at.store(self.now().as_nanos() as u64, Ordering::Release);
            *paused = true;
            true
        })
    }

    /// Resumes the test; false if it was not paused.
    pub fn resume(&self) -> bool {
        self.state.send_if_modified(|paused| {
            if !*paused {
                return false;
            }
            // Test time resumes where it stood: all real time since then was paused.
            let at = self.paused_at.load(Ordering::Acquire);
            let real = self.real().as_nanos() as u64;
            self.paused_total.store(real.saturating_sub(at), Ordering::Release);
            self.paused_at.store(RUNNING, Ordering::Release);
            *paused = false;
            true
        })
    }

    /// Real time spent paused so far.
    pub fn paused_for(&self) -> Duration {
        self.real().saturating_sub(self.now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_sleeper_waits_out_a_pause() {
        let clock = std::sync::Arc::new(TestClock::new());
        clock.start(Instant::now());
        assert!(clock.pause());
        assert!(!clock.pause(), "already paused");
        let due = clock.now() + Duration::from_millis(10);
        let sleeper = tokio::spawn({
            let clock = clock.clone();
            async move { clock.sleep_until(due).await }
        });
        // However slow the machine, test time cannot reach `due` while paused.
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!sleeper.is_finished());
        assert!(clock.resume());
        assert!(!clock.resume(), "not paused");
        sleeper.await.unwrap();
        assert!(clock.now() >= due);
    }

    #[test]
    fn test_time_stands_still_while_paused_and_goes_on_from_there() {
        let clock = TestClock::new();
        clock.start(Instant::now() - Duration::from_secs(10));
        assert!(clock.pause());
        let at_pause = clock.now();
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(clock.now(), at_pause);
        assert!(clock.paused_for() >= Duration::from_millis(300));
        clock.resume();
        // Without the pause subtracted it would be 300 ms on.
        let after = clock.now();
        assert!(after >= at_pause && after < at_pause + Duration::from_millis(200), "{after:?} vs {at_pause:?}");
    }
}
