//! Content-Digest checking never panics and binds one body.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| oap_fuzz::targets::content_digest(data));
