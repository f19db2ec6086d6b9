//! Executors and VUs: turns a validated plan into running VU tasks (k6's
//! executor semantics, graceful stop and ramp-down, execution segments,
//! Locust's think time), drives each VU's iterations and re-instantiates
//! VUs that trap. It does not aggregate metrics or print (that is
//! `metrics` and `output`).

mod clock;
mod executor;
mod instance;
mod live;
mod runner;
mod schedule;
mod segment;
mod tasks;
mod think;

pub use clock::TestClock;
pub use executor::{ExecutorPlan, TaskFailed, prepare, run_executor};
pub use instance::{Call, CallLimits, Instance, VuError, VuFactory, describe, outline, script_options};
pub use live::{Live, MAX_FACTOR, Scale, ScaleError};
pub use runner::{ExecCtx, ScenarioCode, Stops, VuRunner};
pub use schedule::{Ramp, ScaledArrivals, Stage};
pub use segment::Segment;
pub use tasks::TaskPicker;
pub use think::ThinkTime;
