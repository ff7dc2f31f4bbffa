//! Ed25519 key pairs and the profile's strict signature-verification policy.
//!
//! RFC 8032 leaves room for verifiers to disagree on edge cases (non-canonical point encodings,
//! points of small order, the cofactor). A conformance suite must pin one answer, so every
//! signature in the wire profile is checked by [`verify_strict`], which accepts a signature only
//! when all of the following hold:
//!
//! * the signature is 64 bytes and its scalar `S` is canonical (`S < L`, RFC 8032 §5.1.7);
//! * the public key `A` and the commitment `R` are canonical encodings (`y < p`, and no
//!   "negative zero" `x`), as RFC 8032 §5.1.3 requires of a decoder;
//! * neither `A` nor `R` is of small order (the eight torsion points);
//! * the cofactorless equation `[S]B = R + [k]A` holds with `R` compared byte for byte
//!   (ed25519-dalek's `verify_strict`).
//!
//! Points with a torsion component that are not themselves of small order ("mixed order") are
//! accepted: no blocklist can reject them, and the cofactorless equation is deterministic for them.
//! The checks before the equation are made here explicitly, so that each rejection is reported
//! with its reason and does not depend on the internals of the curve library.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rand_core::OsRng;

use crate::didkey;

/// Length in bytes of an Ed25519 signature.
pub const SIGNATURE_LENGTH: usize = 64;

/// The group order `L` = 2^252 + 27742317777372353535851937790883648493, little-endian.
const ORDER_L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
];

/// Why a signature was rejected by [`verify_strict`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The signature is not 64 bytes long.
    #[error("signature must be 64 bytes, got {0}")]
    Length(usize),
    /// The public key is not 32 bytes long.
    #[error("public key must be 32 bytes, got {0}")]
    KeyLength(usize),
    /// The public key `A` is not the canonical encoding of a point.
    #[error("public key is not a canonical point encoding")]
    NonCanonicalKey,
    /// The public key `A` does not decode to a curve point.
    #[error("public key is not a curve point")]
    InvalidKey,
    /// The public key `A` is of small order.
    #[error("public key is of small order")]
    SmallOrderKey,
    /// The commitment `R` is not the canonical encoding of a point.
    #[error("signature R is not a canonical point encoding")]
    NonCanonicalR,
    /// The commitment `R` does not decode to a curve point.
    #[error("signature R is not a curve point")]
    InvalidR,
    /// The commitment `R` is of small order.
    #[error("signature R is of small order")]
    SmallOrderR,
    /// The scalar `S` is not reduced modulo `L`.
    #[error("signature S is not below the group order L")]
    ScalarOutOfRange,
    /// The verification equation does not hold.
    #[error("signature does not verify")]
    Mismatch,
}

/// An Ed25519 signing key together with its `did:key`.
#[derive(Clone)]
pub struct Keypair {
    /// The secret signing key.
    pub signing: SigningKey,
    /// The key's `did:key:z6Mk…` identifier.
    pub did: String,
}

impl std::fmt::Debug for Keypair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret half.
        f.debug_struct("Keypair")
            .field("did", &self.did)
            .finish_non_exhaustive()
    }
}

impl Keypair {
    /// A fresh key pair from the operating system's random number generator.
    pub fn generate() -> Self {
        Self::from_signing_key(SigningKey::generate(&mut OsRng))
    }

    /// The key pair whose RFC 8032 secret key (seed) is `seed`.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self::from_signing_key(SigningKey::from_bytes(&seed))
    }

    /// Wraps an existing signing key.
    pub fn from_signing_key(signing: SigningKey) -> Self {
        let did = didkey::did_from_public_key(&signing.verifying_key());
        Self { signing, did }
    }

    /// The public half.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    /// The `did:key` verification method URL (`did:key:z6Mk…#z6Mk…`) of this key.
    pub fn verification_method(&self) -> String {
        didkey::verification_method(&self.did)
    }

    /// A deterministic RFC 8032 Ed25519 signature over `msg`.
    pub fn sign(&self, msg: &[u8]) -> [u8; SIGNATURE_LENGTH] {
        self.signing.sign(msg).to_bytes()
    }
}

