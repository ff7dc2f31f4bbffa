//! Receipt chains: every edit that changes a covered byte is refused.
#![no_main]
use oap_fuzz::generate::signed::ChainInput;
libfuzzer_sys::fuzz_target!(|input: ChainInput| oap_fuzz::targets::receipt_chain(&input));
