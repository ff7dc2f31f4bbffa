//! `${…}` templates in vector files.
//!
//! Paths, bodies, header values and matcher operands may contain `${expr}`.
//! A JSON string that is exactly one `${expr}` is replaced by the expression's
//! JSON value (so `"expected_version": "${v}"` stays an integer and a
//! credential stays an object); anywhere else the value is interpolated as
//! text (strings raw, everything else as compact JSON). `$${` writes a literal
//! `${`. Expressions nest: `${credential:admission(subject=p${i})}` expands
//! `${i}` first.
//!
//! An expression is either a variable name, optionally with an integer offset
//! (`${v+1}`, `${v-1}`), or `kind:argument`. This module evaluates what needs
//! no context (`repeat:TEXT:N`) and hands everything else to a [`Scope`],
//! which the runner implements (captured variables, actors' DIDs, fresh
//! identifiers, issued credentials, manifest values).

use serde_json::Value;

/// Largest string `${repeat:…}` may build (8 MiB).
pub const MAX_REPEAT_BYTES: usize = 8 << 20;

/// Errors while expanding a template.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// `${` without its closing `}`.
    #[error("unterminated `${{` in {0:?}")]
    Unterminated(String),
    /// A variable that was never captured or defined.
    #[error("unknown variable `{0}`")]
    UnknownVariable(String),
    /// A `kind:` the scope does not know.
    #[error("unknown template function `{0}`")]
    UnknownFunction(String),
    /// A bad argument to a template function.
    #[error("bad argument to `{function}`: {reason}")]
    BadArgument {
        /// The function.
        function: String,
        /// What is wrong.
        reason: String,
    },
    /// An offset (`${v+1}`) on a value that is not an integer.
    #[error("`{0}` is not an integer, cannot add an offset")]
    NotAnInteger(String),
}

/// What templates can refer to; the runner implements it per vector run.
pub trait Scope {
    /// The value of a variable, if defined.
    fn var(&self, name: &str) -> Option<Value>;
    /// Evaluates `kind:argument` (the argument already expanded).
    fn call(&mut self, kind: &str, argument: &str) -> Result<Value, TemplateError>;
}

