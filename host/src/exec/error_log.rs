//! Errors seen during a run, counted by distinct message: the first of each
//! is logged as it happens, all of them with counts in the summary, so a
//! failure repeated by every VU on every iteration is one line, not
//! thousands.

use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Default)]
pub struct ErrorLog {
    counts: Mutex<HashMap<String, u64>>,
}

impl ErrorLog {
    /// Counts one occurrence of `message`, logging it the first time.
    pub fn report(&self, message: String) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        match counts.get_mut(&message) {
            Some(count) => *count += 1,
            None => {
                tracing::warn!("{message}");
                counts.insert(message, 1);
            }
        }
    }

    /// Every message with its count, most frequent first.
    pub fn snapshot(&self) -> Vec<(String, u64)> {
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let mut all: Vec<(String, u64)> = counts.iter().map(|(m, c)| (m.clone(), *c)).collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_distinct_messages() {
        let log = ErrorLog::default();
        for _ in 0..3 {
            log.report("boom".into());
        }
        log.report("bang".into());
        assert_eq!(log.snapshot(), vec![("boom".to_string(), 3), ("bang".to_string(), 1)]);
    }
}
