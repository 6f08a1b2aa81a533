//! Scale benchmark on the local control plane (`dev/scale` sets it up and runs it): N
//! checklists created in bulk against the local test app, then left idle, then a new image for
//! a tenth of them, then a bad image for a few; optionally the same work for Argo Rollouts
//! beside it. Prints figures; asserts nothing about them.
//!
//! Figures for the operator: time until all Ready, peak and steady RSS and CPU seconds (from
//! /proc), API requests by verb (its own `checklist_api_requests_total` and the API server's
//! `apiserver_request_total`, which counts every client), status writes and reconciles; idle
//! CPU and writes per minute; time until the changed tenth is Ready again; bad image → rolled
//! back.
//!
//! Environment:
//! - `SCALE_CHECKLISTS` how many (default 1000).
//! - `SCALE_REPLICAS` replicas of each app (default 0: no pods, the controllers' own cost).
//! - `SCALE_IDLE_SECONDS` the idle window (default 360; the safety net of a settled checklist is
//!   30 minutes ±10%: 2000 sees it).
//! - `SCALE_CHANGE_PERCENT` the share given a new image (default 10).
//! - `SCALE_ROLLBACKS` apps (1 replica each) given a bad image (default 5; 0 skips).
//! - `SCALE_READY_TIMEOUT_SECONDS` how long to wait for all Ready (default 1800).
//! - `SCALE_COMPARE=argo-rollouts` the same work for Argo Rollouts (its controller from
//!   `dev/argo-rollouts --path`), run after the operator's, and the ratios.
//! - `SCALE_OPERATOR_ARGS` more flags for `checklist-operator run`, space-separated.
//! - `SCALE_SHARDS` how many operator processes share the checklists (default 1): each app is
//!   labelled `checklist.dev/shard=<i>` and each process started with `--selector` for its own;
//!   each shard's memory and CPU are printed beside the totals.

// A benchmark may unwrap: a panic is how it says its set-up failed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod argo;
mod operator_side;
mod phases;
mod report;
mod track;
mod workload;

use std::time::Duration;

use checklist_testkit::{ready_cluster, stats::env_number};

/// What one run is asked to do.
#[derive(Clone, Debug)]
pub struct Plan {
    /// How many apps.
    pub apps: usize,
    /// Replicas of each.
    pub replicas: u32,
    /// The idle window.
    pub idle: Duration,
    /// How many get a new image.
    pub changed: usize,
    /// How many get a bad image.
    pub rollbacks: usize,
    /// How long all may take to be healthy.
    pub ready_timeout: Duration,
    /// How many operator processes share the apps (`--selector`), 1 without sharding.
    pub shards: usize,
}

fn main() {
    checklist_testkit::block_on(run());
}

/// Which build of the operator runs: the figures of memory and CPU hold only for a release.
fn build() -> &'static str {
    // The operator binary is the one Cargo built beside this benchmark, with the same profile.
    if cfg!(debug_assertions) {
        "the operator's test build (dev profile): its memory and CPU are not a release's"
    } else {
        "the operator's release build"
    }
}

async fn run() {
    let apps = env_number("SCALE_CHECKLISTS").unwrap_or(1000).max(1) as usize;
    let percent = env_number("SCALE_CHANGE_PERCENT").unwrap_or(10).min(100) as usize;
    let plan = Plan {
        apps,
        replicas: env_number("SCALE_REPLICAS").unwrap_or(0) as u32,
        idle: Duration::from_secs(env_number("SCALE_IDLE_SECONDS").unwrap_or(360)),
        changed: (apps * percent).div_ceil(100),
        rollbacks: env_number("SCALE_ROLLBACKS").unwrap_or(5) as usize,
        ready_timeout: Duration::from_secs(
            env_number("SCALE_READY_TIMEOUT_SECONDS").unwrap_or(1800),
        ),
        shards: env_number("SCALE_SHARDS").unwrap_or(1).clamp(1, 16) as usize,
    };
    let compare = std::env::var("SCALE_COMPARE").unwrap_or_default();
    let (client, version) = ready_cluster().await;
    println!(
        "Scale: {} apps, {} replica(s) each, verified by one HTTP check of the local test app; \
         idle {}s; a new image for {}; a bad image for {} (1 replica each); {} operator shard(s); \
         API server {version}; {}",
        plan.apps,
        plan.replicas,
        plan.idle.as_secs(),
        plan.changed,
        plan.rollbacks,
        plan.shards,
        build()
    );
    let ours = operator_side::measure(&client, &plan).await;
    report::print("checklist-operator", &ours);
    report::goals(&ours);
    match compare.as_str() {
        "" => {}
        "argo-rollouts" => {
            let theirs = argo::measure(&client, &plan).await;
            report::print("Argo Rollouts", &theirs);
            report::ratios(&ours, &theirs);
        }
        other => panic!("SCALE_COMPARE={other}: only argo-rollouts is known"),
    }
}