/// Expands every string inside a JSON value, recursively (object keys too).
pub fn expand_value(value: &Value, scope: &mut dyn Scope) -> Result<Value, TemplateError> {
    Ok(match value {
        Value::String(s) => expand_to_value(s, scope)?,
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| expand_value(v, scope))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => {
            let mut out = serde_json::Map::with_capacity(map.len());
            for (k, v) in map {
                out.insert(expand_str(k, scope)?, expand_value(v, scope)?);
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

/// Expands a string: a lone `${expr}` becomes the expression's JSON value,
/// anything else a JSON string.
pub fn expand_to_value(s: &str, scope: &mut dyn Scope) -> Result<Value, TemplateError> {
    if let Some(inner) = lone_expression(s) {
        let inner = expand_str(inner, scope)?;
        return evaluate(&inner, scope);
    }
    Ok(Value::String(expand_str(s, scope)?))
}

/// Expands a string as text.
pub fn expand_str(s: &str, scope: &mut dyn Scope) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        if let Some(after) = tail.strip_prefix("$${") {
            out.push_str("${");
            rest = after;
        } else if tail.starts_with("${") {
            let end = matching_brace(tail).ok_or_else(|| TemplateError::Unterminated(s.into()))?;
            let inner = expand_str(&tail[2..end], scope)?;
            out.push_str(&render(&evaluate(&inner, scope)?));
            rest = &tail[end + 1..];
        } else {
            out.push('$');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Text form of a value when interpolated into a string.
pub fn render(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Whether `s` contains a template expression.
pub fn has_expression(s: &str) -> bool {
    s.replace("$${", "").contains("${")
}

/// The inside of `s` when `s` is exactly one `${…}`.
fn lone_expression(s: &str) -> Option<&str> {
    if !s.starts_with("${") {
        return None;
    }
    let end = matching_brace(s)?;
    (end == s.len() - 1).then(|| &s[2..end])
}

/// Index of the `}` closing the `${` at the start of `s`, counting nesting.
fn matching_brace(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in s.char_indices().skip(1) {
        match c {
            '{' => depth += 1,
            '}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Evaluates one expanded expression.
fn evaluate(expr: &str, scope: &mut dyn Scope) -> Result<Value, TemplateError> {
    let expr = expr.trim();
    if let Some((kind, arg)) = expr.split_once(':') {
        if kind == "repeat" {
            return repeat(arg);
        }
        return scope.call(kind, arg);
    }
    if let Some(v) = scope.var(expr) {
        return Ok(v);
    }
    // `name+N` / `name-N`.
    if let Some(pos) = expr.rfind(['+', '-']) {
        let (name, offset) = expr.split_at(pos);
        if let (Some(base), Ok(delta)) = (scope.var(name.trim()), offset.parse::<i64>()) {
            let n = base
                .as_i64()
                .ok_or_else(|| TemplateError::NotAnInteger(name.trim().into()))?;
            return Ok(Value::from(n.saturating_add(delta)));
        }
    }
    Err(TemplateError::UnknownVariable(expr.into()))
}

/// `repeat:TEXT:N`: TEXT repeated N times (the last `:` separates N).
fn repeat(arg: &str) -> Result<Value, TemplateError> {
    let bad = |reason: &str| TemplateError::BadArgument {
        function: "repeat".into(),
        reason: reason.into(),
    };
    let (text, count) = arg
        .rsplit_once(':')
        .ok_or_else(|| bad("expected TEXT:COUNT"))?;
    let count: usize = count
        .trim()
        .parse()
        .map_err(|_| bad("COUNT is not a number"))?;
    if text.len().saturating_mul(count) > MAX_REPEAT_BYTES {
        return Err(bad("result larger than 8 MiB"));
    }
    Ok(Value::String(text.repeat(count)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    struct Vars(BTreeMap<String, Value>);
    impl Scope for Vars {
        fn var(&self, name: &str) -> Option<Value> {
            self.0.get(name).cloned()
        }
        fn call(&mut self, kind: &str, arg: &str) -> Result<Value, TemplateError> {
            match kind {
                "did" => Ok(Value::String(format!("did:key:{arg}"))),
                "obj" => Ok(json!({ "arg": arg })),
                _ => Err(TemplateError::UnknownFunction(kind.into())),
            }
        }
    }

    fn scope() -> Vars {
        Vars(BTreeMap::from([
            ("v".to_owned(), json!(3)),
            ("i".to_owned(), json!(7)),
            ("sid".to_owned(), json!("ses_X")),
        ]))
    }

    #[test]
    fn lone_expression_keeps_type() {
        let mut s = scope();
        assert_eq!(expand_to_value("${v}", &mut s).unwrap(), json!(3));
        assert_eq!(expand_to_value("${v+1}", &mut s).unwrap(), json!(4));
        assert_eq!(expand_to_value("${v-4}", &mut s).unwrap(), json!(-1));
        assert_eq!(
            expand_to_value("${obj:p${i}}", &mut s).unwrap(),
            json!({"arg": "p7"})
        );
    }

    #[test]
    fn interpolation_and_escape() {
        let mut s = scope();
        assert_eq!(
            expand_str("/oap/session/${sid}/log?from=${v}", &mut s).unwrap(),
            "/oap/session/ses_X/log?from=3"
        );
        assert_eq!(expand_str("a$${b}c$", &mut s).unwrap(), "a${b}c$");
        assert_eq!(expand_str("${did:alice}", &mut s).unwrap(), "did:key:alice");
        assert_eq!(expand_str("[${repeat:ab:3}]", &mut s).unwrap(), "[ababab]");
    }

    #[test]
    fn errors_do_not_panic() {
        let mut s = scope();
        assert!(matches!(
            expand_str("${nope}", &mut s),
            Err(TemplateError::UnknownVariable(_))
        ));
        assert!(matches!(
            expand_str("${v", &mut s),
            Err(TemplateError::Unterminated(_))
        ));
        assert!(expand_str("${repeat:a:99999999999}", &mut s).is_err());
        assert!(expand_str("${sid+1}", &mut s).is_err());
        assert!(expand_str("${x:y}", &mut s).is_err());
        assert!(expand_str("}}${}", &mut s).is_err());
    }

    #[test]
    fn values_recurse() {
        let mut s = scope();
        let v = expand_value(&json!({"a": ["${v}", "x${v}"], "${sid}": true}), &mut s).unwrap();
        assert_eq!(v, json!({"a": [3, "x3"], "ses_X": true}));
    }
}
