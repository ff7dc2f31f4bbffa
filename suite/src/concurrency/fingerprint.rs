//! State fingerprints: a 128-bit digest of a JSON value, cheap enough to take at every version.
//!
//! The checkers compare states by fingerprint, never by walking two JSON trees. A fingerprint
//! depends on the JSON data model only: object members in any order, and numbers by value (`1`
//! and `1.0` are the same number, as in RFC 8785). It is not cryptographic; it guards against
//! accidents, not against a Tool crafting collisions (the receipts' `state_digest`, SHA-256
//! over JCS, does that when recorded).
//!
//! An object's fingerprint is a mix of the wrapping sum of its members' fingerprints, so a merge
//! patch that touches `k` top-level members updates the state's fingerprint in `O(k)` plus the
//! size of the touched members ([`FingerprintedState`]), whatever the size of the state.

use std::hash::{BuildHasher, Hasher};

use serde_json::Value;

/// A 128-bit fingerprint of a JSON value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Fingerprint(pub [u64; 2]);

impl std::fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016x}{:016x}", self.0[0], self.0[1])
    }
}

const K0: u64 = 0x9e37_79b9_7f4a_7c15;
const K1: u64 = 0xc2b2_ae3d_27d4_eb4f;
const K2: u64 = 0x1656_67b1_9e37_79f9;

const TAG_NULL: u64 = 1;
const TAG_BOOL: u64 = 2;
const TAG_NUMBER: u64 = 3;
const TAG_STRING: u64 = 4;
const TAG_ARRAY: u64 = 5;
const TAG_OBJECT: u64 = 6;
const TAG_MEMBER: u64 = 7;

fn fmix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

/// Two independent 64-bit lanes fed word by word.
struct Lanes(u64, u64);

impl Lanes {
    fn new(tag: u64) -> Self {
        let mut l = Lanes(K0, K1);
        l.word(tag);
        l
    }

    fn word(&mut self, w: u64) {
        self.0 = (self.0 ^ w)
            .wrapping_mul(K1)
            .rotate_left(29)
            .wrapping_add(K2);
        self.1 = (self.1.wrapping_add(w))
            .wrapping_mul(K0)
            .rotate_left(37)
            .wrapping_add(K1);
    }

    fn bytes(&mut self, b: &[u8]) {
        self.word(b.len() as u64);
        let mut chunks = b.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.word(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.word(u64::from_le_bytes(w));
        }
    }

    fn finish(&self) -> Fingerprint {
        Fingerprint([
            fmix(self.0 ^ self.1.rotate_left(17)),
            fmix(self.1 ^ self.0.rotate_left(41) ^ K2),
        ])
    }
}

fn number_word(n: &serde_json::Number) -> u64 {
    let f = n
        .as_f64()
        .or_else(|| n.as_i64().map(|i| i as f64))
        .or_else(|| n.as_u64().map(|u| u as f64))
        .unwrap_or(f64::NAN);
    // -0 and 0 are the same JSON number.
    if f == 0.0 { 0 } else { f.to_bits() }
}

/// The wrapping sum of member fingerprints, and its count: the mutable core of an object's
/// fingerprint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct MemberSum {
    sum: u128,
    len: u64,
}

impl MemberSum {
    fn add(&mut self, fp: Fingerprint) {
        self.sum = self.sum.wrapping_add(to_u128(fp));
        self.len += 1;
    }

    fn remove(&mut self, fp: Fingerprint) {
        self.sum = self.sum.wrapping_sub(to_u128(fp));
        self.len = self.len.saturating_sub(1);
    }

    fn finish(&self) -> Fingerprint {
        let mut l = Lanes::new(TAG_OBJECT);
        l.word(self.len);
        l.word(self.sum as u64);
        l.word((self.sum >> 64) as u64);
        l.finish()
    }
}

fn to_u128(fp: Fingerprint) -> u128 {
    (u128::from(fp.0[0]) << 64) | u128::from(fp.0[1])
}

fn member(name: &str, value: Fingerprint) -> Fingerprint {
    let mut l = Lanes::new(TAG_MEMBER);
    l.bytes(name.as_bytes());
    l.word(value.0[0]);
    l.word(value.0[1]);
    l.finish()
}

