//! Fuzzing on stable Rust: each target's properties run on random inputs (proptest, which
//! shrinks a failure to a small case) and on a corpus of seed inputs replayed every run.
//!
//! `CHECKLIST_FUZZ_CASES` sets how many random inputs each property sees; the default is a
//! bounded run `cargo test` (and so CI) affords: 3 s for every target together in a debug build
//! on 2 cores (4,096 cases: 11 s). A longer hunt:
//! `CHECKLIST_FUZZ_CASES=100000 cargo test --release --lib verify::fuzz`. The corpus is
//! `tests/fuzz/corpus/<target>/`, one input per file; proptest records a failing case's seed in
//! `tests/fuzz/regressions/<target>.txt`, committed, and every later run tries those first.

mod jsonpath;
mod text;
mod yaml;

use std::{
    path::Path,
    time::{Duration, Instant},
};

use proptest::test_runner::{Config, FileFailurePersistence};

/// Random inputs per property when `CHECKLIST_FUZZ_CASES` is unset.
const DEFAULT_CASES: u32 = 1024;

/// The longest one input may take, whatever it is: the hostile corpus's bound.
const PER_INPUT: Duration = Duration::from_secs(1);

/// The configuration of a target's properties, its failures recorded in `regressions` (a path
/// under the crate, known at compile time).
fn config(regressions: &'static str) -> Config {
    let cases = std::env::var("CHECKLIST_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(regressions))),
        ..Config::default()
    }
}

/// Every seed input of `target`, by file name, in name order.
fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz/corpus")
        .join(target);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} holds no seed", dir.display());
    files
}

/// `run`'s answer and how long it took.
fn timed<T>(run: impl FnOnce() -> T) -> (T, Duration) {
    let started = Instant::now();
    let out = run();
    (out, started.elapsed())
}

/// Replays `target`'s corpus through `check`, printing each seed's time.
fn replay(target: &str, mut check: impl FnMut(&[u8]) -> Result<(), String>) {
    for (name, bytes) in corpus(target) {
        let (checked, took) = timed(|| check(&bytes));
        println!("{target}/{name}: {:.1} ms", took.as_secs_f64() * 1000.0);
        if let Err(problem) = checked {
            panic!("{target}/{name}: {problem}");
        }
        assert!(took < PER_INPUT, "{target}/{name} took {took:?}");
    }
}
