//! The actors of one vector run: named did:key identities that sign requests
//! and issue credentials.
//!
//! Every vector run gets fresh keys (from the operating system's random
//! generator), so DIDs, nonces and credentials never collide across vectors,
//! parallel runs or reruns against a shared vendor endpoint. Names are local to
//! the vector (`convener`, `alice`, `outsider`); an actor is created the first
//! time its name is used.

pub mod credential;
pub mod signer;

use std::collections::BTreeMap;
use std::sync::Arc;

use oap_wire::Keypair;

pub use credential::{CredentialError, CredentialKind, CredentialSpec};
pub use signer::{SignError, SignedRequest, sign_request};

/// Named identities of one vector run.
#[derive(Debug, Default)]
pub struct Actors {
    keys: BTreeMap<String, Arc<Keypair>>,
}

impl Actors {
    /// An empty set; actors are created on first use.
    pub fn new() -> Self {
        Actors::default()
    }

    /// The actor's key pair, created with a fresh key on first use.
    pub fn get(&mut self, name: &str) -> Arc<Keypair> {
        Arc::clone(
            self.keys
                .entry(name.to_owned())
                .or_insert_with(|| Arc::new(Keypair::generate())),
        )
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

/// A fresh random nonce: 16 random bytes in base64url without padding
/// (22 characters of `[A-Za-z0-9_-]`).
pub fn fresh_nonce() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
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
    fn nonces_are_valid_and_distinct() {
        let n = fresh_nonce();
        assert_eq!(n.len(), 22);
        assert!(oap_wire::httpsig::is_valid_nonce(&n));
        assert_ne!(n, fresh_nonce());
    }
}