impl Fingerprint {
    /// The fingerprint of `value`.
    pub fn of(value: &Value) -> Self {
        match value {
            Value::Null => Lanes::new(TAG_NULL).finish(),
            Value::Bool(b) => {
                let mut l = Lanes::new(TAG_BOOL);
                l.word(u64::from(*b));
                l.finish()
            }
            Value::Number(n) => {
                let mut l = Lanes::new(TAG_NUMBER);
                l.word(number_word(n));
                l.finish()
            }
            Value::String(s) => {
                let mut l = Lanes::new(TAG_STRING);
                l.bytes(s.as_bytes());
                l.finish()
            }
            Value::Array(items) => {
                let mut l = Lanes::new(TAG_ARRAY);
                l.word(items.len() as u64);
                for item in items {
                    let fp = Self::of(item);
                    l.word(fp.0[0]);
                    l.word(fp.0[1]);
                }
                l.finish()
            }
            Value::Object(members) => {
                let mut sum = MemberSum::default();
                for (name, v) in members {
                    sum.add(member(name, Self::of(v)));
                }
                sum.finish()
            }
        }
    }
}

/// A session state with its fingerprint kept up to date under merge patches.
#[derive(Clone, Debug)]
pub struct FingerprintedState {
    value: Value,
    members: MemberSum,
}

impl FingerprintedState {
    /// Starts from `value`.
    pub fn new(value: Value) -> Self {
        let members = Self::sum_of(&value);
        Self { value, members }
    }

    fn sum_of(value: &Value) -> MemberSum {
        let mut sum = MemberSum::default();
        if let Value::Object(m) = value {
            for (name, v) in m {
                sum.add(member(name, Fingerprint::of(v)));
            }
        }
        sum
    }

    /// The state.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// The state's fingerprint (equal to `Fingerprint::of(self.value())`).
    pub fn fingerprint(&self) -> Fingerprint {
        if self.value.is_object() {
            self.members.finish()
        } else {
            Fingerprint::of(&self.value)
        }
    }

    /// Applies an RFC 7396 merge patch, in time proportional to the patch and the members it
    /// touches.
    pub fn apply(&mut self, patch: &Value) {
        let (Value::Object(target), Value::Object(members)) = (&mut self.value, patch) else {
            oap_wire::json::merge_patch(&mut self.value, patch);
            self.members = Self::sum_of(&self.value);
            return;
        };
        for (name, p) in members {
            if let Some(old) = target.get(name) {
                self.members.remove(member(name, Fingerprint::of(old)));
            }
            if p.is_null() {
                target.remove(name);
            } else {
                let slot = target.entry(name.clone()).or_insert(Value::Null);
                oap_wire::json::merge_patch(slot, p);
                self.members.add(member(name, Fingerprint::of(slot)));
            }
        }
    }
}

/// A fast, non-cryptographic hasher for the checkers' internal indexes (turn ids, versions),
/// whose keys come from a recorded history, not from an adversary at run time.
#[derive(Clone, Copy, Debug, Default)]
pub struct FastHash;

/// The [`Hasher`] behind [`FastHash`].
#[derive(Clone, Copy, Debug, Default)]
pub struct FastHasher(u64);

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        fmix(self.0)
    }

    fn write(&mut self, bytes: &[u8]) {
        // Keys are identifiers whose distinguishing bytes are at the end (the random part of a
        // ULID): the length, the first and the last two words spread them well. Equality is
        // still decided on the whole key.
        let word = |at: usize| {
            let mut w = [0u8; 8];
            let end = (at + 8).min(bytes.len());
            w[..end - at].copy_from_slice(&bytes[at..end]);
            u64::from_le_bytes(w)
        };
        self.write_u64(bytes.len() as u64);
        if bytes.len() <= 24 {
            for at in (0..bytes.len()).step_by(8) {
                self.write_u64(word(at));
            }
        } else {
            self.write_u64(word(0));
            self.write_u64(word(bytes.len() - 16));
            self.write_u64(word(bytes.len() - 8));
        }
    }

    fn write_u64(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K0);
    }

    fn write_u8(&mut self, w: u8) {
        self.write_u64(u64::from(w));
    }

    fn write_usize(&mut self, w: usize) {
        self.write_u64(w as u64);
    }
}

impl BuildHasher for FastHash {
    type Hasher = FastHasher;

    fn build_hasher(&self) -> FastHasher {
        FastHasher(0)
    }
}

/// A `HashMap` keyed through [`FastHash`].
pub type FastMap<K, V> = std::collections::HashMap<K, V, FastHash>;
