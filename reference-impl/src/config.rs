//! The Tool's configuration: where it listens, where it keeps its data, the limits it declares
//! in its manifest and enforces, and the (test-only) fault switches.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::faults::FaultSet;

/// How to run one Tool.
#[derive(Clone, Debug)]
pub struct Config {
    /// Directory holding the database and the Tool's key; created when missing.
    pub data_dir: PathBuf,
    /// Address to bind (`127.0.0.1:0` picks a free port).
    pub listen: SocketAddr,
    /// Public base URL (scheme, host, optional port, no trailing slash) when behind a proxy;
    /// `None` reconstructs `http://` + `Host` for `@target-uri` and absolute URLs.
    pub public_url: Option<String>,
    /// Test-only fault switches; empty for a correct Tool.
    pub faults: FaultSet,
    /// Declared and enforced limits.
    pub limits: Limits,
    /// Serve the AMP binding (profile §12) and list `"amp"` in the manifest's `bindings`
    /// (PRF-MAN-8: exactly one implies the other). On by default.
    pub amp: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("oap-ref-data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            public_url: None,
            faults: FaultSet::default(),
            limits: Limits::default(),
            amp: true,
        }
    }
}

/// Limits the Tool declares in its manifest and enforces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Participants per session, convener included.
    pub max_participants: u32,
    /// Longest session lifetime (`ttl_seconds` ≤ this · 3600).
    pub max_duration_hours: u32,
    /// Open (active or paused) sessions per convener.
    pub max_sessions_per_convener: u32,
    /// How far in the past a request signature's `created` may lie.
    pub signature_window_seconds: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_participants: 16,
            max_duration_hours: 720,
            max_sessions_per_convener: 32,
            signature_window_seconds: 300,
        }
    }
}

impl Limits {
    /// The longest accepted `ttl_seconds`.
    pub fn max_ttl_seconds(&self) -> u64 {
        u64::from(self.max_duration_hours) * 3600
    }
}
