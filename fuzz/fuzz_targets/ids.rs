//! Session and turn identifiers parse exactly per their grammar.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| oap_fuzz::targets::ids(data));
