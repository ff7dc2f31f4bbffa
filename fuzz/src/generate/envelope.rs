//! `envelope_structured`: a Request Envelope (`docs/profile.md` §4) chosen by `Arbitrary`, written
//! with hostile variations, and the verdict the strict parser owes it.

use std::fmt;

use arbitrary::{Arbitrary, Result, Unstructured};
use oap_wire::json::JsonLimits;

use super::tree::{self, Escape, Node};
use crate::oracle::bytes::Bytes;
use crate::oracle::json::EnvelopeCase;

/// A member's value: the well-formed one, one of another type, or none.
#[derive(Debug, Clone, Copy, Arbitrary)]
enum Slot {
    Good,
    WrongType,
    Absent,
}

/// Changes made to the envelope before or while it is written.
#[derive(Debug, Clone, Arbitrary)]
enum Mutation {
    /// Repeat a member of some object, under a differently escaped name.
    DuplicateKey {
        object: u16,
        member: u8,
        escape: Escape,
    },
    /// Wrap `input` in `levels` arrays or objects (up to 20,000 when `huge` is 0, one time in
    /// 256, so that deep bodies stay a small share of the runs).
    Nest {
        levels: u16,
        huge: u8,
        objects: bool,
    },
    /// Replace some scalar with an edge-case number literal.
    Literal { node: u16, literal: u8 },
    /// Append a raw control character to some string.
    RawControl { node: u16, byte: u8 },
    /// Put an unpaired surrogate escape in some string.
    LoneSurrogate { node: u16, unit: u16 },
    /// Append bytes after the value.
    Trailing(u8),
    /// Put an invalid UTF-8 sequence somewhere.
    InvalidUtf8 { at: u16, kind: u8 },
    /// Cut the body short.
    Truncate(u16),
    /// Put a byte-order mark first.
    Bom,
}

const TRAILING: &[&str] = &[
    " ", "\n\t\r ", "x", "{}", "]", ",", "\0", "// c", "/* */", "\u{a0}", "1",
];
const INVALID_UTF8: &[&[u8]] = &[
    b"\xff",
    b"\xc0\xaf",
    b"\x80",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\xe2\x82",
];
const WHITESPACE: &[&str] = &["", " ", "\n", "\t", "\r\n  "];

/// The input of `envelope_structured`: the case, printed as JSON by `Debug`.
pub struct EnvelopeInput(pub EnvelopeCase);

impl fmt::Debug for EnvelopeInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&serde_json::to_string(&self.0).map_err(|_| fmt::Error)?)
    }
}

fn id(u: &mut Unstructured<'_>, prefix: &str) -> Result<Node> {
    let ulid = *u.choose(&[
        "01HZY3K7Q8W9X0ABCDEFGHJKMN",
        "7ZZZZZZZZZZZZZZZZZZZZZZZZZ",
        "8ZZZZZZZZZZZZZZZZZZZZZZZZZ",
        "01hzy3k7q8w9x0abcdefghjkmn",
        "01HZY3K7Q8W9X0ABCDEFGHJKM",
        "01HZY3K7Q8W9X0ABCDEFGHJKMNO",
        "01HZY3K7Q8W9X0ABCDEFGHJKMU",
    ])?;
    let prefix = if u.ratio(7, 8)? {
        prefix
    } else {
        *u.choose(&["ses_", "trn_", "", "SES_"])?
    };
    Ok(Node::Str(format!("{prefix}{ulid}"), Escape::arbitrary(u)?))
}

fn member(
    u: &mut Unstructured<'_>,
    out: &mut Vec<(String, Escape, Node)>,
    name: &str,
    good: Node,
) -> Result<()> {
    match Slot::arbitrary(u)? {
        Slot::Good => out.push((name.into(), Escape::arbitrary(u)?, good)),
        Slot::WrongType => out.push((name.into(), Escape::arbitrary(u)?, tree::node(u, 2)?)),
        Slot::Absent => {}
    }
    Ok(())
}

fn envelope(u: &mut Unstructured<'_>) -> Result<Node> {
    let mut members = Vec::new();
    let version = if u.ratio(7, 8)? {
        "1.0"
    } else {
        *u.choose(&["2.0", "1", "1.0 ", ""])?
    };
    let escape = Escape::arbitrary(u)?;
    member(
        u,
        &mut members,
        "envelope_version",
        Node::Str(version.into(), escape),
    )?;
    let mut session = vec![
        ("session_id".to_owned(), Escape::Plain, id(u, "ses_")?),
        ("turn_id".to_owned(), Escape::Plain, id(u, "trn_")?),
    ];
    if bool::arbitrary(u)? {
        session.push((
            "expected_version".into(),
            Escape::Plain,
            Node::Int(i64::from(u32::arbitrary(u)?)),
        ));
    }
    member(u, &mut members, "session", Node::Obj(session))?;
    member(
        u,
        &mut members,
        "action",
        Node::Str("echo".into(), Escape::Plain),
    )?;
    let len = u.int_in_range(0..=6)?;
    let input = tree::object(u, 4, len)?;
    member(u, &mut members, "input", input)?;
    if u.ratio(1, 8)? {
        let extra = tree::node(u, 2)?;
        members.push(("extra".into(), Escape::Plain, extra));
    }
    let order = u8::arbitrary(u)?;
    if !members.is_empty() {
        let k = usize::from(order) % members.len();
        members.rotate_left(k);
    }
    Ok(Node::Obj(members))
}

