//! Wire-profile primitives for OAP Coordination Sessions.
//!
//! Every format and cryptographic check of the wire profile (`docs/profile.md`) lives here as
//! plain library code with no I/O, so that the reference Tool, the conformance suite and the fuzz
//! targets all call the same functions, and each function is tested against its standard's
//! published vectors (`external-vectors/`). Protocol logic (the session engine, the judge's
//! expectations) deliberately lives elsewhere: this crate only answers "is this well formed and
//! correctly signed?".
//!
//! | module | standard |
//! | --- | --- |
//! | [`ids`] | `ses_` / `trn_` + ULID identifiers |
//! | [`keys`] | Ed25519 (RFC 8032) with the strict verification policy |
//! | [`didkey`] | `did:key` for Ed25519 keys |
//! | [`jcs`] | RFC 8785 JSON Canonicalization Scheme |
//! | [`digest`] | RFC 9530 `Content-Digest` (`sha-256`) |
//! | [`httpsig`] | RFC 9421 HTTP Message Signatures (`ed25519`) |
//! | [`proof`] | W3C Data Integrity `eddsa-jcs-2022` |
//! | [`receipt`] | the session receipt chain |
//! | [`json`] | strict I-JSON parsing and RFC 7396 merge patch |
//! | [`problem`] | RFC 9457 problem details |
//! | [`time`] | RFC 3339 timestamps |
//!
//! Nothing in this crate panics on any input: every fallible function returns its module's
//! `thiserror` enum.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod didkey;
pub mod digest;
pub mod httpsig;
pub mod ids;
pub mod jcs;
pub mod json;
pub mod keys;
pub mod problem;
pub mod proof;
pub mod receipt;
mod sf;
pub mod time;

pub use keys::Keypair;
