//! Live changes to a running test's load: the scale of each scenario (a
//! factor on its VU targets or its arrival rate, or a fixed VU count), the
//! VU capacity scale-ups draw on, and the test clock that pauses. The
//! executors follow these; the control API sets them.

use std::sync::atomic::{AtomicU32, Ordering};

use super::{ExecCtx, ExecutorPlan, TestClock};

/// The most a scale factor may be.
pub const MAX_FACTOR: f64 = 1000.0;

/// How a scenario's planned load is changed while it runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale {
    /// Multiplies the VU targets (constant-vus, ramping-vus stages) or the
    /// arrival rate (arrival-rate executors); later stages are scaled too.
    pub factor: f64,
    /// A fixed VU count instead of the targets (looping executors only).
    pub vus: Option<u32>,
}

impl Default for Scale {
    fn default() -> Self {
        Scale { factor: 1.0, vus: None }
    }
}

/// What the whole run shares for live control.
pub struct Live {
    pub clock: TestClock,
    /// VUs that scale-ups may add beyond the plan's, over every scenario.
    spare_vus: AtomicU32,
    /// The id of the next VU added beyond the plan.
    next_id: AtomicU32,
    /// Held while a scale change takes its VUs, so two at once cannot both
    /// count the same extra VUs as missing.
    scaling: std::sync::Mutex<()>,
}

impl Live {
    /// `spare_vus` may be added beyond the plan, with ids from `first_extra_id`.
    pub fn new(clock: TestClock, spare_vus: u32, first_extra_id: u32) -> Self {
        Live {
            clock,
            spare_vus: AtomicU32::new(spare_vus),
            next_id: AtomicU32::new(first_extra_id),
            scaling: std::sync::Mutex::new(()),
        }
    }

    /// A VU id no other VU has.
    pub fn extra_id(&self) -> u32 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Takes `count` spare VUs; false (and nothing taken) if there are fewer.
    fn reserve(&self, count: u32) -> bool {
        self.spare_vus.fetch_update(Ordering::AcqRel, Ordering::Acquire, |spare| spare.checked_sub(count)).is_ok()
    }

    fn spare(&self) -> u32 {
        self.spare_vus.load(Ordering::Acquire)
    }
}

/// Why a scale change cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum ScaleError {
    #[error("a scale factor must be between 0 and {MAX_FACTOR}, not {0}")]
    Factor(f64),
    #[error(
        "{0} runs a fixed number of iterations: scale applies to constant-vus, ramping-vus and the arrival-rate executors"
    )]
    FixedIterations(&'static str),
    #[error("{0} starts iterations at a rate: scale it with a factor, not a VU count")]
    VusOfRate(&'static str),
    #[error(
        "that needs {needed} VUs, {more} more than the scenario holds, and the run has {spare} to spare: start it with a higher --max-vus"
    )]
    Capacity { needed: u32, more: u32, spare: u32 },
}

impl ExecCtx {
    /// The scenario's scale now.
    pub fn scale(&self) -> Scale {
        *self.scale.borrow()
    }

    /// Watches the scenario's scale.
    pub fn scale_changes(&self) -> tokio::sync::watch::Receiver<Scale> {
        self.scale.subscribe()
    }

    /// Applies `scale` from now on, taking the spare VUs it needs.
    pub fn rescale(&self, scale: Scale) -> Result<(), ScaleError> {
        if !(0.0..=MAX_FACTOR).contains(&scale.factor) {
            return Err(ScaleError::Factor(scale.factor));
        }
        let name = self.executor.name();
        let _one_at_a_time = self.live.scaling.lock().unwrap_or_else(|e| e.into_inner());
        match &self.executor {
            ExecutorPlan::PerVuIterations { .. } | ExecutorPlan::SharedIterations { .. } => {
                return Err(ScaleError::FixedIterations(name));
            }
            ExecutorPlan::ConstantArrivalRate { .. } | ExecutorPlan::RampingArrivalRate { .. } => {
                if scale.vus.is_some() {
                    return Err(ScaleError::VusOfRate(name));
                }
            }
            ExecutorPlan::ConstantVus { .. } | ExecutorPlan::RampingVus { .. } => {
                let needed = self.vus_needed(scale);
                let more = needed.saturating_sub(self.executor.max_vus()).saturating_sub(self.extra_vus());
                if more > 0 && !self.live.reserve(more) {
                    return Err(ScaleError::Capacity { needed, more, spare: self.live.spare() });
                }
                self.extra_vus.fetch_add(more, Ordering::AcqRel);
            }
        }
        self.scale.send_replace(scale);
        Ok(())
    }

    /// VUs the scenario may be active with at `scale`, at its peak.
    pub fn vus_needed(&self, scale: Scale) -> u32 {
        match (scale.vus, self.executor.vu_ramp()) {
            (Some(vus), _) => vus,
            (None, Some(ramp)) => ramp.scaled_peak(scale.factor),
            (None, None) => self.executor.max_vus(),
        }
    }

    /// Whether a scale factor applies (not to the fixed-iteration executors).
    pub fn scalable(&self) -> bool {
        !matches!(self.executor, ExecutorPlan::PerVuIterations { .. } | ExecutorPlan::SharedIterations { .. })
    }

    /// VUs taken beyond the plan's for this scenario.
    pub fn extra_vus(&self) -> u32 {
        self.extra_vus.load(Ordering::Acquire)
    }
}
