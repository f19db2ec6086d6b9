//! When things happen, as pure functions of the plan: which stretches of
//! time each VU of a ramping-vus executor is active, and at which instants
//! an arrival-rate executor starts its iterations. Nothing here sleeps or
//! starts a VU; the executors follow these schedules.

use std::time::Duration;

/// One stage: move linearly to `target` over `duration` (k6's `stages`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stage {
    pub duration: Duration,
    pub target: f64,
}

/// A piecewise-linear course from `start` through `stages`.
#[derive(Debug, Clone, PartialEq)]
pub struct Ramp {
    pub start: f64,
    pub stages: Vec<Stage>,
}

impl Ramp {
    /// A constant level for `duration`.
    pub fn constant(level: f64, duration: Duration) -> Ramp {
        Ramp { start: level, stages: vec![Stage { duration, target: level }] }
    }

    /// Sum of the stage durations.
    pub fn total(&self) -> Duration {
        self.stages.iter().map(|s| s.duration).sum()
    }

    /// The highest level reached.
    pub fn peak(&self) -> f64 {
        self.stages.iter().map(|s| s.target).fold(self.start, f64::max)
    }

    /// The stretches of time during which VU number `index` (0-based) of a
    /// ramping-vus executor is active, as k6 counts them: while ramping up
    /// the VU count is ⌊level⌋, while ramping down ⌈level⌉. Each stretch ends
    /// at the latest at [`Ramp::total`].
    pub fn active_spans(&self, index: u32) -> Vec<(Duration, Duration)> {
        let needs = f64::from(index) + 1.0;
        let mut spans = Vec::new();
        let mut active_since = (self.start >= needs).then_some(Duration::ZERO);
        let mut from = self.start;
        let mut stage_start = Duration::ZERO;
        for stage in &self.stages {
            let to = stage.target;
            let crossing = |level: f64| stage_start + stage.duration.mul_f64((level - from) / (to - from));
            match active_since {
                None if from < needs && needs <= to => active_since = Some(crossing(needs)),
                Some(since) if to < needs && needs - 1.0 < from && to <= needs - 1.0 => {
                    let until = crossing(needs - 1.0);
                    if until > since {
                        spans.push((since, until));
                    }
                    active_since = None;
                }
                _ => {}
            }
            from = to;
            stage_start += stage.duration;
        }
        if let Some(since) = active_since
            && since < stage_start
        {
            spans.push((since, stage_start));
        }
        spans
    }

    /// Start times of an arrival-rate executor whose rate (iterations per
    /// second) follows this ramp: iteration `k` starts when the integral of
    /// the rate reaches `k`, so iterations are spaced evenly at a constant
    /// rate and never bunched. Times before [`Ramp::total`] only.
    pub fn arrivals(&self) -> impl Iterator<Item = Duration> + '_ {
        let mut stages = self.stages.iter();
        let mut from = self.start;
        let mut stage = stages.next();
        let (mut stage_start, mut done_before) = (0.0f64, 0.0f64);
        let mut k = 0u64;
        std::iter::from_fn(move || {
            loop {
                let current = stage?;
                let (length, to) = (current.duration.as_secs_f64(), current.target);
                let in_stage = (from + to) / 2.0 * length;
                let x = k as f64 - done_before;
                if x < in_stage {
                    k += 1;
                    return Some(Duration::from_secs_f64(stage_start + time_to_reach(x, from, to, length)));
                }
                done_before += in_stage;
                stage_start += length;
                from = to;
                stage = stages.next();
            }
        })
    }

    /// How many starts [`Ramp::arrivals`] gives: iteration `k` is due while
    /// `k` is below the rate's integral over the whole ramp.
    pub fn arrival_count(&self) -> u64 {
        let mut from = self.start;
        let mut integral = 0.0;
        for stage in &self.stages {
            integral += (from + stage.target) / 2.0 * stage.duration.as_secs_f64();
            from = stage.target;
        }
        integral.ceil().max(0.0) as u64
    }
}

