//! The reference Tool's engine against a model of the session rules.
#![no_main]
use oap_fuzz::engine_model::EngineInput;
libfuzzer_sys::fuzz_target!(|input: EngineInput| oap_fuzz::targets::engine_model(&input));
