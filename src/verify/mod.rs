//! The verification engine: the HTTP checks of `spec.verification`, run exactly and safely, for
//! the reconciler and for `checklist-operator verify`.
//!
//! `checks` holds the kinds of check, one file each (their judgement, their requests, their
//! lint); `client` sends requests through the egress `guard`; `engine` runs one round of a
//! checklist's checks within its `budget`, each giving an `outcome`; `redact` masks secret values
//! in what comes back; `gate` judges a round by its checks' severity and the least score, and
//! `rounds` turns rounds into a verdict. `json` reads bodies with
//! `jsonpath`, a bounded evaluator. `bounded` builds values from YAML or JSON text within a
//! budget. `target` builds each request's URL from the check's path.

mod bounded;
pub mod budget;
pub(crate) mod checks;
pub mod cli;
pub(crate) mod client;
pub mod engine;
pub mod gate;
pub mod guard;
pub mod jobs;
pub mod json;
mod jsonpath;
mod outcome;
mod quote;
mod redact;
mod report;
pub(crate) mod reserved;
pub(crate) mod rounds;
mod secret_values;
mod target;
pub mod templates;

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod proptests;
