//! RFC 8785 (JCS): every cyberphone input → output pair, the RFC's §3.2.2–3.2.4 example, its
//! UTF-16 property-sorting example, and the Appendix B number-serialization table (NaN and
//! Infinity must be errors).
#![allow(clippy::unwrap_used)]

mod common;

use common::{flip, json, read, s, unhex};
use oap_wire::jcs;
use serde_json::Value;

const CYBERPHONE: [&str; 6] = [
    "arrays",
    "french",
    "structures",
    "unicode",
    "values",
    "weird",
];

#[test]
fn cyberphone_pairs() {
    for name in CYBERPHONE {
        let input: Value =
            serde_json::from_slice(&read(&format!("jcs-cyberphone/input/{name}.json"))).unwrap();
        let expected = read(&format!("jcs-cyberphone/output/{name}.json"));
        let outhex = String::from_utf8(read(&format!("jcs-cyberphone/outhex/{name}.txt"))).unwrap();
        let hex_bytes = unhex(&outhex.split_whitespace().collect::<String>());
        assert_eq!(hex_bytes, expected, "{name}: outhex equals output");
        let ours = jcs::canonicalize(&input).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&expected),
            "{name}"
        );
        // Canonicalization is idempotent.
        let again: Value = serde_json::from_slice(&ours).unwrap();
        assert_eq!(
            jcs::canonicalize(&again).unwrap(),
            expected,
            "{name}: idempotent"
        );
    }
}

#[test]
fn rfc_example_and_sorting() {
    let file = json("rfc8785/rfc8785-examples.json");
    let ex = &file["primitive_serialization_and_sorting"];
    let input: Value = serde_json::from_str(s(ex, "input_json_text")).unwrap();
    let ours = jcs::canonicalize_string(&input).unwrap();
    assert_eq!(ours, s(ex, "expected_canonical"));
    assert_eq!(
        hex::encode(ours.as_bytes()),
        s(ex, "expected_canonical_utf8_hex")
    );
    assert_eq!(
        ours.as_bytes(),
        read("jcs-cyberphone/output/values.json"),
        "the RFC's example is cyberphone's values.json"
    );

    let sorting = &file["property_sorting"];
    let input: Value = serde_json::from_str(s(sorting, "input_json_text")).unwrap();
    let canonical: Value = serde_json::from_slice(&jcs::canonicalize(&input).unwrap()).unwrap();
    // Re-read the canonical text in document order to see the values' order.
    let text = jcs::canonicalize_string(&input).unwrap();
    let mut order: Vec<(usize, String)> = canonical
        .as_object()
        .unwrap()
        .values()
        .map(|v| {
            let v = v.as_str().unwrap().to_owned();
            (text.find(&format!("\"{v}\"")).unwrap(), v)
        })
        .collect();
    order.sort();
    let order: Vec<String> = order.into_iter().map(|(_, v)| v).collect();
    let expected: Vec<String> = sorting["expected_value_order_after_sorting"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(order, expected);
}

#[test]
fn appendix_b_numbers() {
    let file = json("rfc8785/rfc8785-examples.json");
    let samples = file["number_serialization"]["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 26);
    let mut finite = 0;
    for sample in samples {
        let bits = u64::from_str_radix(s(sample, "ieee754_hex"), 16).unwrap();
        let n = f64::from_bits(bits);
        match sample["expected_json"].as_str() {
            Some(expected) => {
                assert_eq!(
                    jcs::format_number(n).unwrap(),
                    expected,
                    "{}",
                    s(sample, "comment")
                );
                // Inside a document, too.
                let doc = serde_json::json!([n]);
                assert_eq!(
                    jcs::canonicalize_string(&doc).unwrap(),
                    format!("[{expected}]")
                );
                finite += 1;
            }
            None => {
                assert!(!n.is_finite(), "{}", s(sample, "comment"));
                assert!(jcs::format_number(n).is_err(), "{}", s(sample, "comment"));
            }
        }
    }
    assert_eq!(finite, 24);
}

#[test]
fn flipped_bytes_fail() {
    let input: Value = serde_json::from_slice(&read("jcs-cyberphone/input/weird.json")).unwrap();
    let expected = read("jcs-cyberphone/output/weird.json");
    let ours = jcs::canonicalize(&input).unwrap();
    assert_eq!(ours, expected);
    assert_ne!(
        ours,
        flip(&expected, 10),
        "a flipped expected byte is noticed"
    );
    // A flipped input byte (inside a string value) changes the output.
    let raw = read("jcs-cyberphone/input/values.json");
    let pos = raw.iter().position(|&b| b == b'A').unwrap();
    let changed: Value = serde_json::from_slice(&flip(&raw, pos)).unwrap();
    assert_ne!(
        jcs::canonicalize(&changed).unwrap(),
        read("jcs-cyberphone/output/values.json")
    );
    // And a flipped bit in a number's IEEE-754 pattern changes its serialization.
    assert_ne!(
        jcs::format_number(f64::from_bits(0x4340000000000001)).unwrap(),
        "9007199254740992"
    );
}
