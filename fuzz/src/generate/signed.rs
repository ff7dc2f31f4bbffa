//! Inputs of `httpsig_headers`, `credential_proof` and `receipt_chain`: the first byte picks raw
//! bytes (even) or a structured case (odd), so the committed seeds can hold real header values
//! and documents while the fuzzer still explores generated requests and edits.

use std::fmt;

use arbitrary::{Arbitrary, Result, Unstructured};

use super::tree::{self, NAMES, WORDS};
use crate::oracle::bytes::Bytes;
use crate::oracle::chain::{ChainCase, ChainEdit, SessionChoice, ToolChoice};
use crate::oracle::httpsig::{ByteChange, Part, SigCase, SignedCase};
use crate::oracle::proof::ProofCase;
use crate::oracle::value::Mutation;

macro_rules! json_debug {
    ($t:ident) => {
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&serde_json::to_string(&self.0).map_err(|_| fmt::Error)?)
            }
        }
    };
}

/// The input of `httpsig_headers`; `Debug` prints the case as JSON.
pub struct SigInput(pub SigCase);
/// The input of `credential_proof`; `Debug` prints the case as JSON.
pub struct ProofInput(pub ProofCase);
/// The input of `receipt_chain`; `Debug` prints the case as JSON.
pub struct ChainInput(pub ChainCase);
json_debug!(SigInput);
json_debug!(ProofInput);
json_debug!(ChainInput);

/// Splits raw bytes at the first line feed, each half read as (lossy) UTF-8.
pub fn two_lines(data: &[u8]) -> (String, String) {
    let (a, b) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    (
        String::from_utf8_lossy(a).into_owned(),
        String::from_utf8_lossy(b).into_owned(),
    )
}

fn raw_mode(u: &mut Unstructured<'_>) -> Result<bool> {
    Ok(u8::arbitrary(u)? % 2 == 0)
}

fn chars(u: &mut Unstructured<'_>, alphabet: &[u8], min: usize, max: usize) -> Result<String> {
    let len = u.int_in_range(min..=max)?;
    let mut s = String::with_capacity(len);
    for _ in 0..len {
        s.push(char::from(*u.choose(alphabet)?));
    }
    Ok(s)
}

const NONCE: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
const PATH: &[u8] =
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHJKMNPQRSTVWXYZ0123456789_-.~%/:@!$&'()*+,;=";
const PARTS: [Part; 7] = [
    Part::Method,
    Part::TargetUri,
    Part::ContentType,
    Part::ContentDigest,
    Part::Body,
    Part::SignatureInput,
    Part::Signature,
];

fn signed_case(u: &mut Unstructured<'_>) -> Result<SignedCase> {
    let method = if u.ratio(7, 8)? {
        (*u.choose(&["POST", "GET", "DELETE", "PUT"])?).to_owned()
    } else {
        chars(
            u,
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&'*+-.^_`|~",
            1,
            12,
        )?
    };
    let host = *u.choose(&["localhost:8080", "127.0.0.1:1", "tool.example", "[::1]:9"])?;
    let path = *u.choose(&[
        "/oap/session/create",
        "/oap/invoke",
        "/oap/data_delete",
        "/oap/session/ses_01HZY3K7Q8W9X0ABCDEFGHJKMN/update",
        "/oap/session/ses_01HZY3K7Q8W9X0ABCDEFGHJKMN/log?from=0&limit=10",
    ])?;
    let extra = if u.ratio(1, 4)? {
        chars(u, PATH, 0, 40)?
    } else {
        String::new()
    };
    let scheme = if bool::arbitrary(u)? { "http" } else { "https" };
    let target_uri = format!("{scheme}://{host}{path}{extra}");
    let body = if method == "GET" || u.ratio(1, 4)? {
        None
    } else if bool::arbitrary(u)? {
        let b = *u.choose(&[
            &br#"{"envelope_version":"1.0","input":{}}"#[..],
            br#"{"envelope_version":"1.0","action":"echo","input":{"x":1}}"#,
            b"{}",
            b"",
        ])?;
        Some(b.to_vec())
    } else {
        Some(Vec::<u8>::arbitrary(u)?)
    };
    let content_type = body.as_ref().map(|_| {
        u.choose(&[
            "application/json",
            "application/json; charset=utf-8",
            "text/plain",
        ])
        .map(|s| (*s).to_owned())
    });
    let created = if u.ratio(7, 8)? {
        1_700_000_000 + i64::from(u32::arbitrary(u)?)
    } else {
        i64::arbitrary(u)? % 1_000_000_000_000_000
    };
    let label = if u.ratio(3, 4)? {
        (*u.choose(&["sig1", "sig", "a", "*x.y-z_0"])?).to_owned()
    } else {
        let first = chars(u, b"abcdefghijklmnopqrstuvwxyz*", 1, 1)?;
        first + &chars(u, b"abcdefghijklmnopqrstuvwxyz0123456789_-.*", 0, 20)?
    };
    let change = if u.ratio(3, 4)? {
        Some(ByteChange {
            part: *u.choose(&PARTS)?,
            index: usize::from(u16::arbitrary(u)?),
            byte: u8::arbitrary(u)?,
        })
    } else {
        None
    };
    Ok(SignedCase {
        key_seed: u8::arbitrary(u)?,
        method,
        target_uri,
        content_type: content_type.transpose()?,
        body: body.map(Bytes),
        created,
        nonce: chars(u, NONCE, 16, 128)?,
        label,
        change,
    })
}

