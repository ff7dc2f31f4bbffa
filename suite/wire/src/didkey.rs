//! `did:key` identifiers for Ed25519 keys.
//!
//! Participants and Tools are identified by `did:key`, which is self-certifying: the identifier
//! *is* the public key (`did:key:z` + base58btc(0xed 0x01 ‖ key)), so no resolver or network
//! access is needed to verify a signature. Decoding is strict: only the Ed25519 multicodec is
//! accepted, and the key must pass the signature policy's checks on `A` (canonical encoding, on
//! the curve, not of small order; see [`crate::keys`]), so each accepted DID names exactly one
//! usable key.

use ed25519_dalek::VerifyingKey;

use crate::keys::{self, SignatureError};

/// The DID prefix of every identifier produced here.
pub const DID_KEY_PREFIX: &str = "did:key:";

/// The multicodec varint of `ed25519-pub` (0xed), as it prefixes the key bytes.
pub const ED25519_PUB_MULTICODEC: [u8; 2] = [0xed, 0x01];

/// Longest DID accepted for decoding; a valid Ed25519 did:key is 56 characters. The bound keeps
/// base58 decoding (quadratic in its input) cheap on hostile input.
const MAX_DID_LEN: usize = 128;

/// Why a string is not an acceptable Ed25519 `did:key`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DidKeyError {
    /// The string does not start with `did:key:`.
    #[error("not a did:key identifier")]
    NotDidKey,
    /// The string is longer than any Ed25519 did:key.
    #[error("did:key identifier too long")]
    TooLong,
    /// The method-specific identifier is not multibase base58btc (`z…`).
    #[error("method-specific identifier is not base58btc multibase")]
    NotBase58btc,
    /// The multibase payload does not start with the `ed25519-pub` multicodec.
    #[error("not an ed25519-pub multicodec key")]
    WrongMulticodec,
    /// The key is not 32 bytes.
    #[error("ed25519 key must be 32 bytes, got {0}")]
    KeyLength(usize),
    /// The key fails the signature policy's checks.
    #[error("unusable key: {0}")]
    BadKey(SignatureError),
    /// A verification method URL has no fragment, or its fragment does not match the DID.
    #[error("verification method fragment does not match the did:key")]
    FragmentMismatch,
}

/// The multibase form of a public key: `z` + base58btc(0xed 0x01 ‖ key), e.g. `z6Mk…`.
pub fn multibase_public_key(pk: &VerifyingKey) -> String {
    let mut bytes = Vec::with_capacity(34);
    bytes.extend_from_slice(&ED25519_PUB_MULTICODEC);
    bytes.extend_from_slice(pk.as_bytes());
    format!("z{}", bs58::encode(bytes).into_string())
}

/// The `did:key:z6Mk…` of an Ed25519 public key.
pub fn did_from_public_key(pk: &VerifyingKey) -> String {
    format!("{DID_KEY_PREFIX}{}", multibase_public_key(pk))
}

/// Decodes the public key named by a `did:key` (a bare DID, without fragment).
pub fn public_key_from_did(did: &str) -> Result<VerifyingKey, DidKeyError> {
    if did.len() > MAX_DID_LEN {
        return Err(DidKeyError::TooLong);
    }
    let msid = did
        .strip_prefix(DID_KEY_PREFIX)
        .ok_or(DidKeyError::NotDidKey)?;
    public_key_from_multibase(msid)
}

/// Decodes a multibase `z6Mk…` Ed25519 public key.
pub fn public_key_from_multibase(mb: &str) -> Result<VerifyingKey, DidKeyError> {
    if mb.len() > MAX_DID_LEN {
        return Err(DidKeyError::TooLong);
    }
    let b58 = mb.strip_prefix('z').ok_or(DidKeyError::NotBase58btc)?;
    let bytes = bs58::decode(b58)
        .into_vec()
        .map_err(|_| DidKeyError::NotBase58btc)?;
    let key = bytes
        .strip_prefix(&ED25519_PUB_MULTICODEC[..])
        .ok_or(DidKeyError::WrongMulticodec)?;
    if key.len() != 32 {
        return Err(DidKeyError::KeyLength(key.len()));
    }
    keys::parse_public_key(key).map_err(DidKeyError::BadKey)
}

/// The verification method URL of a did:key: the DID, `#`, and its method-specific identifier
/// (`did:key:z6Mk…#z6Mk…`). A string without the `did:key:` prefix gets the whole string as
/// fragment, which [`did_from_verification_method`] will then reject.
pub fn verification_method(did: &str) -> String {
    let msid = did.strip_prefix(DID_KEY_PREFIX).unwrap_or(did);
    format!("{did}#{msid}")
}

/// The DID of a did:key verification method URL, after checking that its fragment is the DID's
/// own method-specific identifier and that the key decodes.
pub fn did_from_verification_method(vm: &str) -> Result<String, DidKeyError> {
    let (did, fragment) = vm.split_once('#').ok_or(DidKeyError::FragmentMismatch)?;
    public_key_from_did(did)?;
    let msid = did
        .strip_prefix(DID_KEY_PREFIX)
        .ok_or(DidKeyError::NotDidKey)?;
    if fragment != msid {
        return Err(DidKeyError::FragmentMismatch);
    }
    Ok(did.to_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let k = crate::Keypair::from_seed([1; 32]);
        assert!(k.did.starts_with("did:key:z6Mk"));
        assert_eq!(public_key_from_did(&k.did), Ok(k.verifying_key()));
        let vm = verification_method(&k.did);
        assert_eq!(did_from_verification_method(&vm), Ok(k.did.clone()));
        assert_eq!(
            did_from_verification_method(&format!("{}#other", k.did)),
            Err(DidKeyError::FragmentMismatch)
        );
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "did:key:",
            "did:key:z",
            "did:key:zzzz",
            "did:web:x",
            "did:key:0OIl",
        ] {
            assert!(public_key_from_did(bad).is_err(), "{bad}");
        }
        let long = format!("did:key:z{}", "1".repeat(500));
        assert_eq!(public_key_from_did(&long), Err(DidKeyError::TooLong));
    }
}
