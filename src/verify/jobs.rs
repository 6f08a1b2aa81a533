//! What a job check needs from whoever runs the engine: a [`JobRunner`] that runs a Job in the
//! checklist's namespace and says how it ended. The operator lends one with its client; the
//! `verify` command has none, so its job checks are not run.

use futures::future::BoxFuture;

/// One run of a job check (built into a Job by `resources::CheckJobs`).
pub type JobRequest<'a> = crate::resources::CheckRun<'a>;

/// How a job check's Job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobEnd {
    /// Whether the Job completed (its container exited 0).
    pub succeeded: bool,
    /// The container's exit code, when it ran.
    pub exit_code: Option<i32>,
    /// The last lines of its output (the kubelet's termination message), unmasked: the engine
    /// masks them with the rest of the outcome.
    pub output: String,
    /// How it ended when it did not run to an exit: "DeadlineExceeded", "the pod was not
    /// scheduled", ...
    pub reason: Option<String>,
}

/// Runs job checks' Jobs.
pub trait JobRunner: Send + Sync + std::fmt::Debug {
    /// Runs `request`'s Job to its end, or says why it could not.
    fn run<'a>(&'a self, request: JobRequest<'a>) -> BoxFuture<'a, Result<JobEnd, String>>;
}