/// Time within a stage of `length` seconds, whose rate moves linearly from
/// `from` to `to`, at which `x` iterations have been due. Solves
/// `from·t + (to−from)·t²/(2·length) = x` in the form that stays exact when
/// the rate is constant or starts at zero.
fn time_to_reach(x: f64, from: f64, to: f64, length: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    let slope = (to - from) / length;
    let root = (from * from + 2.0 * slope * x).max(0.0).sqrt();
    (2.0 * x / (from + root)).min(length)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    /// The level of `ramp` at `at` (the last target after the end).
    fn level_at(ramp: &Ramp, at: Duration) -> f64 {
        let mut from = ramp.start;
        let mut stage_start = Duration::ZERO;
        for stage in &ramp.stages {
            let end = stage_start + stage.duration;
            if at < end {
                let progress = (at - stage_start).as_secs_f64() / stage.duration.as_secs_f64();
                return from + (stage.target - from) * progress;
            }
            from = stage.target;
            stage_start = end;
        }
        from
    }

    fn ramp(start: f64, stages: &[(f64, f64)]) -> Ramp {
        Ramp { start, stages: stages.iter().map(|&(d, target)| Stage { duration: secs(d), target }).collect() }
    }

    #[test]
    fn constant_rate_is_evenly_spaced() {
        let starts: Vec<Duration> = Ramp::constant(200.0, secs(5.0)).arrivals().collect();
        assert_eq!(starts.len(), 1000);
        for (k, at) in starts.iter().enumerate() {
            assert!((at.as_secs_f64() - k as f64 / 200.0).abs() < 1e-9, "{k}: {at:?}");
        }
    }

    #[test]
    fn ramping_rate_integrates_the_stages() {
        // 0 → 10/s over 10 s (50 iterations), then 10/s for 5 s (50 more).
        let schedule = ramp(0.0, &[(10.0, 10.0), (5.0, 10.0)]);
        let starts: Vec<Duration> = schedule.arrivals().collect();
        assert_eq!(starts.len(), 100);
        // Iteration k of the ramp starts at t with t²/2 = k.
        assert!((starts[8].as_secs_f64() - 4.0).abs() < 1e-9);
        assert!((starts[50].as_secs_f64() - 10.0).abs() < 1e-9);
        assert!((starts[99].as_secs_f64() - 14.9).abs() < 1e-9);
        assert!(starts.windows(2).all(|w| w[0] <= w[1]));
        // A ramp down mirrors it: 10/s → 0 over 10 s is 50 iterations.
        assert_eq!(ramp(10.0, &[(10.0, 0.0)]).arrivals().count(), 50);
    }

    #[test]
    fn the_arrival_count_is_what_arrivals_gives() {
        let ramps = [
            Ramp::constant(200.0, secs(5.0)),
            Ramp::constant(0.3, secs(10.0)),
            ramp(0.0, &[(10.0, 10.0), (5.0, 10.0)]),
            ramp(0.1, &[(1.0, 0.2), (0.0, 5.0), (3.3, 7.7), (2.0, 0.0)]),
            ramp(3.0, &[(0.7, 0.0), (1.9, 13.0)]),
        ];
        for schedule in &ramps {
            assert_eq!(schedule.arrival_count(), schedule.arrivals().count() as u64, "{schedule:?}");
        }
    }

    #[test]
    fn vu_spans_follow_k6_rounding() {
        // 0 → 4 over 4 s, hold 2 s, 4 → 0 over 4 s.
        let schedule = ramp(0.0, &[(4.0, 4.0), (2.0, 4.0), (4.0, 0.0)]);
        assert_eq!(schedule.active_spans(0), vec![(secs(1.0), secs(10.0))]);
        assert_eq!(schedule.active_spans(3), vec![(secs(4.0), secs(7.0))]);
        assert_eq!(schedule.active_spans(4), vec![]);
        // The number of active VUs equals ⌊level⌋ going up and ⌈level⌉ going down.
        for tenth in 0..100 {
            let at = secs(f64::from(tenth) / 10.0 + 0.05);
            let active = (0..5).filter(|&v| schedule.active_spans(v).iter().any(|&(a, b)| a <= at && at < b)).count();
            let level = level_at(&schedule, at);
            let expected = if at < secs(6.0) { level.floor() } else { level.ceil() };
            assert_eq!(active as f64, expected, "at {at:?}");
        }
    }

    #[test]
    fn vus_can_leave_and_come_back() {
        let schedule = ramp(2.0, &[(2.0, 0.0), (2.0, 2.0)]);
        // VU 1 would come back only at the very end: no empty span.
        assert_eq!(schedule.active_spans(1), vec![(secs(0.0), secs(1.0))]);
        assert_eq!(schedule.active_spans(0), vec![(secs(0.0), secs(2.0)), (secs(3.0), secs(4.0))]);
        assert_eq!(schedule.peak(), 2.0);
        assert_eq!(schedule.total(), secs(4.0));
    }
}
