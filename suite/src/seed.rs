//! The run's seed and every random value derived from it.
//!
//! One `u64` seed (`--seed N`, or drawn at random and recorded in the report)
//! drives everything random in a run: the run id, each vector's actor keys,
//! the random part of the session and turn ids it generates, and its request
//! and credential nonces. Each vector draws from its own generator, derived
//! from the seed and the vector's id, so the values do not depend on the order
//! in which concurrent vectors happen to run. Concurrency scenarios read the
//! seed from the run context ([`crate::runner::RunContext::seed`]).
//!
//! Two runs with the same seed (and the same suite version) generate the same
//! identities and nonces. That reproduces a run against a fresh Tool; against
//! a Tool that remembers an earlier run, a reused seed reuses identities and
//! nonces, which that Tool rightly refuses, so reruns against a shared
//! endpoint use a fresh seed (the default). Identifiers stay unique across
//! runs in any case: their time part is the current time.

use rand::rngs::StdRng;
use rand::{Rng as _, RngCore, SeedableRng};
use sha2::{Digest, Sha256};

/// A generator derived from the run's seed for one purpose (`label`), e.g.
/// `actors/oap.lifecycle.001`.
pub fn derive(seed: u64, label: &str) -> StdRng {
    let digest: [u8; 32] = Sha256::new()
        .chain_update(b"oap-conform seed v1\0")
        .chain_update(seed.to_be_bytes())
        .chain_update(label.as_bytes())
        .finalize()
        .into();
    StdRng::from_seed(digest)
}

/// A nonce: 16 random bytes in base64url without padding (22 characters of
/// `[A-Za-z0-9_-]`).
pub fn nonce(rng: &mut impl RngCore) -> String {
    use base64::Engine;
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A ULID with the current time and 80 random bits from `rng`.
pub fn ulid(rng: &mut impl RngCore) -> ulid::Ulid {
    let now_ms = u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0),
    )
    .unwrap_or(u64::MAX);
    ulid::Ulid::from_parts(now_ms, rng.r#gen::<u128>())
}

/// A fresh session id (`ses_` + ULID).
pub fn session_id(rng: &mut impl RngCore) -> oap_wire::ids::SessionId {
    oap_wire::ids::SessionId::from_ulid(ulid(rng))
}

/// A fresh turn id (`trn_` + ULID).
pub fn turn_id(rng: &mut impl RngCore) -> oap_wire::ids::TurnId {
    oap_wire::ids::TurnId::from_ulid(ulid(rng))
}

/// The run id of a run with this seed.
pub fn run_id(seed: u64) -> String {
    ulid(&mut derive(seed, "run")).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_generators_depend_on_seed_and_label_only() {
        let draw = |seed, label| nonce(&mut derive(seed, label));
        assert_eq!(draw(7, "a"), draw(7, "a"));
        assert_ne!(draw(7, "a"), draw(8, "a"));
        assert_ne!(draw(7, "a"), draw(7, "b"));
        let n = draw(7, "a");
        assert_eq!(n.len(), 22);
        assert!(oap_wire::httpsig::is_valid_nonce(&n));
    }

    #[test]
    fn ids_are_valid_with_seeded_random_parts() {
        let s = session_id(&mut derive(1, "x"));
        let t = turn_id(&mut derive(1, "x"));
        assert!(oap_wire::ids::is_valid_session_id(s.as_str()));
        assert!(oap_wire::ids::is_valid_turn_id(t.as_str()));
        // Same generator state, same random part (the time part may differ).
        assert_eq!(s.ulid_str()[10..], t.ulid_str()[10..]);
        assert_ne!(
            session_id(&mut derive(1, "x")).ulid_str()[10..],
            session_id(&mut derive(2, "x")).ulid_str()[10..]
        );
    }
}
