//! Think time between a VU's iterations, as Locust's `wait_time`:
//! constant, uniformly between two bounds, or pacing (a fixed iteration
//! cadence). It computes pauses; the VU loop does the waiting.

use std::time::{Duration, Instant};

/// The pause after each iteration of a looping VU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ThinkTime {
    /// Start the next iteration at once.
    #[default]
    None,
    /// Locust's `constant(s)`.
    Constant(Duration),
    /// Locust's `between(a, b)`: uniformly distributed.
    Between(Duration, Duration),
    /// Locust's `constant_pacing(s)`: iterations start this far apart; an
    /// iteration that took longer is followed at once.
    Pacing(Duration),
}

impl ThinkTime {
    /// The pause after an iteration that started at `started` and just ended.
    pub fn pause(&self, started: Instant, rng: &mut fastrand::Rng) -> Duration {
        match *self {
            ThinkTime::None => Duration::ZERO,
            ThinkTime::Constant(pause) => pause,
            ThinkTime::Between(low, high) => low + (high - low).mul_f64(rng.f64()),
            ThinkTime::Pacing(every) => (started + every).saturating_duration_since(Instant::now()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn between_is_uniform_within_its_bounds() {
        let think = ThinkTime::Between(Duration::from_millis(100), Duration::from_millis(300));
        let mut rng = fastrand::Rng::with_seed(3);
        let pauses: Vec<Duration> = (0..10_000).map(|_| think.pause(Instant::now(), &mut rng)).collect();
        assert!(pauses.iter().all(|p| (Duration::from_millis(100)..=Duration::from_millis(300)).contains(p)));
        let mean = pauses.iter().sum::<Duration>() / pauses.len() as u32;
        assert!((mean.as_secs_f64() - 0.2).abs() < 0.005, "{mean:?}");
    }

    #[test]
    fn pacing_subtracts_the_iteration_time() {
        let think = ThinkTime::Pacing(Duration::from_secs(5));
        let mut rng = fastrand::Rng::with_seed(1);
        let pause = think.pause(Instant::now() - Duration::from_secs(2), &mut rng);
        assert!(pause <= Duration::from_secs(3) && pause > Duration::from_millis(2900), "{pause:?}");
        assert_eq!(think.pause(Instant::now() - Duration::from_secs(6), &mut rng), Duration::ZERO);
        assert_eq!(ThinkTime::Constant(Duration::from_secs(1)).pause(Instant::now(), &mut rng), Duration::from_secs(1));
    }
}
