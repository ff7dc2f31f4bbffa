//! HTTP tests of the reference Tool: in-process through `tower::ServiceExt::oneshot` with
//! properly signed requests, and through real sockets for restart and crash.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod amp;
mod auth;
mod bad_input;
mod faults;
mod public;
mod restart;
mod sessions;
mod support;
