//! The state shared by every request: the configuration, the current mode, the failing
//! dependencies, the login rate-limit window and the request counters.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::metrics::Metrics;
use crate::mode::Mode;

/// At most this many distinct paths are counted per listener; further paths are counted under
/// [`OTHER_PATHS`], so a scan of random paths cannot grow memory without bound.
pub const MAX_COUNTED_PATHS: usize = 256;

/// The most `traceparent` headers kept (the newest).
pub const MAX_TRACE_PARENTS: usize = 64;

/// The longest `traceparent` value kept: version 00 is 55 characters.
const MAX_TRACE_PARENT_LEN: usize = 128;

/// The counter key for paths beyond [`MAX_COUNTED_PATHS`].
pub const OTHER_PATHS: &str = "(other)";

/// Which listener a request arrived on, for the request counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listener {
    /// The main listener (the app).
    Main,
    /// The plain-HTTP redirect listener.
    Redirect,
}

/// The outcome of one login attempt against the rate limiter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoginAttempt {
    /// The attempt's number within the current window, from 1.
    pub number: u64,
    /// Whether the attempt is over the limit (whether it is answered 429 depends on the mode).
    pub over_limit: bool,
    /// How long until the window resets.
    pub retry_after: Duration,
}

/// A point-in-time view of the state, as `GET /admin/state` returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StateSnapshot {
    /// The current mode.
    pub mode: Mode,
    /// The dependencies the health endpoints report.
    pub dependencies: Vec<String>,
    /// The dependencies currently reported as failing.
    pub failing_dependencies: Vec<String>,
    /// Login attempts allowed per window.
    pub rate_limit_after: u32,
    /// Login attempts in the current window.
    pub login_attempts: u64,
    /// Requests per path on the main listener (admin requests are not counted).
    pub requests: BTreeMap<String, u64>,
    /// Requests per path on the redirect listener.
    pub redirect_requests: BTreeMap<String, u64>,
    /// The sum of both maps.
    pub total_requests: u64,
    /// The share of requests to the app's routes answered 500, in percent.
    pub error_percent: u8,
    /// The extra delay of every request to the app's routes, in milliseconds.
    pub latency_ms: u64,
    /// The W3C `traceparent` headers of the last requests that carried one (at most
    /// [`MAX_TRACE_PARENTS`], oldest first): what a traced app would join its own spans to.
    #[serde(default)]
    pub trace_parents: Vec<String>,
}

#[derive(Debug, Default)]
struct LoginWindow {
    started: Option<Instant>,
    attempts: u64,
}

/// The injected faults: an error share and an extra latency, and the requests the error share
/// has seen since it was set (its sequence).
#[derive(Debug)]
struct Faults {
    error_percent: u8,
    latency: Duration,
    seen: u64,
}

#[derive(Debug, Default)]
struct Counters {
    main: BTreeMap<String, u64>,
    redirect: BTreeMap<String, u64>,
    trace_parents: std::collections::VecDeque<String>,
}

/// The state shared by all handlers of one running app.
#[derive(Debug)]
pub struct AppState {
    config: Config,
    started: Instant,
    shutdown: CancellationToken,
    mode: Mutex<Mode>,
    failing: Mutex<Vec<String>>,
    login: Mutex<LoginWindow>,
    counters: Mutex<Counters>,
    faults: Mutex<Faults>,
    metrics: Metrics,
    accounts: Mutex<Accounts>,
}

/// The accounts, sessions and graphs of the functional flow, in memory and bounded.
#[derive(Debug, Default)]
struct Accounts {
    /// email -> (id, password).
    users: BTreeMap<String, (u64, String)>,
    /// token -> account id.
    sessions: BTreeMap<String, u64>,
    /// graph id -> (owner, title).
    graphs: BTreeMap<u64, (u64, String)>,
    next: u64,
}

/// The most accounts, sessions or graphs kept: a test app, not a database.
const MAX_RECORDS: usize = 10_000;

