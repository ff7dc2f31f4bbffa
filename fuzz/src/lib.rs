//! Fuzzing support for the Coordination Sessions suite: what every fuzz target runs.
//!
//! * [`oracle`]: the properties, over concrete inputs (shared with the regression replay in
//!   `suite/wire/tests/fuzz_regressions.rs`);
//! * [`generate`]: `Arbitrary` inputs that build those concrete inputs from fuzzer bytes;
//! * [`planted`]: the parser the JSON targets call, which panics on a chosen input when the
//!   `planted-bug` feature is on;
//! * [`reference`]: properties of the reference Tool's parsers (`oap-ref`);
//! * [`amp`]: properties of the reference Tool's AMP message parsing;
//! * [`engine_model`]: the reference Tool's engine against a model of the session rules;
//! * [`suite`]: properties of the suite's own parsers (`oap-conform`): vector files, and a
//!   Tool's answers as the runner judges them and the concurrency recorders read them;
//! * [`targets`]: one function per fuzz target, so each file in `fuzz_targets/` is one line;
//! * [`seeds`]: the committed seed corpus, generated from the published vectors and the
//!   profile's examples.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod amp;
pub mod engine_model;
pub mod generate;
pub mod oracle;
pub mod planted;
pub mod reference;
pub mod seeds;
pub mod suite;
pub mod targets;
