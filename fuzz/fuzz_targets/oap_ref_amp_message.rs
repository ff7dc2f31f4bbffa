//! The reference Tool's AMP message parsing gives the profile's verdict to every body.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| oap_fuzz::targets::oap_ref_amp_message(data));