/// Locks a mutex, ignoring poisoning: every critical section here leaves the data consistent
/// (plain assignments and counter increments), so a panic elsewhere cannot corrupt it.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl AppState {
    /// Creates the state for `config`; `shutdown` is cancelled when the app stops, which ends
    /// hanging and delayed requests early.
    pub fn new(config: Config, shutdown: CancellationToken) -> Self {
        AppState {
            mode: Mutex::new(config.mode),
            failing: Mutex::new(config.failing_dependencies.clone()),
            faults: Mutex::new(Faults {
                error_percent: config.error_percent,
                latency: config.latency,
                seen: 0,
            }),
            metrics: Metrics::new(&config.metric_labels),
            config,
            started: Instant::now(),
            shutdown,
            login: Mutex::new(LoginWindow::default()),
            counters: Mutex::new(Counters::default()),
            accounts: Mutex::new(Accounts::default()),
        }
    }

    /// Registers `email` with `password`: its id, or None when taken (or the app is full).
    pub fn register(&self, email: &str, password: &str) -> Option<u64> {
        let mut accounts = lock(&self.accounts);
        if accounts.users.contains_key(email) || accounts.users.len() >= MAX_RECORDS {
            return None;
        }
        accounts.next += 1;
        let id = accounts.next;
        accounts
            .users
            .insert(email.to_owned(), (id, password.to_owned()));
        Some(id)
    }

    /// A new session token for a registered `email` whose password is `password`.
    pub fn session(&self, email: &str, password: &str) -> Option<String> {
        let mut accounts = lock(&self.accounts);
        let (id, expected) = accounts.users.get(email)?.clone();
        if expected != password || accounts.sessions.len() >= MAX_RECORDS {
            return None;
        }
        accounts.next += 1;
        let token = format!(
            "tok-{:016x}",
            accounts.next.wrapping_mul(0x9e37_79b9_7f4a_7c15)
        );
        accounts.sessions.insert(token.clone(), id);
        Some(token)
    }

    /// The account a session token belongs to.
    pub fn account_of(&self, token: &str) -> Option<u64> {
        lock(&self.accounts).sessions.get(token).copied()
    }

    /// Saves a graph of `owner`'s: its id.
    pub fn create_graph(&self, owner: u64, title: &str) -> Option<u64> {
        let mut accounts = lock(&self.accounts);
        if accounts.graphs.len() >= MAX_RECORDS {
            return None;
        }
        accounts.next += 1;
        let id = accounts.next;
        accounts.graphs.insert(id, (owner, title.to_owned()));
        Some(id)
    }

    /// The title of `owner`'s graph `id`.
    pub fn graph(&self, owner: u64, id: u64) -> Option<String> {
        let accounts = lock(&self.accounts);
        let (graph_owner, title) = accounts.graphs.get(&id)?;
        (*graph_owner == owner).then(|| title.clone())
    }

    /// The configuration the app was started with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The token cancelled at shutdown.
    pub fn shutdown_token(&self) -> &CancellationToken {
        &self.shutdown
    }

    /// How long the app has been running.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// The current mode.
    pub fn mode(&self) -> Mode {
        *lock(&self.mode)
    }

    /// Switches the mode; returns the previous one.
    pub fn set_mode(&self, mode: Mode) -> Mode {
        std::mem::replace(&mut *lock(&self.mode), mode)
    }

    /// The dependencies currently reported as failing.
    pub fn failing_dependencies(&self) -> Vec<String> {
        lock(&self.failing).clone()
    }

    /// Replaces the failing dependencies; every name must be a configured dependency.
    pub fn set_failing_dependencies(&self, names: Vec<String>) -> Result<(), String> {
        if let Some(unknown) = names
            .iter()
            .find(|name| !self.config.dependencies.contains(name))
        {
            return Err(format!(
                "unknown dependency {unknown:?}; expected some of: {}",
                self.config.dependencies.join(", ")
            ));
        }
        *lock(&self.failing) = names;
        Ok(())
    }

    /// Records a login attempt in the fixed window (started by the first attempt, lasting
    /// `rate_limit_window`).
    pub fn login_attempt(&self) -> LoginAttempt {
        let now = Instant::now();
        let window = self.config.rate_limit_window;
        let mut login = lock(&self.login);
        let started = match login.started {
            Some(started) if now.duration_since(started) < window => started,
            _ => {
                login.attempts = 0;
                login.started = Some(now);
                now
            }
        };
        login.attempts = login.attempts.saturating_add(1);
        LoginAttempt {
            number: login.attempts,
            over_limit: login.attempts > u64::from(self.config.rate_limit_after),
            retry_after: window.saturating_sub(now.duration_since(started)),
        }
    }

    /// Counts one request to `path` on `listener`.
    pub fn count_request(&self, listener: Listener, path: &str) {
        let mut counters = lock(&self.counters);
        let map = match listener {
            Listener::Main => &mut counters.main,
            Listener::Redirect => &mut counters.redirect,
        };
        let key = if map.contains_key(path) || map.len() < MAX_COUNTED_PATHS {
            path
        } else {
            OTHER_PATHS
        };
        let count = map.entry(key.to_owned()).or_insert(0);
        *count = count.saturating_add(1);
    }

    /// Keeps a request's `traceparent` header (printable ASCII, bounded), dropping the oldest
    /// beyond [`MAX_TRACE_PARENTS`].
    pub fn record_trace_parent(&self, value: &str) {
        if value.len() > MAX_TRACE_PARENT_LEN || !value.bytes().all(|b| b.is_ascii_graphic()) {
            return;
        }
        let mut counters = lock(&self.counters);
        if counters.trace_parents.len() == MAX_TRACE_PARENTS {
            counters.trace_parents.pop_front();
        }
        counters.trace_parents.push_back(value.to_owned());
    }

    /// Requests counted so far for `path` on `listener`.
    pub fn request_count(&self, listener: Listener, path: &str) -> u64 {
        let counters = lock(&self.counters);
        let map = match listener {
            Listener::Main => &counters.main,
            Listener::Redirect => &counters.redirect,
        };
        map.get(path).copied().unwrap_or(0)
    }

    /// The app's Prometheus metrics (`GET /metrics`).
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The share of requests to the app's routes answered 500, in percent.
    pub fn error_percent(&self) -> u8 {
        lock(&self.faults).error_percent
    }

    /// Sets the error share (0 to 100 percent) and starts its sequence afresh, so from now on
    /// exactly `percent` of every 100 requests fail: the 100/`percent`-th, and so on, spread
    /// evenly. Returns the previous share.
    pub fn set_error_percent(&self, percent: u8) -> Result<u8, String> {
        if percent > 100 {
            return Err(format!("error percent {percent} is over 100"));
        }
        let mut faults = lock(&self.faults);
        faults.seen = 0;
        Ok(std::mem::replace(&mut faults.error_percent, percent))
    }

    /// The extra delay of every request to the app's routes.
    pub fn latency(&self) -> Duration {
        lock(&self.faults).latency
    }

    /// Sets the extra delay of every request to the app's routes; returns the previous one.
    pub fn set_latency(&self, latency: Duration) -> Duration {
        std::mem::replace(&mut lock(&self.faults).latency, latency)
    }

    /// Takes the next request into the error share's sequence: whether it is to fail. Request
    /// `n` (from 1) fails when `n * percent / 100` passes a whole number, so any `n` requests
    /// in a row hold `n * percent / 100` failures give or take one, and every run of 100 from
    /// the start exactly `percent`.
    pub fn next_request_fails(&self) -> bool {
        let mut faults = lock(&self.faults);
        faults.seen = faults.seen.saturating_add(1);
        let percent = u64::from(faults.error_percent);
        let n = faults.seen;
        n.saturating_mul(percent) / 100 > (n - 1).saturating_mul(percent) / 100
    }

    /// Clears the request counters, the login rate-limit window and the error share's sequence;
    /// the mode, the failing dependencies, the faults' settings and the Prometheus metrics
    /// (counters only go up) are kept.
    pub fn reset(&self) {
        *lock(&self.counters) = Counters::default();
        *lock(&self.login) = LoginWindow::default();
        lock(&self.faults).seen = 0;
    }

    /// A snapshot of everything `GET /admin/state` shows.
    pub fn snapshot(&self) -> StateSnapshot {
        let (requests, redirect_requests, trace_parents) = {
            let counters = lock(&self.counters);
            (
                counters.main.clone(),
                counters.redirect.clone(),
                counters.trace_parents.iter().cloned().collect(),
            )
        };
        let total_requests = requests
            .values()
            .chain(redirect_requests.values())
            .fold(0u64, |sum, count| sum.saturating_add(*count));
        let login_attempts = {
            let login = lock(&self.login);
            match login.started {
                Some(started) if started.elapsed() < self.config.rate_limit_window => {
                    login.attempts
                }
                _ => 0,
            }
        };
        StateSnapshot {
            mode: self.mode(),
            dependencies: self.config.dependencies.clone(),
            failing_dependencies: self.failing_dependencies(),
            rate_limit_after: self.config.rate_limit_after,
            login_attempts,
            requests,
            redirect_requests,
            total_requests,
            error_percent: self.error_percent(),
            latency_ms: u64::try_from(self.latency().as_millis()).unwrap_or(u64::MAX),
            trace_parents,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(config: Config) -> AppState {
        AppState::new(config, CancellationToken::new())
    }

    #[tokio::test(start_paused = true)]
    async fn the_login_window_limits_then_resets() {
        let state = state(Config {
            rate_limit_after: 2,
            rate_limit_window: Duration::from_secs(10),
            ..Config::default()
        });
        let first = state.login_attempt();
        assert_eq!((first.number, first.over_limit), (1, false));
        assert!(!state.login_attempt().over_limit);
        tokio::time::advance(Duration::from_secs(4)).await;
        let third = state.login_attempt();
        assert_eq!((third.number, third.over_limit), (3, true));
        assert_eq!(third.retry_after, Duration::from_secs(6));
        assert_eq!(state.snapshot().login_attempts, 3);

        tokio::time::advance(Duration::from_secs(6)).await;
        assert_eq!(state.snapshot().login_attempts, 0);
        let fresh = state.login_attempt();
        assert_eq!((fresh.number, fresh.over_limit), (1, false));

        state.login_attempt();
        state.login_attempt();
        state.reset();
        assert!(!state.login_attempt().over_limit);
    }

    #[test]
    fn counters_are_per_listener_and_bounded() {
        let state = state(Config::default());
        state.count_request(Listener::Main, "/health");
        state.count_request(Listener::Main, "/health");
        state.count_request(Listener::Redirect, "/");
        assert_eq!(state.request_count(Listener::Main, "/health"), 2);
        assert_eq!(state.request_count(Listener::Redirect, "/health"), 0);
        for i in 0..MAX_COUNTED_PATHS + 10 {
            state.count_request(Listener::Main, &format!("/p{i}"));
        }
        let snapshot = state.snapshot();
        assert_eq!(snapshot.requests.len(), MAX_COUNTED_PATHS + 1);
        assert_eq!(snapshot.requests[OTHER_PATHS], 11);
        assert_eq!(snapshot.total_requests, 3 + MAX_COUNTED_PATHS as u64 + 10);
        state.count_request(Listener::Main, "/health");
        assert_eq!(state.request_count(Listener::Main, "/health"), 3);
        state.reset();
        assert_eq!(state.snapshot().total_requests, 0);
    }

    #[test]
    fn failing_dependencies_must_be_known() {
        let state = state(Config::default());
        assert!(state.set_failing_dependencies(vec!["oban".into()]).is_ok());
        assert_eq!(state.failing_dependencies(), vec!["oban".to_owned()]);
        let err = state
            .set_failing_dependencies(vec!["redis".into()])
            .unwrap_err();
        assert!(err.contains("\"redis\""), "{err}");
        assert_eq!(state.failing_dependencies(), vec!["oban".to_owned()]);
    }

    #[test]
    fn the_error_share_is_exact_and_evenly_spread() {
        let state = state(Config {
            error_percent: 5,
            ..Config::default()
        });
        let failed: Vec<u64> = (1..=100).filter(|_| state.next_request_fails()).collect();
        assert_eq!(failed, [20, 40, 60, 80, 100]);

        for percent in [0u8, 1, 3, 33, 50, 99, 100] {
            assert!(state.set_error_percent(percent).is_ok());
            let failed = (0..100).filter(|_| state.next_request_fails()).count();
            assert_eq!(failed, usize::from(percent), "{percent}%");
            // Any window of 20 holds the share rounded down or up.
            let in_20 = (0..20).filter(|_| state.next_request_fails()).count();
            let exact = f64::from(percent) / 5.0;
            assert!(
                (in_20 as f64 - exact).abs() < 1.0,
                "{percent}%: {in_20} in 20"
            );
        }

        assert_eq!(state.set_error_percent(5), Ok(100));
        state.next_request_fails();
        state.reset();
        let failed: Vec<u64> = (1..=40).filter(|_| state.next_request_fails()).collect();
        assert_eq!(failed, [20, 40], "reset starts the sequence afresh");
        assert!(state.set_error_percent(101).unwrap_err().contains("101"));
        assert_eq!(state.snapshot().error_percent, 5);
    }

    #[test]
    fn latency_is_kept_and_reported_in_ms() {
        let state = state(Config {
            latency: Duration::from_millis(250),
            ..Config::default()
        });
        assert_eq!(state.snapshot().latency_ms, 250);
        assert_eq!(
            state.set_latency(Duration::from_millis(40)),
            Duration::from_millis(250)
        );
        assert_eq!(state.latency(), Duration::from_millis(40));
    }

    #[test]
    fn set_mode_returns_the_previous_mode() {
        let state = state(Config::default());
        assert_eq!(state.set_mode(Mode::Hang), Mode::Healthy);
        assert_eq!(state.mode(), Mode::Hang);
        assert_eq!(state.snapshot().mode, Mode::Hang);
    }
}