impl<'a> Arbitrary<'a> for SigInput {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        if raw_mode(u)? {
            let (signature_input, signature) = two_lines(u.bytes(u.len())?);
            return Ok(Self(SigCase::Raw {
                signature_input,
                signature,
            }));
        }
        Ok(Self(SigCase::Signed(signed_case(u)?)))
    }
}

fn key(u: &mut Unstructured<'_>) -> Result<String> {
    Ok(if u.ratio(3, 4)? {
        let pool = [
            NAMES,
            &[
                "proofValue",
                "verificationMethod",
                "cryptosuite",
                "proofPurpose",
                "created",
                "@context",
                "receipt_hash",
                "prev_receipt_hash",
                "state_version",
                "state_digest",
                "previous_turn_id",
                "actor",
            ],
        ];
        let which = usize::from(bool::arbitrary(u)?);
        (*u.choose(pool[which])?).to_owned()
    } else {
        String::arbitrary(u)?
    })
}

/// One edit of a signed document.
pub fn mutation(u: &mut Unstructured<'_>) -> Result<Mutation> {
    let node = usize::from(u16::arbitrary(u)?);
    Ok(match u.int_in_range(0..=5u8)? {
        0 => Mutation::Replace {
            node,
            value: if bool::arbitrary(u)? {
                serde_json::Value::String((*u.choose(WORDS)?).to_owned())
            } else {
                tree::value(u, 2)?
            },
        },
        1 => Mutation::Remove { node },
        2 => Mutation::Insert {
            node,
            key: key(u)?,
            value: tree::value(u, 2)?,
        },
        3 => Mutation::Rename { node, key: key(u)? },
        _ => Mutation::ChangeByte {
            node,
            index: usize::from(u16::arbitrary(u)?),
            byte: u8::arbitrary(u)?,
        },
    })
}

fn mutations(u: &mut Unstructured<'_>) -> Result<Vec<Mutation>> {
    let n = u.int_in_range(1..=3u8)?;
    (0..n).map(|_| mutation(u)).collect()
}

impl<'a> Arbitrary<'a> for ProofInput {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        if raw_mode(u)? {
            return Ok(Self(ProofCase::Document(Bytes(u.bytes(u.len())?.to_vec()))));
        }
        Ok(Self(ProofCase::Mutated {
            credential: usize::from(u8::arbitrary(u)?),
            mutations: mutations(u)?,
        }))
    }
}

impl<'a> Arbitrary<'a> for ChainInput {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let chain = usize::from(u8::arbitrary(u)?);
        let session = if u.ratio(15, 16)? {
            SessionChoice::Own
        } else if bool::arbitrary(u)? {
            SessionChoice::Other((*u.choose(WORDS)?).to_owned())
        } else {
            SessionChoice::Other(String::arbitrary(u)?)
        };
        let tool = match u.int_in_range(0..=7u8)? {
            0 => ToolChoice::Absent,
            1 => ToolChoice::Other(u8::arbitrary(u)?),
            _ => ToolChoice::Given,
        };
        let n = u.int_in_range(0..=3u8)?;
        let mut edits = Vec::new();
        for _ in 0..n {
            let i = usize::from(u8::arbitrary(u)?);
            edits.push(match u.int_in_range(0..=9u8)? {
                0 => ChainEdit::Drop(i),
                1 => ChainEdit::Swap(i, usize::from(u8::arbitrary(u)?)),
                2 => ChainEdit::Duplicate {
                    from: i,
                    at: usize::from(u8::arbitrary(u)?),
                },
                3 => ChainEdit::Truncate(i % 6),
                4 => ChainEdit::Splice(i),
                _ => ChainEdit::Mutate {
                    receipt: i,
                    mutation: mutation(u)?,
                },
            });
        }
        Ok(Self(ChainCase {
            chain,
            session,
            tool,
            edits,
        }))
    }
}
