//! The generators reach both sides of every property: bodies that must be accepted and bodies
//! that must be refused, signed requests with and without a changed byte, every kind of edit.
//! Without this, a target whose generator only ever produced one verdict would pass vacuously.

use arbitrary::{Arbitrary, Unstructured};
use oap_fuzz::generate::envelope::EnvelopeInput;
use oap_fuzz::generate::signed::{ChainInput, ProofInput, SigInput};
use oap_fuzz::oracle::httpsig::SigCase;
use oap_fuzz::oracle::proof::ProofCase;

fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn inputs<T: for<'a> Arbitrary<'a>>(n: u64) -> Vec<T> {
    (0..n)
        .filter_map(|i| {
            T::arbitrary_take_rest(Unstructured::new(&noise(i, 64 + (i as usize % 512)))).ok()
        })
        .collect()
}

#[test]
fn envelopes_are_accepted_and_refused() {
    let all: Vec<EnvelopeInput> = inputs(2000);
    let accepted = all.iter().filter(|i| i.0.expect.is_some()).count();
    assert!(
        accepted > all.len() / 10,
        "{accepted} of {} accepted",
        all.len()
    );
    assert!(
        accepted < all.len() * 9 / 10,
        "{accepted} of {} accepted",
        all.len()
    );
}

#[test]
fn signed_requests_are_valid_and_changed() {
    let all: Vec<SigInput> = inputs(2000);
    let signed: Vec<_> = all
        .iter()
        .filter_map(|i| match &i.0 {
            SigCase::Signed(c) => Some(c),
            SigCase::Raw { .. } => None,
        })
        .collect();
    let valid = signed.iter().filter(|c| c.well_formed()).count();
    let changed = signed
        .iter()
        .filter(|c| c.well_formed() && c.change.is_some())
        .count();
    assert!(
        valid > signed.len() / 2,
        "{valid} of {} well formed",
        signed.len()
    );
    assert!(changed > valid / 2, "{changed} of {valid} changed");
}

#[test]
fn credentials_are_mutated() {
    let all: Vec<ProofInput> = inputs(500);
    let mutated = all
        .iter()
        .filter(|i| matches!(i.0, ProofCase::Mutated { .. }))
        .count();
    assert!(mutated > all.len() / 4);
    let chains: Vec<ChainInput> = inputs(500);
    assert!(chains.iter().filter(|c| !c.0.edits.is_empty()).count() > chains.len() / 2);
}
