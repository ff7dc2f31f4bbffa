//! JSON documents as trees that can also hold what a `serde_json::Value` cannot: repeated member
//! names, chosen number spellings and string escapes, so that a generated body can be written
//! exactly as a hostile client would, while the tree still knows the value it denotes.

use arbitrary::{Arbitrary, Result, Unstructured};
use serde_json::{Map, Number, Value};

/// How a string is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Arbitrary)]
pub enum Escape {
    /// Minimal escapes, other characters as UTF-8.
    Plain,
    /// Every non-ASCII character as `\uXXXX` (surrogate pairs beyond the BMP), `/` as `\/`.
    Ascii,
    /// Every character as `\uXXXX`.
    All,
}

/// A JSON tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer, written in decimal.
    Int(i64),
    /// A float with a short exact decimal form, written with a fraction.
    Float(f64),
    /// A string.
    Str(String, Escape),
    /// A number or other literal written verbatim, and the value it denotes (`None`: the body
    /// must be refused).
    Literal(&'static str, Option<Value>),
    /// A string written with one raw (unescaped) control character appended: refused.
    RawControl(String, u8),
    /// A string holding an unpaired surrogate escape: refused.
    LoneSurrogate(String, u16),
    /// An array.
    Arr(Vec<Node>),
    /// An object; member names may repeat (then the body must be refused).
    Obj(Vec<(String, Escape, Node)>),
    /// `levels` single-element arrays (or single-member objects `{"a": …}`) around a node.
    /// Kept flat so that 20,000 levels cost no recursion here.
    Nested {
        /// How many containers.
        levels: usize,
        /// Objects rather than arrays.
        objects: bool,
        /// The innermost node.
        inner: Box<Node>,
    },
}

/// Deeper than any limit the targets use: such a body must be refused, so its value is never
/// built.
const BEYOND_ANY_LIMIT: usize = 128;

