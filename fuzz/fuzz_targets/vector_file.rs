//! Vector files through the suite's loader: never a panic; accepted vectors round-trip.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| oap_fuzz::targets::vector_file(data));
