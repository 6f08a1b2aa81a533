//! The statistics the benchmarks print: nearest-rank percentiles and a row per measurement.

use std::time::Duration;

/// Nearest-rank percentile of sorted samples: the smallest sample with at least p of them at or
/// below it (so p99 of fewer than 100 samples is the largest).
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The summary of a set of durations.
#[derive(Clone, Copy, Debug)]
pub struct Stats {
    /// How many samples.
    pub n: usize,
    /// The smallest.
    pub min: Duration,
    /// The median (nearest rank).
    pub p50: Duration,
    /// The 99th percentile (nearest rank).
    pub p99: Duration,
    /// The largest.
    pub max: Duration,
    /// The mean.
    pub mean: Duration,
}

impl Stats {
    /// The summary of `samples` (at least one).
    pub fn of(samples: &[Duration]) -> Self {
        assert!(!samples.is_empty(), "no samples");
        let mut sorted = samples.to_vec();
        sorted.sort();
        Self {
            n: sorted.len(),
            min: sorted[0],
            p50: percentile(&sorted, 0.50),
            p99: percentile(&sorted, 0.99),
            max: sorted[sorted.len() - 1],
            mean: sorted.iter().sum::<Duration>() / sorted.len() as u32,
        }
    }

    /// A table row labelled `label`, under [`header`].
    pub fn row(&self, label: &str) -> String {
        format!(
            "  {label:<52} {:>4} {:>9} {:>9} {:>9} {:>9} {:>9}",
            self.n,
            ms(self.min),
            ms(self.p50),
            ms(self.mean),
            ms(self.p99),
            ms(self.max),
        )
    }
}

impl Stats {
    /// A one-line summary in microseconds, for figures well under a millisecond: `label`, n,
    /// mean, p50 and p99.
    pub fn micros_row(&self, label: &str) -> String {
        format!(
            "{label:<46} n={:<5} mean {:>8.1} µs  p50 {:>8.1} µs  p99 {:>8.1} µs",
            self.n,
            self.mean.as_secs_f64() * 1e6,
            self.p50.as_secs_f64() * 1e6,
            self.p99.as_secs_f64() * 1e6,
        )
    }
}

/// The header of the rows of [`Stats::row`].
pub fn header() -> String {
    format!(
        "  {:<52} {:>4} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "", "n", "min", "p50", "mean", "p99", "max"
    )
}

/// Milliseconds with one decimal.
pub fn ms(d: Duration) -> String {
    format!("{:.1}ms", d.as_secs_f64() * 1e3)
}

/// a / b.
pub fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
}

/// The number in the environment variable `name`, if set; panics when it is not a number.
pub fn env_number(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(
        value
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value:?} is not a number")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let samples: Vec<Duration> = (1..=10).map(Duration::from_millis).collect();
        assert_eq!(percentile(&samples, 0.5), Duration::from_millis(5));
        assert_eq!(percentile(&samples, 0.99), Duration::from_millis(10));
        let stats = Stats::of(&samples);
        assert_eq!(
            (stats.n, stats.min, stats.max),
            (10, samples[0], samples[9])
        );
    }
}
