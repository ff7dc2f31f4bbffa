//! JSON pointers and comparisons for matchers, captures and expected views.
//!
//! RFC 6901 lookups (with `""` as the whole document), value equality that
//! compares numbers by value (`1 == 1.0`, as JSON means), subset matching for
//! `contains`, and the two edits the expected view needs: set a value at a
//! pointer (creating objects on the way) and remove one.

use serde_json::Value;

/// The value at a JSON pointer; `""` is the whole document.
pub fn pointer<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    if path.is_empty() {
        Some(doc)
    } else {
        doc.pointer(path)
    }
}

/// JSON equality with numbers compared by value (`1 == 1.0`).
pub fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// `value` contains `pattern`: objects by subset, arrays element-wise, else equality.
pub fn subset(value: &Value, pattern: &Value) -> bool {
    match (value, pattern) {
        (Value::Object(v), Value::Object(p)) => p
            .iter()
            .all(|(k, pv)| v.get(k).is_some_and(|vv| subset(vv, pv))),
        (Value::Array(v), Value::Array(p)) => {
            v.len() == p.len() && v.iter().zip(p).all(|(a, b)| subset(a, b))
        }
        _ => json_eq(value, pattern),
    }
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// Sets the value at a pointer, creating objects on the way.
pub fn set_pointer(doc: &mut Value, path: &str, value: Value) {
    if path.is_empty() {
        *doc = value;
        return;
    }
    let mut cur = doc;
    let tokens: Vec<String> = path.split('/').skip(1).map(unescape).collect();
    for (i, token) in tokens.iter().enumerate() {
        let last = i + 1 == tokens.len();
        if !cur.is_object() && !cur.is_array() {
            *cur = Value::Object(serde_json::Map::new());
        }
        let next = match cur {
            Value::Array(items) => match token.parse::<usize>() {
                Ok(idx) if idx < items.len() => items.get_mut(idx),
                _ => return,
            },
            Value::Object(map) => Some(map.entry(token.clone()).or_insert(Value::Null)),
            _ => return,
        };
        let Some(next) = next else { return };
        if last {
            *next = value;
            return;
        }
        cur = next;
    }
}

/// Removes the value at a pointer, if present.
pub fn remove_pointer(doc: &mut Value, path: &str) {
    let Some((parent, last)) = path.rsplit_once('/') else {
        return;
    };
    let last = unescape(last);
    match doc.pointer_mut(parent) {
        Some(Value::Object(map)) => {
            map.remove(&last);
        }
        Some(Value::Array(items)) => {
            if let Ok(i) = last.parse::<usize>()
                && i < items.len()
            {
                items.remove(i);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_compare_by_value_and_subsets_match() {
        assert!(json_eq(&json!(1), &json!(1.0)));
        assert!(!json_eq(&json!(1), &json!("1")));
        assert!(json_eq(&json!({"a": [1, 2.0]}), &json!({"a": [1.0, 2]})));
        let p = json!({"did": "x", "role": "convener"});
        assert!(subset(
            &json!({"did": "x", "role": "convener", "scope": {}}),
            &p
        ));
        assert!(!subset(&json!({"did": "x"}), &p));
    }

    #[test]
    fn pointers_set_and_remove() {
        let mut doc = json!({"a": {"b": 1}, "l": [1, 2]});
        set_pointer(&mut doc, "/a/c/d", json!(true));
        set_pointer(&mut doc, "/l/1", json!(3));
        set_pointer(&mut doc, "/l/9", json!(4));
        remove_pointer(&mut doc, "/a/b");
        assert_eq!(doc, json!({"a": {"c": {"d": true}}, "l": [1, 3]}));
        assert_eq!(pointer(&doc, ""), Some(&doc));
        set_pointer(&mut doc, "/x~1y", json!(1));
        assert_eq!(doc.get("x/y"), Some(&json!(1)));
    }
}
