//! RFC 3339 timestamps as the profile writes them: UTC, `Z`, second precision.
//!
//! Receipts and credentials carry `issued_at` / `expires_at` strings; one formatting function
//! keeps every producer byte-identical, and one parser keeps every consumer equally lenient (any
//! RFC 3339 offset is read, only the canonical form is written).

use ::time::format_description::well_known::Rfc3339;
use ::time::{OffsetDateTime, UtcOffset};

/// Why a timestamp was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// The string is not an RFC 3339 date-time.
    #[error("not an RFC 3339 date-time: {0}")]
    Parse(String),
}

/// The current time as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn now_rfc3339() -> String {
    format_rfc3339(OffsetDateTime::now_utc())
}

/// Formats `t` in UTC with second precision and a `Z` suffix.
pub fn format_rfc3339(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Formats a Unix time in seconds (see [`format_rfc3339`]); out-of-range values are clamped to
/// the supported years.
pub fn format_unix(secs: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp(secs).unwrap_or(if secs < 0 {
        OffsetDateTime::UNIX_EPOCH
    } else {
        OffsetDateTime::from_unix_timestamp(253_402_300_799).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    });
    format_rfc3339(t)
}

/// Parses an RFC 3339 date-time (any offset). The date and time must be separated by `T` (or
/// `t`): the space that RFC 3339's note tolerates is refused, as the profile's ABNF does.
pub fn parse_rfc3339(s: &str) -> Result<OffsetDateTime, TimeError> {
    if !matches!(s.as_bytes().get(10), Some(b'T' | b't')) {
        return Err(TimeError::Parse(format!(
            "{s:?}: date and time not separated by T"
        )));
    }
    OffsetDateTime::parse(s, &Rfc3339).map_err(|e| TimeError::Parse(e.to_string()))
}

/// Seconds since the Unix epoch, now.
pub fn unix_now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn canonical_form() {
        let now = now_rfc3339();
        assert_eq!(now.len(), 20);
        assert!(now.ends_with('Z'));
        let t = parse_rfc3339(&now).unwrap();
        assert_eq!(format_rfc3339(t), now);
        let t = parse_rfc3339("2023-02-24T23:36:38.123+01:00").unwrap();
        assert_eq!(format_rfc3339(t), "2023-02-24T22:36:38Z");
        assert!(parse_rfc3339("2023-02-24 23:36:38Z").is_err());
        assert_eq!(format_unix(0), "1970-01-01T00:00:00Z");
        assert!(unix_now() > 1_600_000_000);
    }
}
