//! The [`Scenario`] trait a plugin implements, and the error type its
//! functions return. Nothing here talks to the host.

use std::fmt::Display;

/// A scenario: one value per virtual user, kept between iterations.
///
/// Only [`init`](Scenario::init) and [`run`](Scenario::run) are required.
pub trait Scenario: Sized + 'static {
    /// Names the plugin and its tasks. Default: the crate name and one task,
    /// `default`.
    fn describe() -> Info {
        Info::default()
    }

    /// Runs once per test run before any VU starts; the returned string is
    /// handed to every [`init`](Scenario::init) and to
    /// [`teardown`](Scenario::teardown).
    fn setup() -> Result<String> {
        Ok(String::new())
    }

    /// Creates this VU's state (Locust's `on_start`).
    fn init(setup_data: &str) -> Result<Self>;

    /// Runs one iteration of `task`. Returning an error fails the iteration.
    fn run(&mut self, task: &str) -> Result;

    /// Runs once when this VU ends with its state intact (Locust's
    /// `on_stop`): at the end of its scenario, or after [`crate::vu::stop`].
    /// Its requests and metrics count like an iteration's. (Since WIT 0.1.2.)
    fn vu_end(&mut self) -> Result {
        Ok(())
    }

    /// Runs once after every VU has stopped.
    fn teardown(_setup_data: &str) -> Result {
        Ok(())
    }
}

/// What [`Scenario::describe`] returns.
#[derive(Debug, Clone, Default)]
pub struct Info {
    /// Plugin name; empty means the crate's package name.
    pub name: String,
    /// Tasks with weights; empty means one task, `default`.
    pub tasks: Vec<Task>,
}

impl Info {
    /// An `Info` with a name and no tasks.
    pub fn named(name: impl Into<String>) -> Self {
        Info { name: name.into(), tasks: Vec::new() }
    }

    /// Adds a task picked with relative `weight` per iteration.
    pub fn task(mut self, name: impl Into<String>, weight: u32) -> Self {
        self.tasks.push(Task { name: name.into(), weight });
        self
    }
}

/// A task and its weight.
#[derive(Debug, Clone)]
pub struct Task {
    /// Name passed to [`Scenario::run`].
    pub name: String,
    /// Relative weight.
    pub weight: u32,
}

/// An iteration's failure: any displayable error converts into it with `?`.
#[derive(Debug, Clone)]
pub struct Error(String);

impl<E: Display> From<E> for Error {
    fn from(err: E) -> Self {
        Error(err.to_string())
    }
}

impl From<Error> for String {
    fn from(err: Error) -> Self {
        err.0
    }
}

/// `Result` with [`Error`] as the default error.
pub type Result<T = (), E = Error> = core::result::Result<T, E>;
