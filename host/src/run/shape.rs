//! A script's load shape (Locust's `LoadTestShape`) driving its scenario:
//! about once a second of test time the shape's `tick()`, on the scenario's
//! setup instance, says how many users it wants and how many to start (or
//! stop) per second on the way; the scenario is scaled toward them through
//! the live-scale path (at most the plan's capacity), and ends as at the
//! end of its duration when the shape says none, or fails (a script error).

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::exec::{ExecCtx, Instance, Scale, Stops, VuError};

/// Locust's cadence: a shape ticks once a second.
const TICK: Duration = Duration::from_secs(1);

/// What a shape drives.
pub struct Shaped {
    pub ctx: Arc<ExecCtx>,
    pub stops: Stops,
    /// The scenario's graceful stop: once the shape ends the scenario, its
    /// running iterations get this long before they are cut.
    pub grace: Duration,
    /// The most users the shape may have.
    pub capacity: u32,
}

/// Ticks the shape on `setup` until it ends the scenario or `done` (every
/// executor has ended) is cancelled; gives `setup` back for its teardown,
/// with the error of a tick that failed (which ended the scenario too).
pub async fn drive(mut setup: Instance, shaped: Shaped, done: CancellationToken) -> (Instance, Option<VuError>) {
    let Shaped { ctx, stops, grace, capacity } = shaped;
    let report = |message: &str| ctx.factory.shared.run.errors.report(message);
    let mut users = 0u32;
    let mut capped = false;
    let mut failed = None;
    loop {
        match setup.shape_tick(ctx.live.clock.now()).await {
            Ok(Some((wanted, rate))) => {
                if wanted > capacity && !capped {
                    capped = true;
                    report(&format!(
                        "the load shape asked for {wanted} users, more than the {capacity} the run holds: give -u (or --max-vus)"
                    ));
                }
                users = step_toward(users, wanted.min(capacity), rate);
                if let Err(err) = ctx.rescale(Scale { factor: 1.0, vus: Some(users) }) {
                    report(&format!("the load shape's users: {err}"));
                }
            }
            Ok(None) => break,
            Err(err) => {
                failed = Some(err);
                break;
            }
        }
        tokio::select! {
            _ = done.cancelled() => return (setup, None),
            _ = stops.soft.cancelled() => return (setup, None),
            _ = tokio::time::sleep(TICK) => {}
        }
    }
    // The shape ended the scenario: no iteration starts from now on, and
    // those running are cut after the graceful stop.
    stops.soft.cancel();
    tokio::select! {
        _ = done.cancelled() => {}
        _ = tokio::time::sleep(grace) => stops.hard.cancel(),
    }
    (setup, failed)
}

/// `users` moved toward `wanted` by at most `rate` users (a second's
/// worth; at least one), or at once for a rate that is not positive.
fn step_toward(users: u32, wanted: u32, rate: f64) -> u32 {
    let step = if rate > 0.0 { rate.ceil().min(f64::from(u32::MAX)) as u32 } else { u32::MAX };
    if wanted >= users { wanted.min(users.saturating_add(step)) } else { wanted.max(users.saturating_sub(step)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_move_by_the_spawn_rate_each_tick() {
        assert_eq!(step_toward(0, 10, 4.0), 4);
        assert_eq!(step_toward(8, 10, 4.0), 10);
        assert_eq!(step_toward(10, 3, 2.5), 7);
        assert_eq!(step_toward(0, 10, 0.0), 10, "no rate: at once");
        assert_eq!(step_toward(5, 5, 1.0), 5);
    }
}
