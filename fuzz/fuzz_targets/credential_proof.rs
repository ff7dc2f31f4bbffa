//! eddsa-jcs-2022 proofs: only unchanged signed documents verify.
#![no_main]
use oap_fuzz::generate::signed::ProofInput;
libfuzzer_sys::fuzz_target!(|input: ProofInput| oap_fuzz::targets::credential_proof(&input));
