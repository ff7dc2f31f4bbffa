//! RFC 9421 headers: parsing never panics; signed requests verify, changed ones fail.
#![no_main]
use oap_fuzz::generate::signed::SigInput;
libfuzzer_sys::fuzz_target!(|input: SigInput| oap_fuzz::targets::httpsig_headers(&input));
