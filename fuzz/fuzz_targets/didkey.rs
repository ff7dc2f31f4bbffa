//! did:key decoding never panics and accepts one spelling per key.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| oap_fuzz::targets::didkey(data));
