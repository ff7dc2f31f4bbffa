//! Vectors: the model of a vector file, its loader, templates and matchers.
//!
//! The format is specified field by field in `vectors/README.md` and by the
//! JSON Schema `vectors/schema/vector.schema.json`; [`model`] holds the same
//! structure as Rust types. Nothing here performs I/O against a Tool: the
//! runner executes what these modules describe.

pub mod load;
pub mod matcher;
pub mod model;
pub mod pointer;
pub mod schema;
pub mod template;

pub use load::{LoadError, LoadedVector, Loader, VectorSet, default_root, load};
pub use model::{
    Binding, CheckKind, CheckStep, DigestMode, Expect, Matcher, Outcome, Repeat, RequestStep,
    SignOptions, SignatureMutation, StatusSpec, Step, Vector, VectorLevel,
};
pub use schema::SchemaStore;