/// Number literals at the edges of the profile's rules, with the value each denotes.
pub fn edge_literal(i: usize) -> Node {
    let f = |x: f64| Number::from_f64(x).map(Value::Number);
    let n = |x: i64| Some(Value::Number(x.into()));
    let table: [(&'static str, Option<Value>); 26] = [
        ("9007199254740991", n(9_007_199_254_740_991)),
        ("-9007199254740991", n(-9_007_199_254_740_991)),
        ("9007199254740992", None),
        ("-9007199254740992", None),
        ("18446744073709551616", None),
        ("123456789012345678901234567890", None),
        ("00", None),
        ("01", None),
        ("-0", f(-0.0)),
        ("0.0", f(0.0)),
        ("1e300", f(1e300)),
        ("1E2", f(100.0)),
        ("1e400", None),
        ("-1e400", None),
        ("0.1", f(0.1)),
        ("1.5e3", f(1500.0)),
        ("9007199254740993.0", f(9_007_199_254_740_992.0)),
        ("1.", None),
        (".5", None),
        ("+1", None),
        ("1e", None),
        ("0x10", None),
        ("NaN", None),
        ("Infinity", None),
        ("-", None),
        ("tru", None),
    ];
    let (lit, v) = table[i % table.len()].clone();
    Node::Literal(lit, v)
}

/// Member names of the profile, so that generated bodies look like envelopes.
pub const NAMES: &[&str] = &[
    "envelope_version",
    "session",
    "session_id",
    "turn_id",
    "expected_version",
    "action",
    "input",
    "patch",
    "state",
    "scope",
    "ccc",
    "clearance",
    "ttl_seconds",
    "admission",
    "revocation",
    "handoff",
    "proof",
    "type",
    "issuer",
    "subject",
    "nonce",
    "issued_at",
    "expires_at",
    "conformance",
    "title",
    "step",
];

/// Strings of the profile.
pub const WORDS: &[&str] = &[
    "1.0",
    "2.0",
    "echo",
    "ses_01HZY3K7Q8W9X0ABCDEFGHJKMN",
    "trn_01HZY3K7Q8W9X0ABCDEFGHJKMN",
    "ses_8ZZZZZZZZZZZZZZZZZZZZZZZZZ",
    "ses_01hzy3k7q8w9x0abcdefghjkmn",
    "trn_",
    "ses_",
    "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
    "internal",
    "confidential",
    "public",
    "restricted",
    "SessionAdmission",
    "DataIntegrityProof",
    "eddsa-jcs-2022",
    "2025-01-01T00:00:00Z",
    "",
];

fn name(u: &mut Unstructured<'_>) -> Result<String> {
    Ok(if u.ratio(3, 4)? {
        (*u.choose(NAMES)?).to_owned()
    } else {
        String::arbitrary(u)?
    })
}

fn scalar(u: &mut Unstructured<'_>) -> Result<Node> {
    Ok(match u.int_in_range(0..=7u8)? {
        0 => Node::Null,
        1 => Node::Bool(bool::arbitrary(u)?),
        2 => Node::Int(i64::from(i32::arbitrary(u)?)),
        3 => {
            Node::Float(f64::from(i32::arbitrary(u)?) / f64::from(1u16 << u.int_in_range(0..=8u8)?))
        }
        4 => Node::Str((*u.choose(WORDS)?).to_owned(), Escape::arbitrary(u)?),
        5 => edge_literal(usize::from(u8::arbitrary(u)?)),
        _ => Node::Str(String::arbitrary(u)?, Escape::arbitrary(u)?),
    })
}

/// A tree at most `depth` containers deep, with distinct member names.
pub fn node(u: &mut Unstructured<'_>, depth: u8) -> Result<Node> {
    if depth == 0 || u.ratio(1, 2)? {
        return scalar(u);
    }
    let len = u.int_in_range(0..=4u8)?;
    if bool::arbitrary(u)? {
        let mut items = Vec::new();
        for _ in 0..len {
            items.push(node(u, depth - 1)?);
        }
        Ok(Node::Arr(items))
    } else {
        object(u, depth, len)
    }
}

/// An object of up to `len` members with distinct names.
pub fn object(u: &mut Unstructured<'_>, depth: u8, len: u8) -> Result<Node> {
    let mut members: Vec<(String, Escape, Node)> = Vec::new();
    for _ in 0..len {
        let k = name(u)?;
        let v = node(u, depth.saturating_sub(1))?;
        if !members.iter().any(|(m, _, _)| *m == k) {
            members.push((k, Escape::arbitrary(u)?, v));
        }
    }
    Ok(Node::Obj(members))
}

/// A plain JSON value (no edge literals that must be refused), for edits of signed documents.
pub fn value(u: &mut Unstructured<'_>, depth: u8) -> Result<Value> {
    let n = node(u, depth)?;
    Ok(n.value().unwrap_or(Value::Null))
}

impl Node {
    /// The value the tree denotes; `None` when its text must be refused (a repeated name, an
    /// out-of-range or malformed literal, a raw control character, a lone surrogate).
    pub fn value(&self) -> Option<Value> {
        Some(match self {
            Self::Null => Value::Null,
            Self::Bool(b) => Value::Bool(*b),
            Self::Int(i) => {
                if i.unsigned_abs() > oap_wire::json::MAX_SAFE_INTEGER {
                    return None;
                }
                Value::Number((*i).into())
            }
            Self::Float(x) => Value::Number(Number::from_f64(*x)?),
            Self::Str(s, _) => Value::String(s.clone()),
            Self::Literal(_, v) => v.clone()?,
            Self::RawControl(..) | Self::LoneSurrogate(..) => return None,
            Self::Arr(items) => Value::Array(items.iter().map(Node::value).collect::<Option<_>>()?),
            Self::Obj(members) => {
                let mut m = Map::new();
                for (k, _, v) in members {
                    if m.insert(k.clone(), v.value()?).is_some() {
                        return None;
                    }
                }
                Value::Object(m)
            }
            Self::Nested {
                levels,
                objects,
                inner,
            } => {
                if *levels > BEYOND_ANY_LIMIT {
                    return None;
                }
                let mut v = inner.value()?;
                for _ in 0..*levels {
                    v = if *objects {
                        Value::Object(Map::from_iter([("a".to_owned(), v)]))
                    } else {
                        Value::Array(vec![v])
                    };
                }
                v
            }
        })
    }

    /// Nesting depth (a scalar is 0, `[]` is 1).
    pub fn depth(&self) -> usize {
        let mut max = 0;
        let mut stack = vec![(self, 0usize)];
        while let Some((n, d)) = stack.pop() {
            match n {
                Self::Arr(items) => {
                    max = max.max(d + 1);
                    stack.extend(items.iter().map(|i| (i, d + 1)));
                }
                Self::Obj(members) => {
                    max = max.max(d + 1);
                    stack.extend(members.iter().map(|(_, _, v)| (v, d + 1)));
                }
                Self::Nested { levels, inner, .. } => {
                    max = max.max(d + levels);
                    stack.push((inner, d + levels));
                }
                _ => max = max.max(d),
            }
        }
        max
    }

    /// Writes the tree; `ws` is inserted around structural characters.
    pub fn write(&self, out: &mut Vec<u8>, ws: &str) {
        match self {
            Self::Null => out.extend_from_slice(b"null"),
            Self::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Self::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
            Self::Float(x) => out.extend_from_slice(format!("{x:?}").as_bytes()),
            Self::Literal(lit, _) => out.extend_from_slice(lit.as_bytes()),
            Self::Str(s, e) => write_string(out, s, *e),
            Self::RawControl(s, c) => {
                write_string(out, s, Escape::Plain);
                out.pop();
                out.push(c % 0x20);
                out.push(b'"');
            }
            Self::LoneSurrogate(s, unit) => {
                write_string(out, s, Escape::Plain);
                out.pop();
                out.extend_from_slice(format!("\\u{:04x}", 0xd800 | (unit & 0x7ff)).as_bytes());
                out.push(b'"');
            }
            Self::Nested {
                levels,
                objects,
                inner,
            } => {
                let (open, close): (&[u8], &[u8]) = if *objects {
                    (b"{\"a\":", b"}")
                } else {
                    (b"[", b"]")
                };
                for _ in 0..*levels {
                    out.extend_from_slice(open);
                    out.extend_from_slice(ws.as_bytes());
                }
                inner.write(out, ws);
                for _ in 0..*levels {
                    out.extend_from_slice(ws.as_bytes());
                    out.extend_from_slice(close);
                }
            }
            Self::Arr(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(ws.as_bytes());
                    item.write(out, ws);
                }
                out.extend_from_slice(ws.as_bytes());
                out.push(b']');
            }
            Self::Obj(members) => {
                out.push(b'{');
                for (i, (k, e, v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(ws.as_bytes());
                    write_string(out, k, *e);
                    out.extend_from_slice(ws.as_bytes());
                    out.push(b':');
                    out.extend_from_slice(ws.as_bytes());
                    v.write(out, ws);
                }
                out.extend_from_slice(ws.as_bytes());
                out.push(b'}');
            }
        }
    }
}

fn write_string(out: &mut Vec<u8>, s: &str, e: Escape) {
    out.push(b'"');
    for c in s.chars() {
        let mut units = [0u16; 2];
        match (c, e) {
            (_, Escape::All) => {
                for unit in c.encode_utf16(&mut units) {
                    out.extend_from_slice(format!("\\u{unit:04X}").as_bytes());
                }
            }
            ('"', _) => out.extend_from_slice(b"\\\""),
            ('\\', _) => out.extend_from_slice(b"\\\\"),
            ('\n', _) => out.extend_from_slice(b"\\n"),
            ('\t', _) => out.extend_from_slice(b"\\t"),
            ('\u{8}', _) => out.extend_from_slice(b"\\b"),
            ('\u{c}', _) => out.extend_from_slice(b"\\f"),
            ('\r', _) => out.extend_from_slice(b"\\r"),
            ('/', Escape::Ascii) => out.extend_from_slice(b"\\/"),
            (c, _) if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes());
            }
            (c, Escape::Ascii) if !c.is_ascii() => {
                for unit in c.encode_utf16(&mut units) {
                    out.extend_from_slice(format!("\\u{unit:04x}").as_bytes());
                }
            }
            (c, _) => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}
