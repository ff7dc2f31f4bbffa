//! `oap-conform`: the conformance suite for OAP Coordination Sessions.
//!
//! A run flows one way: vector files ([`vector`]) are loaded and checked,
//! fresh identities ([`actors`]) sign every request, the [`runner`] sends them
//! to a [`target`] through a bounded HTTP [`client`], judges each answer and
//! records a transcript ([`recording`]), and the [`report`] turns the results
//! into a verdict and files. The library never names the Tool it judges: the
//! bundled reference Tool is started by the binary and handed in as a URL and
//! a restart hook like any other target.
//!
//! Entry points:
//!
//! - [`run::prepare`] and [`run::execute`]: a whole run, from a target to a
//!   [`report::RunReport`] with its verdict and the CI gate
//!   ([`run::gate_holds`], with known failures from [`expectations`]);
//! - [`runner::run_vector`]: one vector against one target;
//! - [`trials::trials`]: the vector set as `libtest-mimic` trials, for
//!   `cargo test` (see `tests/vectors.rs`);
//! - [`vector::load()`]: the vector set, checked against its schema;
//! - [`fuzz::fuzz`]: black-box fuzzing of a Tool's envelope handling.
//!
//! The `net` feature (on by default) brings the HTTP client and everything that
//! speaks to a target: [`run`], [`runner`], [`target`], [`trials`], [`fuzz`] and
//! the concurrency workloads. Without it the crate keeps what reads untrusted
//! bytes and judges them, with no HTTP or TLS stack: the vector model and loader
//! ([`vector`]), the matchers, the answers of a Tool read into outcomes
//! ([`concurrency::answer`]), the concurrency checkers and the report model.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod actors;
pub mod client;
pub mod concurrency;
pub mod expectations;
#[cfg(feature = "net")]
pub mod fuzz;
pub mod recording;
pub mod report;
#[cfg(feature = "net")]
pub mod run;
#[cfg(feature = "net")]
pub mod runner;
pub mod seed;
#[cfg(feature = "net")]
pub mod target;
#[cfg(feature = "net")]
pub mod trials;
pub mod vector;
