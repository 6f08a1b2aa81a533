//! The one way text a tenant or an app wrote reaches a person: status, Events, logs, metric
//! labels, notifications, `verify`'s output and the plugin all take it through [`line`] (or
//! [`Shown`]), which replaces control and bidi characters and bounds the length.
//!
//! Why: a checklist's author and the app it verifies choose these strings, and the people who
//! read them (an admin running `kubectl checklist list -A`, an on-call reading Slack) did not. An
//! ESC in a deep-health dependency name is a terminal escape sequence in the admin's shell (OSC 52
//! writes their clipboard); a right-to-left override makes `gnp.exe` read `exe.png`.

pub(crate) mod pattern;
mod sanitize;
mod truncate;
mod value;

pub use sanitize::{Shown, is_clean, line};
pub(crate) use truncate::{truncate, truncated};
pub use value::{clean_value, escape_json_text};
