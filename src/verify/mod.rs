//! The verification engine: the HTTP checks of `spec.verification`, run exactly and safely, for
//! the reconciler and for `checklist-operator verify`.
//!
//! `checks` judge responses (pure); `client` sends requests through the egress `guard`;
//! `engine` runs one round of a checklist's checks; `rounds` turns rounds into a verdict.

pub mod checks;
pub mod cli;
pub mod client;
pub mod engine;
pub mod guard;
pub mod json;
pub mod quote;
pub mod report;
pub mod rounds;
