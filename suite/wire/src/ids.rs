//! Session and turn identifiers: `ses_` / `trn_` + a 26-character Crockford base32 ULID.
//!
//! The seed's examples use this form, and it carries its own creation time, which makes logs easy
//! to read. Parsing is strict (upper case only, exactly 26 characters, first character at most
//! `7` so the value fits 128 bits), so that an identifier has exactly one spelling and can be
//! compared as a string.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use ulid::Ulid;

/// The prefix of session identifiers.
pub const SESSION_PREFIX: &str = "ses_";
/// The prefix of turn identifiers.
pub const TURN_PREFIX: &str = "trn_";
/// The length of the ULID part.
pub const ULID_LEN: usize = 26;

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Why a string is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The identifier does not start with the expected prefix.
    #[error("identifier must start with {0:?}")]
    Prefix(&'static str),
    /// The part after the prefix is not a 26-character upper-case Crockford base32 ULID.
    #[error("identifier must end in a 26-character upper-case Crockford base32 ULID")]
    Ulid,
}

/// Whether `s` is a 26-character upper-case Crockford base32 ULID that fits in 128 bits.
pub fn is_valid_ulid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == ULID_LEN && b[0] <= b'7' && b.iter().all(|c| CROCKFORD.contains(c))
}

fn check(s: &str, prefix: &'static str) -> Result<(), IdError> {
    let rest = s.strip_prefix(prefix).ok_or(IdError::Prefix(prefix))?;
    if is_valid_ulid(rest) {
        Ok(())
    } else {
        Err(IdError::Ulid)
    }
}

/// Whether `s` is a valid session identifier (`ses_` + ULID).
pub fn is_valid_session_id(s: &str) -> bool {
    check(s, SESSION_PREFIX).is_ok()
}

/// Whether `s` is a valid turn identifier (`trn_` + ULID).
pub fn is_valid_turn_id(s: &str) -> bool {
    check(s, TURN_PREFIX).is_ok()
}

macro_rules! prefixed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// A fresh identifier from the current time and the system's randomness.
            #[allow(clippy::new_without_default)]
            pub fn new() -> Self {
                Self::from_ulid(Ulid::new())
            }

            /// The identifier carrying `ulid`.
            pub fn from_ulid(ulid: Ulid) -> Self {
                Self(format!("{}{}", $prefix, ulid))
            }

            /// The identifier as a string, prefix included.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The 26-character ULID part.
            pub fn ulid_str(&self) -> &str {
                self.0.get($prefix.len()..).unwrap_or_default()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = IdError;

            fn from_str(s: &str) -> Result<Self, IdError> {
                check(s, $prefix)?;
                Ok(Self(s.to_owned()))
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

prefixed_id!(
    /// A session identifier: `ses_` + ULID.
    SessionId,
    SESSION_PREFIX
);
prefixed_id!(
    /// A turn identifier: `trn_` + ULID.
    TurnId,
    TURN_PREFIX
);

impl SessionId {
    /// The `previous_turn_id` of the session's genesis receipt: `trn_` + this session's ULID.
    pub fn genesis_turn_id(&self) -> TurnId {
        TurnId(format!("{TURN_PREFIX}{}", self.ulid_str()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn fresh_ids_parse() {
        let s = SessionId::new();
        assert!(is_valid_session_id(s.as_str()));
        assert_eq!(s.as_str().parse::<SessionId>(), Ok(s.clone()));
        let g = s.genesis_turn_id();
        assert!(is_valid_turn_id(g.as_str()));
        assert_eq!(g.ulid_str(), s.ulid_str());
        assert!(is_valid_turn_id(TurnId::new().as_str()));
    }

    #[test]
    fn strictness() {
        let ok = "ses_01ARZ3NDEKTSV4RRFFQ69G5FAV";
        assert!(is_valid_session_id(ok));
        assert!(!is_valid_turn_id(ok));
        for bad in [
            "ses_01arz3ndektsv4rrffq69g5fav",  // lower case
            "ses_01ARZ3NDEKTSV4RRFFQ69G5FA",   // 25 chars
            "ses_01ARZ3NDEKTSV4RRFFQ69G5FAVX", // 27 chars
            "ses_81ARZ3NDEKTSV4RRFFQ69G5FAV",  // overflows 128 bits
            "ses_01ARZ3NDEKTSV4RRFFQ69G5FAI",  // I is not Crockford
            "SES_01ARZ3NDEKTSV4RRFFQ69G5FAV",
            "ses_",
            "",
            "ses_01ARZ3NDEKTSV4RRFFQ69G5FA\u{e9}",
        ] {
            assert!(!is_valid_session_id(bad), "{bad}");
        }
        assert_eq!("x".parse::<TurnId>(), Err(IdError::Prefix("trn_")));
    }

    #[test]
    fn serde_as_string() {
        let s: SessionId = serde_json::from_str("\"ses_01ARZ3NDEKTSV4RRFFQ69G5FAV\"").unwrap();
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            "\"ses_01ARZ3NDEKTSV4RRFFQ69G5FAV\""
        );
        assert!(serde_json::from_str::<SessionId>("\"ses_x\"").is_err());
    }
}
