//! The properties the fuzz targets check, over concrete inputs.
//!
//! Each function here takes one fully materialised input (raw bytes, or a case struct that
//! serialises to JSON) and panics when a property fails; the fuzz targets only turn fuzzer bytes
//! into such inputs. This module depends on nothing but `oap-wire`, `serde`, `serde_json`,
//! `base64` and `std`, so that `suite/wire/tests/fuzz_regressions.rs` includes it by path and
//! replays every recorded crash through exactly these functions, without cargo-fuzz.
//!
//! Recorded inputs live in `suite/wire/tests/fuzz-regressions/<target>/<name>`: the raw bytes for
//! the targets that read raw bytes, the case as JSON for the structure-aware ones (the JSON that
//! the target's `Debug` prints, e.g. through `cargo fuzz fmt`).

pub mod bytes;
pub mod chain;
pub mod fixtures;
pub mod httpsig;
pub mod json;
pub mod proof;
pub mod text;
pub mod value;

/// Every target whose recorded inputs [`replay`] understands.
pub const TARGETS: &[&str] = &[
    "strict_json",
    "envelope_structured",
    "httpsig_headers",
    "credential_proof",
    "receipt_chain",
    "didkey",
    "ids",
    "content_digest",
];

/// Runs one recorded input of `target` through the target's property; panics when it fails.
/// Errors only when the recorded input itself cannot be read.
pub fn replay(target: &str, data: &[u8]) -> Result<(), String> {
    fn case<T: serde::de::DeserializeOwned>(data: &[u8]) -> Result<T, String> {
        serde_json::from_slice(data).map_err(|e| format!("not a recorded case: {e}"))
    }
    match target {
        "strict_json" => json::strict_json(data),
        "envelope_structured" => json::envelope(&case(data)?),
        "httpsig_headers" => httpsig::check(&case(data)?),
        "credential_proof" => proof::check(&case(data)?),
        "receipt_chain" => chain::check(&case(data)?),
        "didkey" => text::didkey(data),
        "ids" => text::ids(data),
        "content_digest" => text::content_digest(data),
        other => return Err(format!("unknown fuzz target {other:?}")),
    }
    Ok(())
}
