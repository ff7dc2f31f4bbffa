//! A Tool's answers as the suite judges and reads them: never a panic, never a false pass.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| oap_fuzz::targets::tool_response(data));
