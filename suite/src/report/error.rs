//! The one error type of the report module.
//!
//! Reading a catalogue, writing the report files, signing and verifying all
//! fail with a [`ReportError`]; each variant says which of these went wrong
//! and carries enough to act on (the path, the schema paths, the rule broken).

use std::path::PathBuf;

/// Everything that can go wrong while building, writing or verifying a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The requirement catalogue is malformed.
    #[error("requirement catalogue: {0}")]
    Catalogue(String),
    /// The report could not be turned into JSON or read back from it.
    #[error("report JSON: {0}")]
    Json(String),
    /// The report does not validate against `report.schema.json`; one entry per
    /// violation, `instance path: message`.
    #[error("report does not match its schema: {}", .0.join("; "))]
    Schema(Vec<String>),
    /// The signing key file is not a 32-byte Ed25519 seed (raw or hex).
    #[error("signing key {}: {reason}", path.display())]
    SigningKey {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The report carries no proof.
    #[error("the report is not signed (no `proof` member)")]
    Unsigned,
    /// The proof is malformed or does not verify over the report's content.
    #[error("signature does not verify: {0}")]
    Proof(String),
    /// The proof verifies but was made by another key than the one required.
    #[error("signed by {actual}, expected {expected}")]
    WrongSigner {
        /// The DID the caller required.
        expected: String,
        /// The DID that signed.
        actual: String,
    },
    /// The report contradicts itself (a requirement names a vector the report
    /// lacks, a passing verdict over a failed MUST, ...); one entry per problem.
    #[error("the report is inconsistent: {}", .0.join("; "))]
    Inconsistent(Vec<String>),
    /// The file's bytes are not the canonical rendering of its content, so
    /// bytes outside the signed values (spacing, escapes, key order,
    /// duplicate members) were edited.
    #[error("the file is not byte-for-byte as written (first difference at byte {offset})")]
    NotCanonical {
        /// Offset of the first byte that differs from the canonical rendering.
        offset: usize,
    },
}
