//! Known failures as data: `--expectations FILE`.
//!
//! A vendor gating CI on the suite lists what is known to fail, with a reason,
//! as a JSON object from glob pattern to reason. A listed vector that fails is
//! a known failure: it stays a failure in the report (a certificate never
//! hides one) but does not fail the run's exit code. A listed vector that
//! passes is *stale* and fails the run, so the list can only shrink honestly.
//! Patterns match a vector's name (`oap/replay/*`, where `*` stays within one
//! path segment) or its id (`oap.replay.003`).

use std::path::Path;

use serde_json::Value;

use crate::report::{Status, VectorResult};

/// Errors reading an expectations file.
#[derive(Debug, thiserror::Error)]
pub enum ExpectationsError {
    /// The file could not be read.
    #[error("cannot read expectations {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Not an object of strings, or a bad pattern.
    #[error("expectations {path}: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

/// One entry.
#[derive(Debug, Clone)]
pub struct Expectation {
    /// The pattern as written.
    pub pattern: String,
    glob: glob::Pattern,
    /// Why the vector is expected to fail.
    pub reason: String,
}

/// A parsed expectations file.
#[derive(Debug, Clone, Default)]
pub struct Expectations {
    /// Entries in file order.
    pub entries: Vec<Expectation>,
}

/// What applying expectations to a run found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpectationSummary {
    /// Listed vectors that failed as expected (names).
    pub known_failures: Vec<String>,
    /// Listed vectors that passed (names): the run fails.
    pub stale: Vec<String>,
    /// Patterns that matched no vector of the run.
    pub unused: Vec<String>,
}

const MATCH: glob::MatchOptions = glob::MatchOptions {
    case_sensitive: true,
    require_literal_separator: true,
    require_literal_leading_dot: false,
};

impl Expectations {
    /// Reads a file.
    pub fn load(path: &Path) -> Result<Self, ExpectationsError> {
        let text = std::fs::read_to_string(path).map_err(|source| ExpectationsError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text).map_err(|reason| ExpectationsError::Invalid {
            path: path.display().to_string(),
            reason,
        })
    }

    /// Parses the JSON text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let limits = oap_wire::json::JsonLimits {
            max_depth: 8,
            max_bytes: 4 << 20,
        };
        let value = oap_wire::json::parse_strict(text.as_bytes(), &limits)
            .map_err(|e| format!("not strict JSON: {e}"))?;
        let Value::Object(map) = value else {
            return Err("must be a JSON object of pattern -> reason".into());
        };
        let mut entries = Vec::with_capacity(map.len());
        for (pattern, reason) in map {
            let Value::String(reason) = reason else {
                return Err(format!("{pattern}: the reason must be a string"));
            };
            if reason.trim().is_empty() {
                return Err(format!("{pattern}: the reason must not be empty"));
            }
            let glob = glob::Pattern::new(&pattern).map_err(|e| format!("{pattern}: {e}"))?;
            entries.push(Expectation {
                pattern,
                glob,
                reason,
            });
        }
        Ok(Expectations { entries })
    }

    /// The reason a vector is expected to fail, if it is listed.
    pub fn reason_for(&self, name: &str, id: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|e| e.matches(name, id))
            .map(|e| e.reason.as_str())
    }

    /// Marks listed vectors in `results` and reports known, stale and unused entries.
    pub fn apply(&self, results: &mut [VectorResult]) -> ExpectationSummary {
        let mut summary = ExpectationSummary::default();
        for r in results.iter_mut() {
            let Some(reason) = self.reason_for(&r.path, &r.id) else {
                continue;
            };
            r.expected_failure = Some(reason.to_owned());
            match r.status {
                Status::Pass => summary.stale.push(r.path.clone()),
                s if s.is_failure() => summary.known_failures.push(r.path.clone()),
                _ => {}
            }
        }
        summary.unused = self
            .entries
            .iter()
            .filter(|e| !results.iter().any(|r| e.matches(&r.path, &r.id)))
            .map(|e| e.pattern.clone())
            .collect();
        summary
    }
}

impl Expectation {
    fn matches(&self, name: &str, id: &str) -> bool {
        self.pattern == name
            || self.pattern == id
            || self.glob.matches_with(name, MATCH)
            || self.glob.matches_with(id, MATCH)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::report::Level;

    fn result(path: &str, id: &str, status: Status) -> VectorResult {
        VectorResult {
            id: id.into(),
            path: path.into(),
            title: String::new(),
            binding: "oap".into(),
            requirements: vec![],
            level: Level::Must,
            status,
            duration_ms: 0,
            reason: None,
            expected_failure: None,
            transcript: vec![],
        }
    }

    #[test]
    fn globs_ids_stale_and_unused() {
        let e = Expectations::parse(
            r#"{"oap/replay/*": "nonce store not shared", "oap.quota.004": "x", "oap/nothing/*": "y"}"#,
        )
        .unwrap();
        let mut rs = vec![
            result("oap/replay/001-a.json", "oap.replay.001", Status::Fail),
            result("oap/replay/002-b.json", "oap.replay.002", Status::Pass),
            result("oap/quota/004-c.json", "oap.quota.004", Status::Error),
            result(
                "oap/lifecycle/001-d.json",
                "oap.lifecycle.001",
                Status::Fail,
            ),
        ];
        let s = e.apply(&mut rs);
        assert_eq!(
            s.known_failures,
            vec!["oap/replay/001-a.json", "oap/quota/004-c.json"]
        );
        assert_eq!(s.stale, vec!["oap/replay/002-b.json"]);
        assert_eq!(s.unused, vec!["oap/nothing/*"]);
        assert!(rs[3].expected_failure.is_none());
        assert_eq!(
            rs[0].expected_failure.as_deref(),
            Some("nonce store not shared")
        );
        assert!(e.reason_for("oap/replay/sub/x.json", "z").is_none());
    }

    #[test]
    fn rejects_bad_files() {
        assert!(Expectations::parse("[]").is_err());
        assert!(Expectations::parse(r#"{"a": 1}"#).is_err());
        assert!(Expectations::parse(r#"{"a": " "}"#).is_err());
        assert!(Expectations::parse(r#"{"a": "x", "a": "y"}"#).is_err());
        assert!(Expectations::parse(r#"{"[": "x"}"#).is_err());
        assert!(Expectations::parse("{}").is_ok());
    }
}
