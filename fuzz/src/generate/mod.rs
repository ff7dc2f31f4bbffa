//! Generators: turn fuzzer bytes into the concrete cases of [`crate::oracle`]. Each input type
//! implements `Arbitrary`, and its `Debug` prints the case as JSON, ready to be recorded as a
//! regression (`cargo fuzz fmt TARGET ARTIFACT`).

pub mod envelope;
pub mod signed;
pub mod tree;
