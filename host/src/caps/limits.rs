//! What one VU may use, enforced in its `Store`: a memory cap (the store's
//! resource limiter) and a CPU budget per call into the plugin (checked at
//! every epoch tick; time in async host calls does not count).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use wasmtime::ResourceLimiter;

/// The trap raised when a VU's linear memory would grow past its cap.
#[derive(Debug, thiserror::Error)]
#[error("memory cap of {} exceeded (vu-memory-limit)", size(*.cap))]
pub struct MemoryCapExceeded {
    pub cap: usize,
}

/// The trap raised when a call used more CPU than its budget.
#[derive(Debug, thiserror::Error)]
#[error("used more than its {} of CPU ({option})", humantime::format_duration(*.budget))]
pub struct CpuBudgetExceeded {
    pub budget: Duration,
    /// The run option that sets the budget.
    pub option: &'static str,
}

/// The store's resource limiter: linear memories up to `cap` bytes each.
pub struct MemoryCap {
    cap: usize,
}

impl MemoryCap {
    pub fn new(cap: usize) -> Self {
        MemoryCap { cap }
    }
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        // A trap rather than a failed `memory.grow`: the guest would abort
        // anyway, and this way the cause has a name.
        if desired > self.cap {
            return Err(wasmtime::Error::new(MemoryCapExceeded { cap: self.cap }));
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        // Each element is a pointer: a million is 8 MB, far past any real table.
        Ok(desired <= 1_000_000)
    }
}

/// What a yielding guest resumes through (it restarts the guest's clock).
pub type Resume = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The CPU a call into the plugin has used: the wall time during which its
/// code ran, host calls that wait (HTTP, sleep) excluded. Read at each
/// epoch tick, when the guest also yields to other tasks.
pub struct GuestClock {
    base: Instant,
    /// When the guest's code last started running, in ns since `base`;
    /// 0 while it waits in a host call or has yielded. Shared with the
    /// future a yield resumes through, which sets it.
    running_since: Arc<AtomicU64>,
    used: Duration,
    budget: Duration,
    option: &'static str,
}

impl Default for GuestClock {
    fn default() -> Self {
        GuestClock {
            base: Instant::now(),
            running_since: Arc::default(),
            used: Duration::ZERO,
            budget: Duration::MAX,
            option: "",
        }
    }
}

impl GuestClock {
    /// A call starts now with `budget` of CPU, set by run option `option`.
    pub fn start(&mut self, budget: Duration, option: &'static str) {
        (self.used, self.budget, self.option) = (Duration::ZERO, budget, option);
        self.resume_at(self.now());
    }

    /// The guest calls into the host and waits there.
    pub fn pause(&mut self) {
        self.pause_at(self.now());
    }

    /// The host call returned; the guest's code runs again.
    pub fn resume(&mut self) {
        self.resume_at(self.now());
    }

    /// An epoch tick while the guest runs: the CPU used so far is within
    /// budget and the guest may yield through the returned future (after
    /// which its time counts again), or the budget is spent.
    pub fn tick(&mut self) -> Result<Resume, CpuBudgetExceeded> {
        self.tick_at(self.now())?;
        let (running_since, base) = (self.running_since.clone(), self.base);
        Ok(Box::pin(async move {
            tokio::task::yield_now().await;
            running_since.store(nanos_since(base), Ordering::Relaxed);
        }))
    }

    fn pause_at(&mut self, now: u64) {
        let since = self.running_since.swap(0, Ordering::Relaxed);
        if since != 0 {
            self.used += Duration::from_nanos(now.saturating_sub(since));
        }
    }

    fn resume_at(&self, now: u64) {
        self.running_since.store(now.max(1), Ordering::Relaxed);
    }

    /// Counts the time since the guest last started running; the clock
    /// then stands still until it is resumed.
    fn tick_at(&mut self, now: u64) -> Result<(), CpuBudgetExceeded> {
        self.pause_at(now);
        if self.used > self.budget {
            return Err(CpuBudgetExceeded { budget: self.budget, option: self.option });
        }
        Ok(())
    }

    fn now(&self) -> u64 {
        nanos_since(self.base)
    }
}

/// Nanoseconds since `base`, at least 1 (0 means "not running").
fn nanos_since(base: Instant) -> u64 {
    u64::try_from(base.elapsed().as_nanos()).unwrap_or(u64::MAX).max(1)
}

/// Bytes as the user wrote them: `64 MiB`.
fn size(bytes: usize) -> String {
    match bytes {
        b if b >= 1 << 30 && b % (1 << 30) == 0 => format!("{} GiB", b >> 30),
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_guest_s_own_running_time_counts() {
        const MS: u64 = 1_000_000;
        let mut clock = GuestClock::default();
        clock.start(Duration::from_millis(30), "iteration-cpu-limit");
        clock.resume_at(MS);
        clock.pause_at(11 * MS); // 10 ms of guest code, then a host call
        clock.resume_at(61 * MS); // 50 ms waiting in the host: not counted
        assert!(clock.tick_at(66 * MS).is_ok());
        assert_eq!(clock.used, Duration::from_millis(15));
        // Yielded at the tick: stands still until the yield resumes.
        assert!(clock.tick_at(500 * MS).is_ok());
        assert_eq!(clock.used, Duration::from_millis(15));
        clock.resume_at(500 * MS);
        let exceeded = clock.tick_at(516 * MS).unwrap_err();
        assert_eq!(exceeded.to_string(), "used more than its 30ms of CPU (iteration-cpu-limit)");
    }

    #[test]
    fn the_memory_cap_traps_with_its_size() {
        let mut cap = MemoryCap::new(64 << 20);
        assert!(cap.memory_growing(0, 64 << 20, None).unwrap());
        let err = cap.memory_growing(64 << 20, (64 << 20) + 65536, None).unwrap_err();
        assert_eq!(err.to_string(), "memory cap of 64 MiB exceeded (vu-memory-limit)");
        assert!(err.downcast_ref::<MemoryCapExceeded>().is_some());
    }
}
