//! The reference Tool's envelope parser gives the profile's status and code to every body.
#![no_main]
use oap_fuzz::generate::envelope::EnvelopeInput;
libfuzzer_sys::fuzz_target!(|input: EnvelopeInput| oap_fuzz::targets::oap_ref_envelope(&input));
