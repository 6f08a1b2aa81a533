//! The verification engine: the HTTP checks of `spec.verification`, run exactly and safely, for
//! the reconciler and for `checklist-operator verify`.
//!
//! `checks` judge responses (pure); `client` sends requests through the egress `guard`;
//! `engine` runs one round of a checklist's checks; `rounds` turns rounds into a verdict.

mod checks;
pub mod cli;
pub(crate) mod client;
pub mod engine;
pub mod guard;
pub mod json;
mod quote;
mod redact;
mod report;
pub(crate) mod rounds;
