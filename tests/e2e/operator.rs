//! `checklist-operator run` against the real API server, as a platform team starts it.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    sync::mpsc,
    time::Duration,
};

#[test]
#[ignore = "end-to-end: needs the local control plane (dev/cluster up)"]
fn run_logs_the_server_version_and_stops_cleanly_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_checklist-operator"))
        .args(["run", "--log-format", "json"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
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
            Err(_) => {
                child.kill().ok();
                panic!("no 'connected' log line within 30s");
            }
        };
        let event: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("log line is not JSON ({e}): {line}"));
        if event["message"] == "connected to the Kubernetes API server" {
            break event;
        }
    };
    let version = connected["server_version"].as_str().unwrap();
    assert!(version.starts_with("v1.37."), "server version {version}");

    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status after SIGTERM: {status}");
    // The reader thread ends when the pipe closes; collect what it still had.
    let rest: Vec<String> = lines.iter().collect();
    assert!(
        rest.iter().any(|l| l.contains("shutting down")),
        "no shutdown log line: {rest:?}"
    );
}
