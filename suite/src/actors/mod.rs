//! The actors of one vector run: named did:key identities that sign requests
//! and issue credentials.
//!
//! Every vector run gets fresh keys, drawn from a generator derived from the
//! run's seed and the vector's id ([`crate::seed`]), so DIDs, nonces and
//! credentials never collide across vectors or across runs with different
//! seeds, and a run's identities can be reproduced from its seed. Names are local to
//! the vector (`convener`, `alice`, `outsider`); an actor is created the first
//! time its name is used.

pub mod credential;
pub mod signer;

use std::collections::BTreeMap;
use std::sync::Arc;

use oap_wire::Keypair;
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};

pub use credential::{CredentialError, CredentialKind, CredentialSpec};
pub use signer::{SignError, SignedRequest, sign_request};

/// Named identities of one vector run.
#[derive(Debug)]
pub struct Actors {
    keys: BTreeMap<String, Arc<Keypair>>,
    rng: StdRng,
}

impl Default for Actors {
    fn default() -> Self {
        Actors::seeded(StdRng::from_entropy())
    }
}

impl Actors {
    /// An empty set with keys from the operating system's randomness; actors
    /// are created on first use.
    pub fn new() -> Self {
        Actors::default()
    }

    /// An empty set whose keys are drawn from `rng`: the same generator state
    /// gives the same actors, in the order they are first used.
    pub fn seeded(rng: StdRng) -> Self {
        Actors {
            keys: BTreeMap::new(),
            rng,
        }
    }

    /// The actor's key pair, created with a fresh key on first use.
    pub fn get(&mut self, name: &str) -> Arc<Keypair> {
        let rng = &mut self.rng;
        Arc::clone(self.keys.entry(name.to_owned()).or_insert_with(|| {
            let mut seed = [0u8; 32];
            rng.fill_bytes(&mut seed);
            Arc::new(Keypair::from_seed(seed))
        }))
    }

    /// The actor's DID (creating the actor if needed).
    pub fn did(&mut self, name: &str) -> String {
        self.get(name).did.clone()
    }

    /// The actor whose DID this is, if any.
    pub fn name_of(&self, did: &str) -> Option<&str> {
        self.keys
            .iter()
            .find(|(_, k)| k.did == did)
            .map(|(n, _)| n.as_str())
    }

    /// Every actor created so far, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Keypair)> {
        self.keys.iter().map(|(n, k)| (n.as_str(), k.as_ref()))
    }
}

/// A fresh nonce from the operating system's randomness: 16 random bytes in
/// base64url without padding (22 characters of `[A-Za-z0-9_-]`). Vector runs
/// draw theirs from the run's seed instead ([`crate::seed::nonce`]).
pub fn fresh_nonce() -> String {
    crate::seed::nonce(&mut rand::rngs::OsRng)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_are_fresh_and_stable_within_a_run() {
        let mut a = Actors::new();
        let alice = a.did("alice");
        assert_eq!(a.did("alice"), alice);
        assert_ne!(a.did("bob"), alice);
        assert!(alice.starts_with("did:key:z6Mk"));
        assert_eq!(a.name_of(&alice), Some("alice"));
        let mut b = Actors::new();
        assert_ne!(b.did("alice"), alice);
    }

    #[test]
    fn seeded_actors_are_reproducible() {
        let mut a = Actors::seeded(crate::seed::derive(9, "v"));
        let mut b = Actors::seeded(crate::seed::derive(9, "v"));
        let mut c = Actors::seeded(crate::seed::derive(10, "v"));
        assert_eq!(a.did("convener"), b.did("convener"));
        assert_eq!(a.did("alice"), b.did("alice"));
        assert_ne!(a.did("convener"), c.did("convener"));
        assert_ne!(a.did("convener"), a.did("alice"));
    }

    #[test]
    fn nonces_are_valid_and_distinct() {
        let n = fresh_nonce();
        assert_eq!(n.len(), 22);
        assert!(oap_wire::httpsig::is_valid_nonce(&n));
        assert_ne!(n, fresh_nonce());
    }
}
