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
    /// ramping-vus executor is active when the VU targets are scaled by
    /// `factor`, as k6 counts them: while ramping up the VU count is
    /// ⌊level⌋, while ramping down ⌈level⌉. Each stretch ends at the latest
    /// at [`Ramp::total`].
    pub fn active_spans(&self, index: u32, factor: f64) -> Vec<(Duration, Duration)> {
        if factor <= 0.0 {
            return Vec::new();
        }
        // Active from the level that makes index+1 VUs, until the one that makes index.
        let (up, down) = ((f64::from(index) + 1.0) / factor, f64::from(index) / factor);
        let mut spans = Vec::new();
        let mut active_since = (self.start >= up).then_some(Duration::ZERO);
        let mut from = self.start;
        let mut stage_start = Duration::ZERO;
        for stage in &self.stages {
            let to = stage.target;
            let crossing = |level: f64| stage_start + stage.duration.mul_f64((level - from) / (to - from));
            match active_since {
                None if from < up && up <= to => active_since = Some(crossing(up)),
                Some(since) if to < up && down < from && to <= down => {
                    let until = crossing(down);
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

    /// The VUs that are ever active with the targets scaled by `factor`.
    pub fn scaled_peak(&self, factor: f64) -> u32 {
        // A hair of slack, so 10 × 1.1 is 11 despite floating point.
        (self.peak() * factor + 1e-9).floor().max(0.0) as u32
    }

    /// When the integral of this ramp (read as iterations per second)
    /// reaches `x`: the start time of iteration `x` of an arrival-rate
    /// executor, so iterations are spaced evenly at a constant rate and
    /// never bunched. `None` if it never does before [`Ramp::total`].
    pub fn time_of(&self, x: f64) -> Option<Duration> {
        let (mut from, mut stage_start, mut done_before) = (self.start, 0.0f64, 0.0f64);
        for stage in &self.stages {
            let (length, to) = (stage.duration.as_secs_f64(), stage.target);
            let in_stage = (from + to) / 2.0 * length;
            if x - done_before < in_stage {
                return Some(Duration::from_secs_f64(stage_start + time_to_reach(x - done_before, from, to, length)));
            }
            done_before += in_stage;
            stage_start += length;
            from = to;
        }
        None
    }

    /// The integral of the ramp from the start to `at` (to the end, past it).
    pub fn integral_at(&self, at: Duration) -> f64 {
        let at = at.as_secs_f64();
        let (mut from, mut stage_start, mut integral) = (self.start, 0.0f64, 0.0f64);
        for stage in &self.stages {
            let (length, to) = (stage.duration.as_secs_f64(), stage.target);
            let elapsed = (at - stage_start).clamp(0.0, length);
            if length > 0.0 {
                integral += from * elapsed + (to - from) * elapsed * elapsed / (2.0 * length);
            }
            stage_start += length;
            from = to;
        }
        integral
    }
}

/// The start times of an arrival-rate executor whose rate is scaled live:
/// iteration `k` starts when the integral of the scaled rate reaches `k`.
/// A new factor applies from the moment it is set; what was due before
/// stays due.
pub struct ScaledArrivals<'a> {
    ramp: &'a Ramp,
    /// When the factor last changed (from the executor's start)…
    since: Duration,
    /// …the scaled integral then, and the ramp's own.
    count_then: f64,
    integral_then: f64,
    factor: f64,
}

impl<'a> ScaledArrivals<'a> {
    pub fn new(ramp: &'a Ramp) -> Self {
        ScaledArrivals { ramp, since: Duration::ZERO, count_then: 0.0, integral_then: 0.0, factor: 1.0 }
    }

    /// From `at` on, the rate is the ramp's times `factor`.
    pub fn rescale(&mut self, at: Duration, factor: f64) {
        self.count_then = self.count_at(at);
        self.since = at;
        self.integral_then = self.ramp.integral_at(at);
        self.factor = factor;
    }

    fn count_at(&self, at: Duration) -> f64 {
        self.count_then + self.factor * (self.ramp.integral_at(at) - self.integral_then)
    }

    /// The start time of iteration `k`, or `None` if it is not due before
    /// the end at the current factor.
    pub fn time_of(&self, k: u64) -> Option<Duration> {
        if self.factor <= 0.0 {
            return None;
        }
        let x = self.integral_then + (k as f64 - self.count_then) / self.factor;
        self.ramp.time_of(x.max(0.0))
    }

    /// How many iterations start in all at the current factor.
    pub fn count(&self) -> u64 {
        self.count_at(self.ramp.total()).ceil().max(0.0) as u64
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

    /// Every start time of the ramp, unscaled.
    fn arrivals(ramp: &Ramp) -> Vec<Duration> {
        (0u64..).map_while(|k| ramp.time_of(k as f64)).collect()
    }

    fn ramp(start: f64, stages: &[(f64, f64)]) -> Ramp {
        Ramp { start, stages: stages.iter().map(|&(d, target)| Stage { duration: secs(d), target }).collect() }
    }

    #[test]
    fn constant_rate_is_evenly_spaced() {
        let starts = arrivals(&Ramp::constant(200.0, secs(5.0)));
        assert_eq!(starts.len(), 1000);
        for (k, at) in starts.iter().enumerate() {
            assert!((at.as_secs_f64() - k as f64 / 200.0).abs() < 1e-9, "{k}: {at:?}");
        }
    }

    #[test]
    fn ramping_rate_integrates_the_stages() {
        // 0 → 10/s over 10 s (50 iterations), then 10/s for 5 s (50 more).
        let schedule = ramp(0.0, &[(10.0, 10.0), (5.0, 10.0)]);
        let starts = arrivals(&schedule);
        assert_eq!(starts.len(), 100);
        // Iteration k of the ramp starts at t with t²/2 = k.
        assert!((starts[8].as_secs_f64() - 4.0).abs() < 1e-9);
        assert!((starts[50].as_secs_f64() - 10.0).abs() < 1e-9);
        assert!((starts[99].as_secs_f64() - 14.9).abs() < 1e-9);
        assert!(starts.windows(2).all(|w| w[0] <= w[1]));
        // A ramp down mirrors it: 10/s → 0 over 10 s is 50 iterations.
        assert_eq!(arrivals(&ramp(10.0, &[(10.0, 0.0)])).len(), 50);
        assert!((schedule.integral_at(secs(4.0)) - 8.0).abs() < 1e-9);
        assert!((schedule.integral_at(secs(99.0)) - 100.0).abs() < 1e-9);
    }

    #[test]
    fn the_arrival_count_is_what_time_of_gives() {
        let ramps = [
            Ramp::constant(200.0, secs(5.0)),
            Ramp::constant(0.3, secs(10.0)),
            ramp(0.0, &[(10.0, 10.0), (5.0, 10.0)]),
            ramp(0.1, &[(1.0, 0.2), (0.0, 5.0), (3.3, 7.7), (2.0, 0.0)]),
            ramp(3.0, &[(0.7, 0.0), (1.9, 13.0)]),
        ];
        for schedule in &ramps {
            assert_eq!(ScaledArrivals::new(schedule).count(), arrivals(schedule).len() as u64, "{schedule:?}");
        }
    }

    #[test]
    fn a_scaled_rate_applies_from_its_change() {
        // 10/s for 10 s; from 4 s on, 1.5× (15/s): 40 + 90 = 130 iterations.
        let schedule = Ramp::constant(10.0, secs(10.0));
        let mut scaled = ScaledArrivals::new(&schedule);
        assert_eq!(scaled.count(), 100);
        assert!((scaled.time_of(40).unwrap().as_secs_f64() - 4.0).abs() < 1e-9);
        scaled.rescale(secs(4.0), 1.5);
        assert_eq!(scaled.count(), 130);
        assert!(scaled.time_of(39).unwrap() < secs(4.0), "what was due stays due");
        assert!((scaled.time_of(55).unwrap().as_secs_f64() - 5.0).abs() < 1e-9);
        assert_eq!(scaled.time_of(130), None);
        scaled.rescale(secs(5.0), 0.0);
        assert_eq!(scaled.time_of(56), None);
        assert_eq!(scaled.count(), 55);
    }

    #[test]
    fn vu_spans_follow_k6_rounding() {
        // 0 → 4 over 4 s, hold 2 s, 4 → 0 over 4 s.
        let schedule = ramp(0.0, &[(4.0, 4.0), (2.0, 4.0), (4.0, 0.0)]);
        assert_eq!(schedule.active_spans(0, 1.0), vec![(secs(1.0), secs(10.0))]);
        assert_eq!(schedule.active_spans(3, 1.0), vec![(secs(4.0), secs(7.0))]);
        assert_eq!(schedule.active_spans(4, 1.0), vec![]);
        // The number of active VUs equals ⌊level⌋ going up and ⌈level⌉ going down.
        for tenth in 0..100 {
            let at = secs(f64::from(tenth) / 10.0 + 0.05);
            let active =
                (0..5).filter(|&v| schedule.active_spans(v, 1.0).iter().any(|&(a, b)| a <= at && at < b)).count();
            let level = level_at(&schedule, at);
            let expected = if at < secs(6.0) { level.floor() } else { level.ceil() };
            assert_eq!(active as f64, expected, "at {at:?}");
        }
    }

    #[test]
    fn a_scale_factor_scales_the_vu_targets() {
        // 0 → 4 over 4 s, hold: at 1.5× the level reaches 6 VUs; VU 5 joins at 6/1.5 = 4 s.
        let schedule = ramp(0.0, &[(4.0, 4.0), (2.0, 4.0)]);
        assert_eq!(schedule.scaled_peak(1.5), 6);
        assert_eq!(schedule.active_spans(5, 1.5), vec![(secs(4.0), secs(6.0))]);
        assert_eq!(schedule.active_spans(0, 0.5), vec![(secs(2.0), secs(6.0))]);
        assert_eq!(schedule.active_spans(2, 0.5), vec![]);
        assert_eq!(schedule.active_spans(0, 0.0), vec![]);
        assert_eq!(Ramp::constant(10.0, secs(1.0)).scaled_peak(1.1), 11);
    }

    #[test]
    fn vus_can_leave_and_come_back() {
        let schedule = ramp(2.0, &[(2.0, 0.0), (2.0, 2.0)]);
        // VU 1 would come back only at the very end: no empty span.
        assert_eq!(schedule.active_spans(1, 1.0), vec![(secs(0.0), secs(1.0))]);
        assert_eq!(schedule.active_spans(0, 1.0), vec![(secs(0.0), secs(2.0)), (secs(3.0), secs(4.0))]);
        assert_eq!(schedule.peak(), 2.0);
        assert_eq!(schedule.total(), secs(4.0));
    }
}
