//! Picking a task per iteration by weight (Locust's task weights).

use std::sync::Arc;

/// A scenario's tasks with positive weights, picked per iteration.
#[derive(Clone)]
pub struct TaskPicker {
    tasks: Arc<[(String, u32)]>,
    total: u64,
}

impl TaskPicker {
    /// Tasks with weight 0 are never picked; `None` when no task has a
    /// positive weight (nothing could ever run).
    pub fn new(tasks: Vec<(String, u32)>) -> Option<Self> {
        let tasks: Vec<(String, u32)> = tasks.into_iter().filter(|(_, w)| *w > 0).collect();
        let total = tasks.iter().map(|(_, w)| u64::from(*w)).sum();
        (total > 0).then(|| TaskPicker { tasks: tasks.into(), total })
    }

    pub fn pick(&self, rng: &mut fastrand::Rng) -> &str {
        let mut ticket = rng.u64(0..self.total);
        for (name, weight) in self.tasks.iter() {
            match ticket.checked_sub(u64::from(*weight)) {
                Some(rest) => ticket = rest,
                None => return name,
            }
        }
        // Unreachable: the tickets are fewer than the weights' sum.
        &self.tasks[0].0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_are_picked_by_weight() {
        let picker = TaskPicker::new(vec![("browse".into(), 3), ("buy".into(), 1), ("never".into(), 0)]).unwrap();
        let mut rng = fastrand::Rng::with_seed(7);
        let mut counts = std::collections::HashMap::new();
        for _ in 0..40_000 {
            *counts.entry(picker.pick(&mut rng).to_string()).or_insert(0u32) += 1;
        }
        assert_eq!(counts.get("never"), None);
        let browse = f64::from(counts["browse"]) / 40_000.0;
        assert!((browse - 0.75).abs() < 0.02, "{browse}");
    }

    #[test]
    fn without_a_positive_weight_there_is_no_picker() {
        assert!(TaskPicker::new(vec![]).is_none());
        assert!(TaskPicker::new(vec![("idle".into(), 0)]).is_none());
    }
}
