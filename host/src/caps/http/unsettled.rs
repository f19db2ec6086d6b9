//! Answers whose verdict the plugin gives (`send-unsettled`, Locust's
//! `catch_response`): their metrics wait here, under an id, until `settle`
//! says whether they failed, or until the iteration ends, which records
//! them by their status; a cut iteration's, when the VU's HTTP state is
//! dropped (after its last request task), so none is lost.

use std::sync::MutexGuard;

use super::VuHttp;
use super::record::{Answered, Label};

/// Who decides whether an answer failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Its status, by the request's expected statuses (`send`).
    Status,
    /// The plugin, later (`send-unsettled`).
    Plugin,
}

/// One answer waiting for its verdict, with what names it.
struct Waiting {
    id: u32,
    method: http::Method,
    name: String,
    tags: Vec<(String, String)>,
    answered: Answered,
    /// The verdict by status, given when the plugin gives none.
    failed_by_status: bool,
}

/// This VU's answers waiting for a verdict.
#[derive(Default)]
pub struct Unsettled {
    next_id: u32,
    waiting: Vec<Waiting>,
}

/// The VU's waiting answers, locked, with the VU to record them.
pub struct UnsettledGuard<'a> {
    vu: &'a VuHttp,
    answers: MutexGuard<'a, Unsettled>,
}

impl Drop for VuHttp {
    fn drop(&mut self) {
        self.unsettled().settle_by_status();
    }
}

impl VuHttp {
    pub(super) fn unsettled(&self) -> UnsettledGuard<'_> {
        UnsettledGuard { vu: self, answers: self.unsettled.lock().unwrap_or_else(|e| e.into_inner()) }
    }
}

impl UnsettledGuard<'_> {
    /// Keeps an answer until its verdict; returns its id.
    pub fn wait(&mut self, label: &Label, answered: Answered, failed_by_status: bool) -> u32 {
        let id = self.answers.next_id;
        self.answers.next_id = id.wrapping_add(1);
        self.answers.waiting.push(Waiting {
            id,
            method: label.method.clone(),
            name: label.name.to_string(),
            tags: label.tags.to_vec(),
            answered,
            failed_by_status,
        });
        id
    }

    /// Records answer `id` as `failed` or not; false when no answer waits under it.
    pub fn settle(&mut self, id: u32, failed: bool) -> bool {
        let Some(index) = self.answers.waiting.iter().position(|answer| answer.id == id) else {
            return false;
        };
        let answer = self.answers.waiting.swap_remove(index);
        self.record(&answer, failed);
        true
    }

    /// Records every waiting answer by its status: its iteration is over.
    pub fn settle_by_status(&mut self) {
        for answer in std::mem::take(&mut self.answers.waiting) {
            self.record(&answer, answer.failed_by_status);
        }
    }

    fn record(&self, answer: &Waiting, failed: bool) {
        let label = Label { method: &answer.method, name: &answer.name, tags: &answer.tags };
        self.vu.record(&label, &answer.answered, failed);
    }
}
