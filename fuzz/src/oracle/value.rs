//! Edits of a JSON document, addressed by the position of a node in a pre-order walk, and the
//! one notion of "changed" the signature oracles use: the RFC 8785 (JCS) bytes differ.

use oap_wire::jcs;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One step of a path from the root.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// One edit. `node` is taken modulo the number of nodes, so every edit applies somewhere.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Mutation {
    /// Replace the node with `value`.
    Replace {
        /// The node.
        node: usize,
        /// Its new value.
        value: Value,
    },
    /// Remove the node from its parent (removing the root empties it).
    Remove {
        /// The node.
        node: usize,
    },
    /// Add the member `key` to an object node, or append to an array node.
    Insert {
        /// The node.
        node: usize,
        /// The member name (ignored for arrays).
        key: String,
        /// The value.
        value: Value,
    },
    /// Rename the member that is the node.
    Rename {
        /// The node.
        node: usize,
        /// The new member name.
        key: String,
    },
    /// Overwrite one byte of a string node (read back lossily if no longer UTF-8), or of the
    /// decimal form of a number node.
    ChangeByte {
        /// The node.
        node: usize,
        /// The byte's position, modulo the length.
        index: usize,
        /// The new byte.
        byte: u8,
    },
}

fn paths(root: &Value) -> Vec<Vec<Step>> {
    let mut out = Vec::new();
    let mut stack = vec![(root, Vec::new())];
    while let Some((v, path)) = stack.pop() {
        match v {
            Value::Object(m) => {
                for (k, child) in m.iter().rev() {
                    let mut p = path.clone();
                    p.push(Step::Key(k.clone()));
                    stack.push((child, p));
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate().rev() {
                    let mut p = path.clone();
                    p.push(Step::Index(i));
                    stack.push((child, p));
                }
            }
            _ => {}
        }
        out.push(path);
    }
    out
}

fn node_mut<'a>(root: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    let mut cur = root;
    for step in path {
        cur = match (cur, step) {
            (Value::Object(m), Step::Key(k)) => m.get_mut(k)?,
            (Value::Array(a), Step::Index(i)) => a.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(cur)
}

impl Mutation {
    /// Applies the edit to `doc`.
    pub fn apply(&self, doc: &mut Value) {
        let all = paths(doc);
        let node = match self {
            Self::Replace { node, .. }
            | Self::Remove { node }
            | Self::Insert { node, .. }
            | Self::Rename { node, .. }
            | Self::ChangeByte { node, .. } => *node,
        };
        let Some(path) = all.get(node % all.len().max(1)) else {
            return;
        };
        let (parent_path, last) = match path.split_last() {
            Some((last, parent)) => (parent, Some(last)),
            None => (&[][..], None),
        };
        match self {
            Self::Replace { value, .. } => {
                if let Some(n) = node_mut(doc, path) {
                    *n = value.clone();
                }
            }
            Self::Remove { .. } => match (node_mut(doc, parent_path), last) {
                (Some(Value::Object(m)), Some(Step::Key(k))) => {
                    m.remove(k);
                }
                (Some(Value::Array(a)), Some(Step::Index(i))) => {
                    a.remove(*i);
                }
                (Some(root), None) => *root = Value::Null,
                _ => {}
            },
            Self::Insert { key, value, .. } => match node_mut(doc, path) {
                Some(Value::Object(m)) => {
                    m.insert(key.clone(), value.clone());
                }
                Some(Value::Array(a)) => a.push(value.clone()),
                _ => {}
            },
            Self::Rename { key, .. } => {
                if let (Some(Value::Object(m)), Some(Step::Key(k))) =
                    (node_mut(doc, parent_path), last)
                    && let Some(v) = m.remove(k)
                {
                    m.insert(key.clone(), v);
                }
            }
            Self::ChangeByte { index, byte, .. } => {
                let Some(n) = node_mut(doc, path) else {
                    return;
                };
                let mut bytes = match n {
                    Value::String(s) => s.clone().into_bytes(),
                    Value::Number(x) => x.to_string().into_bytes(),
                    _ => return,
                };
                if bytes.is_empty() {
                    bytes.push(*byte);
                } else {
                    let i = index % bytes.len();
                    bytes[i] = *byte;
                }
                let text = String::from_utf8_lossy(&bytes).into_owned();
                *n = match n {
                    Value::Number(_) => serde_json::from_str::<serde_json::Number>(&text)
                        .map_or(Value::String(text), Value::Number),
                    _ => Value::String(text),
                };
            }
        }
    }
}

/// The JCS bytes of `v` (what every hash and proof of the profile covers).
pub fn canonical(v: &Value) -> Vec<u8> {
    jcs::canonicalize(v).unwrap_or_else(|e| panic!("a JSON value does not canonicalize: {e}"))
}
