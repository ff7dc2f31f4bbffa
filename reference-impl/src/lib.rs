//! The bundled reference Tool.
#![deny(missing_docs)]
