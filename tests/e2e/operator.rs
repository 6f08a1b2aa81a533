//! `checklist-operator run` against the real API server, as a platform team starts it.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use checklist_testkit::kubectl;

/// The operator process, killed if the test fails before stopping it: one left running would
/// reconcile every namespace with the test's admin credentials and upset the other tests.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        // A child already waited for is not signalled again.
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

/// The version the API server reports, e.g. `v1.37.2`: whichever release dev/cluster runs.
fn server_version() -> String {
    let out = kubectl()
        .args(["get", "--raw", "/version"])
        .output()
        .unwrap();
    assert!(out.status.success(), "kubectl get --raw /version failed");
    let version: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    version["gitVersion"].as_str().unwrap().to_owned()
}

#[test]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
fn run_logs_the_server_version_and_stops_cleanly_on_sigterm() {
    let mut child = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_checklist-operator"))
            // A namespace with no checklists: a second operator must not reconcile the other
            // tests' checklists while this one runs.
            .args([
                "run",
                "--log-format",
                "json",
                "--namespace",
                "kube-node-lease",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stderr = child.0.stderr.take().unwrap();
    let (lines_tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });

    let connected = loop {
        let line = match lines.recv_timeout(Duration::from_secs(30)) {
            Ok(line) => line,
            Err(_) => panic!("no 'connected' log line within 30s"),
        };
        let event: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("log line is not JSON ({e}): {line}"));
        if event["message"] == "connected to the Kubernetes API server" {
            break event;
        }
    };
    let version = connected["server_version"].as_str().unwrap();
    assert_eq!(version, server_version(), "server version logged");

    let pid = child.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    // Bounded: an operator that ignores SIGTERM fails here, not at CI's time limit.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the operator did not stop within 30s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "exit status after SIGTERM: {status}");
    // The reader thread ends when the pipe closes; collect what it still had.
    let rest: Vec<String> = lines.iter().collect();
    assert!(
        rest.iter().any(|l| l.contains("shutting down")),
        "no shutdown log line: {rest:?}"
    );
}
