//! Test guest: a plugin that floods the host's metrics and log, shaped by
//! env, per iteration: `TAG_VALUES=N` adds 1 to counter `flood_tagged` N
//! times, each with a tag value never used before (N new series);
//! `METRIC_NAMES=N` adds 1 to N counters never named before
//! (`flood_name_<vu>_<iteration>_<i>`); `LOG_LINES=N` writes N info lines
//! (`flood line <i>`); `NEGATIVE_TREND=1` adds -3 to trend `flood_negative`.
use vespid_sdk::{Scenario, log, metrics, vu};

struct Flood {
    tag_values: u64,
    metric_names: u64,
    log_lines: u64,
    negative_trend: bool,
}

fn env_count(key: &str) -> vespid_sdk::Result<u64> {
    match vu::env(key) {
        Some(text) => Ok(text.parse().map_err(|_| format!("{key} must be a number, got {text:?}"))?),
        None => Ok(0),
    }
}

impl Scenario for Flood {
    fn init(_setup_data: &str) -> vespid_sdk::Result<Self> {
        Ok(Flood {
            tag_values: env_count("TAG_VALUES")?,
            metric_names: env_count("METRIC_NAMES")?,
            log_lines: env_count("LOG_LINES")?,
            negative_trend: env_count("NEGATIVE_TREND")? == 1,
        })
    }

    fn run(&mut self, _task: &str) -> vespid_sdk::Result {
        let (id, iteration) = (vu::id(), vu::iteration());
        for i in 0..self.tag_values {
            let value = format!("{id}-{iteration}-{i}");
            metrics::counter("flood_tagged", 1.0, &[("value", &value)]);
        }
        for i in 0..self.metric_names {
            metrics::counter(&format!("flood_name_{id}_{iteration}_{i}"), 1.0, &[]);
        }
        for i in 0..self.log_lines {
            log::info(&format!("flood line {i}"));
        }
        if self.negative_trend {
            metrics::trend("flood_negative", -3.0, &[]);
        }
        Ok(())
    }
}

vespid_sdk::export!(Flood);
