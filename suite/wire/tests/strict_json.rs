//! Strict (I-JSON) parsing of untrusted bodies: duplicate names, nesting depth (10,000 levels
//! without stack exhaustion), the ±(2^53−1) integer range, trailing data, invalid UTF-8, size.
#![allow(clippy::unwrap_used)]

use oap_wire::json::{self, JsonLimits, StrictJsonError};
use serde_json::json;

fn parse(s: &[u8]) -> Result<serde_json::Value, StrictJsonError> {
    json::parse_strict(s, &JsonLimits::default())
}

#[test]
fn accepts_ordinary_documents() {
    assert_eq!(
        parse(br#" {"a": [1, -2.5e3, "x\u00e9", null, true], "b": {}} "#).unwrap(),
        json!({"a": [1, -2500.0, "xé", null, true], "b": {}})
    );
    assert_eq!(parse(b"0").unwrap(), json!(0));
    assert_eq!(parse("\"€\"".as_bytes()).unwrap(), json!("€"));
}

#[test]
fn duplicate_names() {
    assert_eq!(
        parse(br#"{"a":1,"a":2}"#),
        Err(StrictJsonError::DuplicateKey("a".into()))
    );
    // Compared after unescaping.
    assert_eq!(
        parse(br#"{"a":1,"\u0061":2}"#),
        Err(StrictJsonError::DuplicateKey("a".into()))
    );
    assert_eq!(
        parse(br#"{"x":[{"k":1,"j":2,"k":3}]}"#),
        Err(StrictJsonError::DuplicateKey("k".into()))
    );
    // The same name in different objects is fine.
    assert!(parse(br#"{"a":{"a":{"a":1}}}"#).is_ok());
}

#[test]
fn depth_ten_thousand() {
    for (open, close) in [("[", "]"), ("{\"a\":", "}")] {
        let deep = format!("{}1{}", open.repeat(10_000), close.repeat(10_000));
        assert_eq!(
            parse(deep.as_bytes()),
            Err(StrictJsonError::TooDeep { max: 64 })
        );
        // Unbalanced, too.
        assert_eq!(
            parse(open.repeat(10_000).as_bytes()),
            Err(StrictJsonError::TooDeep { max: 64 })
        );
    }
    let at_limit = format!("{}{}", "[".repeat(64), "]".repeat(64));
    assert!(parse(at_limit.as_bytes()).is_ok());
    let over = format!("{}{}", "[".repeat(65), "]".repeat(65));
    assert_eq!(
        parse(over.as_bytes()),
        Err(StrictJsonError::TooDeep { max: 64 })
    );
    // Brackets inside strings do not count.
    let in_string = format!("\"{}\"", "[".repeat(10_000));
    assert!(parse(in_string.as_bytes()).is_ok());
    let escaped = format!("[\"\\\"{}\"]", "[".repeat(100));
    assert!(parse(escaped.as_bytes()).is_ok());
    // A limit above serde_json's own recursion limit still ends in TooDeep, not a crash.
    let limits = JsonLimits {
        max_depth: 100_000,
        max_bytes: usize::MAX,
    };
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert_eq!(
        json::parse_strict(deep.as_bytes(), &limits),
        Err(StrictJsonError::TooDeep { max: 100_000 })
    );
}

#[test]
fn integer_range() {
    assert_eq!(
        parse(b"9007199254740991").unwrap(),
        json!(9_007_199_254_740_991_u64)
    );
    assert_eq!(
        parse(b"-9007199254740991").unwrap(),
        json!(-9_007_199_254_740_991_i64)
    );
    for bad in [
        "9007199254740992",
        "-9007199254740992",
        "18446744073709551615",
        "100000000000000000000",
        "[1, {\"n\": 9007199254740993}]",
    ] {
        assert!(
            matches!(
                parse(bad.as_bytes()),
                Err(StrictJsonError::UnsafeInteger(_))
            ),
            "{bad}"
        );
    }
    // Numbers with a fraction or exponent are floats: accepted when finite.
    assert!(parse(b"1e300").is_ok());
    assert!(parse(b"9007199254740993.0").is_ok());
    assert!(matches!(parse(b"1e400"), Err(StrictJsonError::Syntax(_))));
}

#[test]
fn trailing_data_and_syntax() {
    for bad in [
        "{} x",
        "{}{}",
        "[1] [2]",
        "1 2",
        "",
        " ",
        "{",
        "[1,]",
        "{\"a\":1,}",
        "NaN",
        "Infinity",
        "'a'",
        "{a:1}",
        "01",
        "\u{feff}{}",
        "\"\\ud800\"",
        "\"tab\there\"",
    ] {
        assert!(parse(bad.as_bytes()).is_err(), "{bad:?}");
    }
    assert!(parse(b"{}  \n\t").is_ok());
}

#[test]
fn invalid_utf8() {
    for bad in [
        &b"\"\xff\""[..],
        b"{\"a\":\"\xc0\xaf\"}",
        b"\"\xed\xa0\x80\"",
        b"[\"ok\", \"\xe2\x82\"]",
    ] {
        assert!(
            matches!(parse(bad), Err(StrictJsonError::InvalidUtf8 { .. })),
            "{bad:?}"
        );
    }
}

#[test]
fn size_limit() {
    let limits = JsonLimits {
        max_depth: 64,
        max_bytes: 10,
    };
    assert!(json::parse_strict(b"[1,2,3,4]", &limits).is_ok());
    assert_eq!(
        json::parse_strict(b"[1,2,3,4,5]", &limits),
        Err(StrictJsonError::TooLarge { size: 11, max: 10 })
    );
    assert_eq!(JsonLimits::default().max_bytes, 1024 * 1024);
}
