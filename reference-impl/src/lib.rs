//! `oap-ref`: the bundled reference Tool for OAP Coordination Sessions (RFC 0001).
//!
//! A real, durable Tool that the conformance suite runs by default and that shows, by
//! construction, what conformant behaviour is (`docs/profile.md`):
//!
//! - [`engine`]: the session state machine, shared by every binding, with no HTTP in it;
//! - [`store`]: the `Store` trait and its embedded durable default (SQLite, WAL,
//!   `synchronous=FULL`, group commit);
//! - [`http`]: the OAP HTTP binding (axum), RFC 9421 authentication, problem bodies;
//! - [`faults`]: test-only switches that break one rule each, so the suite can show that every
//!   one of its checks fails when it should.
//!
//! Library use: [`serve`] binds and runs a Tool from a [`Config`]; [`app`] gives the router
//! for in-process tests (`tower::ServiceExt::oneshot`).
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod config;
pub mod engine;
pub mod faults;
pub mod http;
pub mod identity;
mod server;
pub mod store;
#[doc(hidden)]
pub mod testing;

pub use config::{Config, Limits};
pub use faults::{Fault, FaultSet};
pub use http::{AppState, app};
pub use server::{Error, Running, open_state, open_state_with_clock, serve};
