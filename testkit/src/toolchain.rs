//! What the servers the tests run beside the cluster share (Prometheus, Jaeger, Traefik): the
//! version dev/versions.env pins, the binary dev/<name> builds into the toolchain cache, a
//! directory of their own, and the process with its log kept.

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{SystemTime, UNIX_EPOCH},
};

use crate::fixtures::repository;

/// The value of `KEY=` in dev/versions.env.
pub(crate) fn pinned(key: &str) -> String {
    let versions = repository().join("dev/versions.env");
    let text = std::fs::read_to_string(&versions)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", versions.display()));
    text.lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
        .map(|version| version.trim().to_owned())
        .unwrap_or_else(|| panic!("no {key} in {}", versions.display()))
}

/// A server binary `dev/<name> --path` builds into the toolchain cache
/// (`bin/<name>-<version>/<name>`), or the one `override_var` names; a panic saying how to
/// build it when there is none.
pub(crate) fn cached_binary(name: &str, title: &str, version: &str, override_var: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(override_var) {
        return path.into();
    }
    let dir = cache_dir().join(format!("bin/{name}-{version}"));
    let binary = dir.join(name);
    if !dir.join(".complete").is_file() || !binary.is_file() {
        panic!(
            "{title} {version} is not built (no {}): run `dev/{name} --path` once (or \
             `dev/cluster build`), which builds it from dev/toolchain/{name} in a few \
             minutes, or point {override_var} at a {name} binary",
            binary.display()
        );
    }
    binary
}

/// The toolchain cache, as the dev/ scripts find it: `CHECKLIST_CACHE`, else
/// `$XDG_CACHE_HOME/checklist-operator`, else `~/.cache/checklist-operator`.
pub(crate) fn cache_dir() -> PathBuf {
    let set = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
    if let Some(cache) = set("CHECKLIST_CACHE") {
        return cache.into();
    }
    let base = set("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| set("HOME").map(|home| Path::new(&home).join(".cache")))
        .expect("neither XDG_CACHE_HOME nor HOME is set: cannot find the toolchain cache");
    base.join("checklist-operator")
}

/// A fresh directory under the system's temporary directory, `checklist-<name>-…`.
pub(crate) fn temp_dir(name: &str) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let dir = std::env::temp_dir().join(format!(
        "checklist-{name}-{}-{}-{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

/// Starts `command` (the server `binary`) with no stdin or stdout, its stderr kept as its log,
/// each line shown to `on_line` first (to find the port it listens on, say); panics when it
/// cannot start.
pub(crate) fn spawn_logged(
    mut command: Command,
    binary: &Path,
    mut on_line: impl FnMut(&str) + Send + 'static,
) -> (Child, Arc<Mutex<Vec<String>>>) {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
    let log: Arc<Mutex<Vec<String>>> = Arc::default();
    let stderr = child.stderr.take().unwrap();
    let lines = Arc::clone(&log);
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            on_line(&line);
            lines.lock().unwrap().push(line);
        }
    });
    (child, log)
}
