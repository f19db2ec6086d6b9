//! Live progress while a run goes: an indicatif line on a terminal, a plain
//! line every few seconds otherwise. It reads totals from the aggregate the
//! collector maintains; it records nothing.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::metrics::{Aggregate, names};

/// How often a non-terminal gets a line.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

/// What "done" means for the bar.
#[derive(Debug, Clone, Copy)]
pub enum Goal {
    /// The run ends after this long.
    Time(Duration),
    /// The run ends after this many iterations.
    Iterations(u64),
}

pub struct Progress {
    bar: Option<ProgressBar>,
    plain: bool,
    started: Instant,
    last_plain: Instant,
    last_iterations: (Instant, u64),
    goal: Goal,
}

impl Progress {
    /// `enabled: false` shows nothing.
    pub fn new(enabled: bool, goal: Goal) -> Self {
        let now = Instant::now();
        let terminal = std::io::stderr().is_terminal();
        let bar = (enabled && terminal).then(|| {
            let length = match goal {
                Goal::Time(total) => total.as_millis() as u64,
                Goal::Iterations(total) => total,
            };
            let bar = ProgressBar::with_draw_target(Some(length), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{bar:30}] {msg}")
                    .expect("the template is valid")
                    .progress_chars("=> "),
            );
            bar
        });
        Progress { bar, plain: enabled && !terminal, started: now, last_plain: now, last_iterations: (now, 0), goal }
    }

    /// Shows the current state.
    pub fn update(&mut self, aggregate: &Aggregate, vus: u32, vus_max: u32) {
        if self.bar.is_none() && !self.plain {
            return;
        }
        let now = Instant::now();
        let iterations = aggregate.summary(names::ITERATIONS, |_| true).map_or(0, |a| a.count());
        let failed = aggregate.summary(names::HTTP_REQ_FAILED, |_| true).map_or(0.0, |a| a.rate());
        let (then, before) = self.last_iterations;
        let per_sec = (iterations - before) as f64 / now.duration_since(then).as_secs_f64().max(1e-3);
        self.last_iterations = (now, iterations);
        let elapsed = now.duration_since(self.started);
        let message = format!(
            "{:.1}s  {vus}/{vus_max} VUs  {iterations} iterations  {per_sec:.1} it/s  http_req_failed {:.2}%",
            elapsed.as_secs_f64(),
            failed * 100.0
        );
        if let Some(bar) = &self.bar {
            bar.set_position(match self.goal {
                Goal::Time(_) => elapsed.as_millis() as u64,
                Goal::Iterations(_) => iterations,
            });
            bar.set_message(message);
        } else if now.duration_since(self.last_plain) >= PLAIN_EVERY {
            self.last_plain = now;
            eprintln!("running {message}");
        }
    }

    /// A line above the bar (or alone without one), shown even with `--quiet`.
    pub fn note(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    /// Removes the bar before the summary is printed.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
