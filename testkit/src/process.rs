//! A process's memory and CPU from /proc, sampled in the background: how the benchmarks measure
//! the operator (and any controller beside it) from outside, as a node's kubelet would.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

/// One reading of /proc/PID.
#[derive(Clone, Copy, Debug, Default)]
pub struct Reading {
    /// Resident memory now (VmRSS), KiB.
    pub rss_kib: u64,
    /// The most resident memory so far (VmHWM), KiB.
    pub peak_kib: u64,
    /// User and system CPU time used so far, seconds.
    pub cpu_seconds: f64,
}

/// The clock ticks per second of /proc/PID/stat's times.
fn ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// Reads `pid`'s memory and CPU; None once it has exited.
pub fn read(pid: u32) -> Option<Reading> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib = |field: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(Reading {
        rss_kib: kib("VmRSS:"),
        peak_kib: kib("VmHWM:"),
        cpu_seconds: ticks / ticks_per_second(),
    })
}

/// The processes whose command line contains `needle`, as (program name, pid): the name is the
/// first word's file name (`kube-apiserver`), so the control plane of one local cluster is
/// found by its state directory.
pub fn find(needle: &str) -> Vec<(String, u32)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found: Vec<(String, u32)> = entries
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            let words: Vec<String> = cmdline
                .split(|b| *b == 0)
                .map(|w| String::from_utf8_lossy(w).into_owned())
                .collect();
            if !words.iter().any(|w| w.contains(needle)) {
                return None;
            }
            let program = words.first()?.rsplit('/').next()?.to_owned();
            Some((program, pid))
        })
        .collect();
    found.sort();
    found
}

/// Samples a process every `every` until dropped, keeping the latest reading and the largest RSS
/// seen (VmHWM also counts memory touched before the sampling began).
pub struct Sampler {
    latest: Arc<Mutex<Reading>>,
    task: tokio::task::JoinHandle<()>,
}

impl Sampler {
    /// Starts sampling `pid`.
    pub fn start(pid: u32, every: Duration) -> Self {
        let latest = Arc::new(Mutex::new(read(pid).unwrap_or_default()));
        let task = tokio::spawn({
            let latest = Arc::clone(&latest);
            async move {
                loop {
                    tokio::time::sleep(every).await;
                    match read(pid) {
                        Some(reading) => *latest.lock().unwrap() = reading,
                        None => return,
                    }
                }
            }
        });
        Self { latest, task }
    }

    /// The latest reading.
    pub fn now(&self) -> Reading {
        *self.latest.lock().unwrap()
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.task.abort();
    }
}