/// Visits every node, pre-order, mutably.
fn visit(root: &mut Node, f: &mut dyn FnMut(&mut Node)) {
    let mut stack = vec![root];
    while let Some(n) = stack.pop() {
        f(n);
        match n {
            Node::Arr(items) => stack.extend(items.iter_mut()),
            Node::Obj(members) => stack.extend(members.iter_mut().map(|(_, _, v)| v)),
            _ => {}
        }
    }
}

/// Applies `f` to the `n`-th node (modulo the count) that `pick` selects.
fn at(root: &mut Node, n: u16, pick: fn(&Node) -> bool, f: &mut dyn FnMut(&mut Node)) {
    let mut count = 0usize;
    visit(root, &mut |x| count += usize::from(pick(x)));
    if count == 0 {
        return;
    }
    let target = usize::from(n) % count;
    let mut i = 0usize;
    visit(root, &mut |x| {
        if pick(x) {
            if i == target {
                f(x);
            }
            i += 1;
        }
    });
}

fn is_scalar(n: &Node) -> bool {
    !matches!(n, Node::Arr(_) | Node::Obj(_) | Node::Nested { .. })
}

fn is_string(n: &Node) -> bool {
    matches!(n, Node::Str(..))
}

impl<'a> Arbitrary<'a> for EnvelopeInput {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let mut root = envelope(u)?;
        let mutations: Vec<Mutation> = u.arbitrary_iter()?.take(3).collect::<Result<_>>()?;
        let ws = *u.choose(WHITESPACE)?;
        let limits = if u.ratio(1, 8)? {
            JsonLimits {
                max_depth: usize::from(u8::arbitrary(u)? % 16),
                max_bytes: usize::from(u16::arbitrary(u)? % 2048),
            }
        } else {
            JsonLimits::default()
        };
        let mut bad = false;
        let mut text_edits = Vec::new();
        for m in &mutations {
            match m {
                Mutation::DuplicateKey {
                    object,
                    member,
                    escape,
                } => {
                    at(
                        &mut root,
                        *object,
                        |n| matches!(n, Node::Obj(m) if !m.is_empty()),
                        &mut |n| {
                            if let Node::Obj(members) = n {
                                let i = usize::from(*member) % members.len();
                                let (k, _, v) = members[i].clone();
                                // The verdict comes from the final tree (`Node::value`), since
                                // a later edit may replace this object.
                                members.insert((i + 1) % (members.len() + 1), (k, *escape, v));
                            }
                        },
                    );
                }
                Mutation::Nest {
                    levels,
                    huge,
                    objects,
                } => {
                    let levels = if *huge == 0 {
                        usize::from(*levels) % 20_000
                    } else {
                        usize::from(*levels % 80)
                    };
                    if let Node::Obj(members) = &mut root
                        && let Some((_, _, input)) =
                            members.iter_mut().find(|(k, _, _)| k == "input")
                    {
                        let inner = std::mem::replace(input, Node::Null);
                        *input = Node::Nested {
                            levels,
                            objects: *objects,
                            inner: Box::new(inner),
                        };
                    }
                }
                Mutation::Literal { node, literal } => {
                    at(&mut root, *node, is_scalar, &mut |n| {
                        *n = tree::edge_literal(usize::from(*literal))
                    });
                }
                Mutation::RawControl { node, byte } => {
                    at(&mut root, *node, is_string, &mut |n| {
                        if let Node::Str(s, _) = n {
                            *n = Node::RawControl(std::mem::take(s), *byte);
                        }
                    });
                }
                Mutation::LoneSurrogate { node, unit } => {
                    at(&mut root, *node, is_string, &mut |n| {
                        if let Node::Str(s, _) = n {
                            *n = Node::LoneSurrogate(std::mem::take(s), *unit);
                        }
                    });
                }
                Mutation::Trailing(_)
                | Mutation::InvalidUtf8 { .. }
                | Mutation::Truncate(_)
                | Mutation::Bom => {
                    text_edits.push(m.clone());
                }
            }
        }
        let mut body = Vec::new();
        root.write(&mut body, ws);
        let mut value = root.value();
        bad |= value.is_none();
        // Cut first: once the value is cut short, appended bytes could complete a different
        // document (`""` + `{}`), so nothing is appended after a cut.
        text_edits.sort_by_key(|m| !matches!(m, Mutation::Truncate(_)));
        let mut cut = false;
        for m in text_edits {
            match m {
                Mutation::Truncate(keep) => {
                    let keep = usize::from(keep) % (body.len() + 1);
                    let end = body
                        .iter()
                        .rposition(|b| !b" \t\r\n".contains(b))
                        .map_or(0, |i| i + 1);
                    cut |= keep < end;
                    body.truncate(keep);
                }
                Mutation::Trailing(k) if !cut => {
                    let t = TRAILING[usize::from(k) % TRAILING.len()];
                    body.extend_from_slice(t.as_bytes());
                    bad |= !t.bytes().all(|b| b" \t\r\n".contains(&b));
                }
                Mutation::InvalidUtf8 { at, kind } => {
                    let i = usize::from(at) % (body.len() + 1);
                    let seq = INVALID_UTF8[usize::from(kind) % INVALID_UTF8.len()];
                    body.splice(i..i, seq.iter().copied());
                    bad = true;
                }
                Mutation::Bom => {
                    body.splice(0..0, "\u{feff}".bytes());
                    bad = true;
                }
                _ => {}
            }
        }
        bad |= cut;
        bad |= root.depth() > limits.max_depth || body.len() > limits.max_bytes;
        if bad {
            value = None;
        }
        Ok(Self(EnvelopeCase {
            max_depth: limits.max_depth,
            max_bytes: limits.max_bytes,
            body: Bytes(body),
            expect: value,
        }))
    }
}
