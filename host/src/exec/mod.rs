//! Executors and VUs: turns a validated plan into running VU tasks (k6's
//! executor semantics, graceful stop), drives each VU's iterations and
//! re-instantiates VUs that trap. It does not aggregate metrics or print
//! (that is `metrics` and `output`).

mod error_log;
mod executor;
mod vu;

pub use error_log::ErrorLog;
pub use executor::{ExecutorPlan, ExecutorTimes, run_executor};
pub use vu::{ExecCtx, TaskPicker, VuFactory};
