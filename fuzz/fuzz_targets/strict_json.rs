//! Raw bytes through the strict JSON parser; what it accepts round-trips.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| oap_fuzz::targets::strict_json(data));