/// Verifies `sig` over `msg` under `pk` with the profile's strict policy (module docs).
pub fn verify_strict(pk: &VerifyingKey, msg: &[u8], sig: &[u8]) -> Result<(), SignatureError> {
    let sig: &[u8; SIGNATURE_LENGTH] = sig
        .try_into()
        .map_err(|_| SignatureError::Length(sig.len()))?;
    check_key(pk.as_bytes())?;
    let mut r = [0u8; 32];
    r.copy_from_slice(&sig[..32]);
    let mut s = [0u8; 32];
    s.copy_from_slice(&sig[32..]);
    if !is_canonical_point_encoding(&r) {
        return Err(SignatureError::NonCanonicalR);
    }
    // A point that decodes as a key decodes as R too: reuse the key type to inspect R.
    let r_point = VerifyingKey::from_bytes(&r).map_err(|_| SignatureError::InvalidR)?;
    if r_point.is_weak() {
        return Err(SignatureError::SmallOrderR);
    }
    if !is_canonical_scalar(&s) {
        return Err(SignatureError::ScalarOutOfRange);
    }
    pk.verify_strict(msg, &Signature::from_bytes(sig))
        .map_err(|_| SignatureError::Mismatch)
}

/// Like [`verify_strict`], with the public key given as raw bytes (as test vectors give it).
pub fn verify_strict_bytes(pk: &[u8], msg: &[u8], sig: &[u8]) -> Result<(), SignatureError> {
    let pk = parse_public_key(pk)?;
    verify_strict(&pk, msg, sig)
}

/// Decodes a 32-byte public key, applying the policy's checks on `A` (canonical, on the curve,
/// not of small order).
pub fn parse_public_key(pk: &[u8]) -> Result<VerifyingKey, SignatureError> {
    let bytes: &[u8; 32] = pk
        .try_into()
        .map_err(|_| SignatureError::KeyLength(pk.len()))?;
    check_key(bytes)
}

fn check_key(bytes: &[u8; 32]) -> Result<VerifyingKey, SignatureError> {
    if !is_canonical_point_encoding(bytes) {
        return Err(SignatureError::NonCanonicalKey);
    }
    let key = VerifyingKey::from_bytes(bytes).map_err(|_| SignatureError::InvalidKey)?;
    if key.is_weak() {
        return Err(SignatureError::SmallOrderKey);
    }
    Ok(key)
}

/// Whether `enc` is the canonical encoding of an Edwards point's `y` and sign of `x`: the 255-bit
/// `y` is below p = 2^255 − 19, and the sign bit is clear when `x` is zero (which happens exactly
/// for y = 1 and y = p − 1). This does not check that the point is on the curve.
pub fn is_canonical_point_encoding(enc: &[u8; 32]) -> bool {
    let sign = enc[31] & 0x80 != 0;
    let mut y = *enc;
    y[31] &= 0x7f;
    // y >= p iff y is one of 2^255-19 ..= 2^255-1: bytes 1..31 all 0xff, top byte 0x7f and the
    // low byte at least 0xed.
    let high_all_ones = y[1..31].iter().all(|&b| b == 0xff) && y[31] == 0x7f;
    if high_all_ones && y[0] >= 0xed {
        return false;
    }
    if sign {
        let is_one = y[0] == 1 && y[1..].iter().all(|&b| b == 0);
        let is_minus_one = high_all_ones && y[0] == 0xec;
        if is_one || is_minus_one {
            return false;
        }
    }
    true
}

/// Whether the little-endian scalar `s` is below the group order `L`.
pub fn is_canonical_scalar(s: &[u8; 32]) -> bool {
    for i in (0..32).rev() {
        if s[i] != ORDER_L[i] {
            return s[i] < ORDER_L[i];
        }
    }
    false
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn scalar_bounds() {
        assert!(!is_canonical_scalar(&ORDER_L));
        let mut below = ORDER_L;
        below[0] -= 1;
        assert!(is_canonical_scalar(&below));
        assert!(is_canonical_scalar(&[0u8; 32]));
        assert!(!is_canonical_scalar(&[0xff; 32]));
    }

    #[test]
    fn point_encodings() {
        let mut p = [0xffu8; 32];
        p[0] = 0xed;
        p[31] = 0x7f;
        assert!(!is_canonical_point_encoding(&p));
        p[0] = 0xec;
        assert!(is_canonical_point_encoding(&p));
        p[31] = 0xff;
        assert!(!is_canonical_point_encoding(&p), "x = -0 for y = -1");
        let mut one = [0u8; 32];
        one[0] = 1;
        assert!(is_canonical_point_encoding(&one));
        one[31] = 0x80;
        assert!(!is_canonical_point_encoding(&one), "x = -0 for y = 1");
    }

    #[test]
    fn sign_and_verify() {
        let k = Keypair::from_seed([7; 32]);
        let sig = k.sign(b"hello");
        assert_eq!(verify_strict(&k.verifying_key(), b"hello", &sig), Ok(()));
        assert_eq!(
            verify_strict(&k.verifying_key(), b"hellO", &sig),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_strict(&k.verifying_key(), b"hello", &sig[..63]),
            Err(SignatureError::Length(63))
        );
        assert!(format!("{k:?}").contains(&k.did));
    }
}
