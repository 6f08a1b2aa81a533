//! kubectl as the user runs it: the one on PATH (`eval "$(dev/cluster env)"` puts the version
//! matching the cluster first) with KUBECONFIG from the environment.

use std::{
    io::Write,
    process::{Command, Output, Stdio},
};

use serde_json::Value;

/// `kubectl`, ready for arguments.
pub fn kubectl() -> Command {
    Command::new("kubectl")
}

/// `kubectl ARGS` with `input` on its stdin (`kubectl apply -f -`); its whole output.
pub fn kubectl_stdin(args: &[&str], input: &str) -> Output {
    let mut child = kubectl()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run kubectl (eval \"$(dev/cluster env)\"): {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// `kubectl apply -n NS -f -` with the objects as YAML (JSON is YAML); its output.
pub fn apply(namespace: &str, objects: &[&Value]) -> String {
    let mut input = String::new();
    for object in objects {
        input.push_str("---\n");
        input.push_str(&object.to_string());
        input.push('\n');
    }
    let output = kubectl_stdin(&["apply", "-n", namespace, "-f", "-"], &input);
    assert!(
        output.status.success(),
        "kubectl apply failed: {}",
        text(&output)
    );
    text(&output)
}

/// `kubectl -n NS ARGS`: stdout and stderr, and whether it succeeded.
pub fn kubectl_in(namespace: &str, args: &[&str]) -> (bool, String) {
    let output = kubectl()
        .arg("-n")
        .arg(namespace)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run kubectl (eval \"$(dev/cluster env)\"): {e}"));
    (output.status.success(), text(&output))
}

/// A command's stdout and stderr as one text.
pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// What `kubectl checklist` printed and how it exited.
#[derive(Debug)]
pub struct PluginRun {
    /// The exit status (None when killed by a signal).
    pub code: Option<i32>,
    /// Its stdout.
    pub stdout: String,
    /// Its stderr.
    pub stderr: String,
}

/// The `kubectl-checklist` binary Cargo built beside the operator; a panic saying how to build
/// it when there is none.
pub fn plugin_binary() -> std::path::PathBuf {
    let plugin = crate::operator::operator_binary().with_file_name("kubectl-checklist");
    assert!(
        plugin.is_file(),
        "no kubectl-checklist beside the operator at {}: cargo build --bins",
        plugin.display()
    );
    plugin
}

/// `kubectl`, with the `kubectl-checklist` Cargo built first on PATH, so kubectl finds the
/// plugin as a user's shell would.
pub fn kubectl_with_plugin() -> Command {
    let dir = plugin_binary()
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut paths = vec![dir];
    paths.extend(std::env::split_paths(&path));
    let mut command = kubectl();
    command.env("PATH", std::env::join_paths(paths).unwrap_or(path));
    command
}

/// `kubectl checklist ARGS`, run through kubectl's plugin lookup.
pub fn kubectl_checklist(args: &[&str]) -> PluginRun {
    let output = kubectl_with_plugin()
        .arg("checklist")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run kubectl (eval \"$(dev/cluster env)\"): {e}"));
    PluginRun {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}
