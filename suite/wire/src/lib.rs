//! Wire-profile primitives for OAP Coordination Sessions.
#![deny(missing_docs)]
