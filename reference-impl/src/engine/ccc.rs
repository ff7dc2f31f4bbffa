//! Confidentiality and Compliance Context (RFC 0001 §3.7, profile §8).
//!
//! A scope says which level a participant imposes on the session (`ccc`) and which level it may
//! hold (`clearance`). The session's CCC is the highest `ccc` among current participants; a
//! newcomer is refused when its clearance is below that, or when its own `ccc` would exceed some
//! current participant's clearance (that participant could no longer hold the session).

use serde::{Deserialize, Serialize};

/// A confidentiality level, ordered `public < internal < confidential < restricted`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Anyone may see it.
    Public,
    /// Within the organisations involved.
    Internal,
    /// Named people only.
    Confidential,
    /// The most restricted.
    Restricted,
}

impl Level {
    /// The level's wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Public => "public",
            Level::Internal => "internal",
            Level::Confidential => "confidential",
            Level::Restricted => "restricted",
        }
    }
}

/// A participant's scope: the level it imposes and the level it may hold (`ccc ≤ clearance`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    /// The level the participant imposes on the session.
    pub ccc: Level,
    /// The highest level the participant may hold.
    pub clearance: Level,
}

impl Scope {
    /// Parses a scope from untrusted JSON, requiring `ccc ≤ clearance`.
    pub fn from_value(value: &serde_json::Value) -> Result<Scope, String> {
        let scope: Scope = serde::Deserialize::deserialize(value).map_err(|e| {
            format!("scope must be {{\"ccc\", \"clearance\"}} with known levels: {e}")
        })?;
        if scope.ccc > scope.clearance {
            return Err(format!(
                "scope ccc {} is above its clearance {}",
                scope.ccc.as_str(),
                scope.clearance.as_str()
            ));
        }
        Ok(scope)
    }
}

/// The session CCC: the highest `ccc` among the given scopes (`public` when there are none).
pub fn session_ccc<'a>(scopes: impl IntoIterator<Item = &'a Scope>) -> Level {
    scopes
        .into_iter()
        .map(|s| s.ccc)
        .max()
        .unwrap_or(Level::Public)
}

/// Checks a newcomer's scope against the current participants' scopes (profile §8).
pub fn admit<'a>(
    newcomer: &Scope,
    current: impl IntoIterator<Item = &'a Scope> + Clone,
) -> Result<(), String> {
    let level = session_ccc(current.clone());
    if newcomer.clearance < level {
        return Err(format!(
            "clearance {} is below the session CCC {}",
            newcomer.clearance.as_str(),
            level.as_str()
        ));
    }
    if let Some(low) = current
        .into_iter()
        .map(|s| s.clearance)
        .filter(|c| newcomer.ccc > *c)
        .min()
    {
        return Err(format!(
            "ccc {} is above a current participant's clearance {}",
            newcomer.ccc.as_str(),
            low.as_str()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Level::*;
    use super::*;

    fn s(ccc: Level, clearance: Level) -> Scope {
        Scope { ccc, clearance }
    }

    #[test]
    fn levels_are_ordered() {
        assert!(Public < Internal && Internal < Confidential && Confidential < Restricted);
    }

    #[test]
    fn scope_requires_ccc_at_most_clearance() {
        let ok = serde_json::json!({"ccc": "internal", "clearance": "restricted"});
        assert_eq!(Scope::from_value(&ok), Ok(s(Internal, Restricted)));
        let bad = serde_json::json!({"ccc": "restricted", "clearance": "internal"});
        assert!(Scope::from_value(&bad).is_err());
        let unknown = serde_json::json!({"ccc": "secret", "clearance": "internal"});
        assert!(Scope::from_value(&unknown).is_err());
        let extra = serde_json::json!({"ccc": "public", "clearance": "public", "x": 1});
        assert!(Scope::from_value(&extra).is_err());
    }

    /// The CCC table: (current participants, newcomer, admitted?).
    #[test]
    fn ccc_table() {
        let table: &[(&[Scope], Scope, bool)] = &[
            (&[s(Public, Public)], s(Public, Public), true),
            (&[s(Internal, Internal)], s(Public, Public), false),
            (&[s(Internal, Internal)], s(Public, Internal), true),
            (
                &[s(Internal, Confidential)],
                s(Confidential, Confidential),
                true,
            ),
            (&[s(Internal, Internal)], s(Confidential, Restricted), false),
            (
                &[s(Public, Restricted), s(Internal, Internal)],
                s(Internal, Internal),
                true,
            ),
            (
                &[s(Public, Restricted), s(Internal, Internal)],
                s(Restricted, Restricted),
                false,
            ),
            (
                &[s(Restricted, Restricted)],
                s(Confidential, Confidential),
                false,
            ),
            (&[s(Restricted, Restricted)], s(Public, Restricted), true),
            (&[], s(Restricted, Restricted), true),
        ];
        for (current, newcomer, ok) in table {
            assert_eq!(
                admit(newcomer, current.iter()).is_ok(),
                *ok,
                "{current:?} + {newcomer:?}"
            );
        }
    }

    #[test]
    fn session_ccc_is_the_highest() {
        assert_eq!(
            session_ccc(&[s(Public, Restricted), s(Confidential, Restricted)]),
            Confidential
        );
        assert_eq!(session_ccc(&[]), Public);
    }
}
