//! Errors seen during a run, counted by distinct message: the first of each
//! is logged as it happens, all of them with counts in the summary, so a
//! failure repeated by every VU on every iteration is one line, not
//! thousands. Distinct messages are capped, and so is their length, so
//! messages that carry ids, iteration numbers or a plugin's whole input
//! cannot grow memory without bound.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// Distinct messages kept; any further distinct message is counted under
/// [`OTHERS`].
pub const MAX_DISTINCT: usize = 1000;

/// Occurrences by message.
type Counts = HashMap<Arc<str>, u64>;

/// The summary line under which messages past the cap are counted.
pub const OTHERS: &str = "… other errors (more than 1000 distinct messages)";

/// Longest message kept, in bytes; a longer one is cut and marked.
pub const MAX_MESSAGE_BYTES: usize = 1024;

/// The run's error counts. Repeats of a known message touch only the
/// calling thread's shard; only a message new to that shard takes the
/// run-wide lock.
pub struct ErrorLog {
    shards: Box<[Mutex<Counts>]>,
    known: Mutex<HashSet<Arc<str>>>,
    others: AtomicU64,
}

impl Default for ErrorLog {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        ErrorLog {
            shards: (0..cores * 2).map(|_| Mutex::default()).collect(),
            known: Mutex::default(),
            others: AtomicU64::new(0),
        }
    }
}

impl ErrorLog {
    /// Counts one occurrence of `message`, logging it the first time.
    pub fn report(&self, message: &str) {
        self.report_n(message, 1);
    }

    /// Counts `n` occurrences of `message`, logging it the first time.
    pub fn report_n(&self, message: &str, n: u64) {
        self.add(message, n, true);
    }

    /// Counts one occurrence of `message` that the caller has printed
    /// already (`vespid dev`'s live lines), so it is not logged twice.
    pub fn count_shown(&self, message: &str) {
        self.add(message, 1, false);
    }

    fn add(&self, message: &str, n: u64, log: bool) {
        let message = cut(message, MAX_MESSAGE_BYTES);
        let message = message.as_ref();
        let mut shard = lock(&self.shards[shard_index() % self.shards.len()]);
        if let Some(count) = shard.get_mut(message) {
            *count += n;
            return;
        }
        let mut known = lock(&self.known);
        let key = match known.get(message) {
            Some(key) => key.clone(),
            None if known.len() < MAX_DISTINCT => {
                if log {
                    tracing::warn!("{message}");
                }
                let key: Arc<str> = message.into();
                known.insert(key.clone());
                key
            }
            None => {
                if self.others.fetch_add(n, Ordering::Relaxed) == 0 {
                    tracing::warn!("more than {MAX_DISTINCT} distinct error messages: counting further ones together");
                }
                return;
            }
        };
        drop(known);
        shard.insert(key, n);
    }

    /// Every message with its count, most frequent first; messages past the
    /// cap last, as one line.
    pub fn snapshot(&self) -> Vec<(String, u64)> {
        let mut totals: HashMap<Arc<str>, u64> = HashMap::new();
        for shard in self.shards.iter() {
            for (message, count) in lock(shard).iter() {
                *totals.entry(message.clone()).or_default() += count;
            }
        }
        let mut all: Vec<(String, u64)> = totals.into_iter().map(|(m, c)| (m.to_string(), c)).collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let others = self.others.load(Ordering::Relaxed);
        if others > 0 {
            all.push((OTHERS.to_string(), others));
        }
        all
    }
}

/// `text`, or its first `max` bytes (on a character boundary) marked as
/// cut, so text a plugin controls cannot grow memory or output without bound.
pub fn cut(text: &str, max: usize) -> Cow<'_, str> {
    if text.len() <= max {
        return Cow::Borrowed(text);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}… ({} bytes, cut)", &text[..end], text.len()))
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// A small number fixed per thread, spreading threads over the shards.
fn shard_index() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static INDEX: Cell<usize> = const { Cell::new(usize::MAX) };
    }
    INDEX.with(|index| {
        if index.get() == usize::MAX {
            index.set(NEXT.fetch_add(1, Ordering::Relaxed));
        }
        index.get()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_distinct_messages() {
        let log = ErrorLog::default();
        for _ in 0..3 {
            log.report("boom");
        }
        log.report("bang");
        // Printed by the caller already: counted the same.
        log.count_shown("bang");
        assert_eq!(log.snapshot(), vec![("boom".to_string(), 3), ("bang".to_string(), 2)]);
    }

    #[test]
    fn messages_past_the_cap_are_counted_together() {
        let log = ErrorLog::default();
        for id in 0..MAX_DISTINCT + 500 {
            log.report(&format!("user {id} not found"));
        }
        log.report("user 0 not found");
        let snapshot = log.snapshot();
        assert_eq!(snapshot.len(), MAX_DISTINCT + 1);
        assert_eq!(snapshot[0], ("user 0 not found".to_string(), 2));
        assert_eq!(snapshot.last(), Some(&(OTHERS.to_string(), 500)));
        assert_eq!(snapshot.iter().map(|(_, c)| c).sum::<u64>(), (MAX_DISTINCT + 501) as u64);
    }

    #[test]
    fn counts_added_at_once_and_long_messages_cut() {
        let log = ErrorLog::default();
        log.report_n("dropped", 40);
        log.report("dropped");
        let long = "x".repeat(MAX_MESSAGE_BYTES * 3);
        log.report(&long);
        log.report(&long);
        let snapshot = log.snapshot();
        assert_eq!(snapshot[0], ("dropped".to_string(), 41));
        let (message, count) = &snapshot[1];
        assert_eq!(*count, 2);
        assert!(message.starts_with(&long[..MAX_MESSAGE_BYTES]), "{message}");
        assert!(message.ends_with("… (3072 bytes, cut)") && message.len() < MAX_MESSAGE_BYTES + 32, "{message}");
    }

    #[test]
    fn threads_count_into_one_snapshot() {
        let log = Arc::new(ErrorLog::default());
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let log = log.clone();
                std::thread::spawn(move || (0..100).for_each(|_| log.report("same")))
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().expect("thread"));
        assert_eq!(log.snapshot(), vec![("same".to_string(), 400)]);
    }
}
