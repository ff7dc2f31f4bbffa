//! RFC 9530 `Content-Digest` with the `sha-256` algorithm.
//!
//! A signed request covers the `content-digest` header rather than the body itself (RFC 9421
//! signs header values), so the digest is what binds the body to the signature. The profile fixes
//! `sha-256`; a header may list other algorithms too, which are ignored, but it must carry a
//! `sha-256` member that matches.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

use crate::sf;

/// The algorithm key the profile requires.
pub const SHA256_KEY: &str = "sha-256";

/// Why a `Content-Digest` header was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    /// The header is not a valid structured-field dictionary, or repeats a key.
    #[error("malformed Content-Digest: {0}")]
    Malformed(String),
    /// There is no `sha-256` member.
    #[error("Content-Digest has no sha-256 member")]
    MissingSha256,
    /// The `sha-256` member is not a byte sequence of 32 bytes.
    #[error("sha-256 member is not a 32-byte byte sequence")]
    BadValue,
    /// The digest does not match the body.
    #[error("sha-256 digest does not match the content")]
    Mismatch,
}

/// SHA-256 of `body`.
pub fn sha256(body: &[u8]) -> [u8; 32] {
    Sha256::digest(body).into()
}

/// The `Content-Digest` header value for `body`: `sha-256=:BASE64:`.
pub fn content_digest(body: &[u8]) -> String {
    format!("{SHA256_KEY}=:{}:", STANDARD.encode(sha256(body)))
}

/// Checks that `header` (a `Content-Digest` value) has a `sha-256` member matching `body`.
/// Duplicate dictionary keys are rejected rather than resolved last-wins.
pub fn verify_content_digest(header: &str, body: &[u8]) -> Result<(), DigestError> {
    let dict = sf::parse_dictionary(header).map_err(|e| DigestError::Malformed(e.to_string()))?;
    let entry = dict
        .iter()
        .find(|(k, _)| k == SHA256_KEY)
        .map(|(_, v)| v)
        .ok_or(DigestError::MissingSha256)?;
    let bytes = match entry {
        sf::Member::Item(sf::Value::Bytes(b), params) if params.is_empty() => b,
        _ => return Err(DigestError::BadValue),
    };
    if bytes.len() != 32 {
        return Err(DigestError::BadValue);
    }
    if bytes.as_slice() == sha256(body) {
        Ok(())
    } else {
        Err(DigestError::Mismatch)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let h = content_digest(b"{}");
        assert_eq!(verify_content_digest(&h, b"{}"), Ok(()));
        assert_eq!(
            verify_content_digest(&h, b"{ }"),
            Err(DigestError::Mismatch)
        );
        let both = format!("sha-512=:AAAA:, {h}");
        assert_eq!(verify_content_digest(&both, b"{}"), Ok(()));
        assert_eq!(
            verify_content_digest("sha-512=:AAAA:", b"{}"),
            Err(DigestError::MissingSha256)
        );
        assert!(matches!(
            verify_content_digest(&format!("{h}, {h}"), b"{}"),
            Err(DigestError::Malformed(_))
        ));
        assert_eq!(
            verify_content_digest("sha-256=:AAAA:", b"{}"),
            Err(DigestError::BadValue)
        );
        assert!(verify_content_digest("sha-256=?1", b"").is_err());
        assert!(verify_content_digest("\u{0}", b"").is_err());
    }
}
