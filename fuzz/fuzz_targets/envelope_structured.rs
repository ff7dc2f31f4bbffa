//! Generated Request Envelopes with hostile variations get exactly the verdict they deserve.
#![no_main]
use oap_fuzz::generate::envelope::EnvelopeInput;
libfuzzer_sys::fuzz_target!(|input: EnvelopeInput| oap_fuzz::targets::envelope_structured(&input));
