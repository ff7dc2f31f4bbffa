//! The requirement catalogue (`docs/requirements.json`) as the report reads it.
//!
//! The catalogue lists every requirement ID of the profile with its text, its
//! level and its binding, and says whether a black-box suite can test it. The
//! verdict is computed over this list, so that a requirement no vector covers
//! shows up as a gap rather than silently passing.
//!
//! The file is either a JSON array of entries or an object whose
//! `requirements` member is that array. Members the report does not use are
//! ignored, so the catalogue can grow without breaking old suites.

use std::path::Path;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};

use super::error::ReportError;
use super::model::Level;

/// Binding names under which a requirement applies to every binding.
pub const ALL_BINDINGS: &[&str] = &["all", "both", "any", "*"];

/// Whether a requirement can be tested from outside the Tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Testable {
    /// Vectors can check it (`"testable": true`).
    Yes,
    /// It cannot be checked black-box; the string says why
    /// (`"testable": "needs access to the store"`).
    No(String),
}

impl Serialize for Testable {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Testable::Yes => serializer.serialize_bool(true),
            Testable::No(reason) => serializer.serialize_str(reason),
        }
    }
}

impl<'de> Deserialize<'de> for Testable {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Flag(bool),
            Reason(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Flag(true) => Ok(Testable::Yes),
            Raw::Flag(false) => Err(de::Error::custom(
                "`testable: false` must be a string saying why it cannot be tested",
            )),
            Raw::Reason(reason) if reason.trim().is_empty() => {
                Err(de::Error::custom("`testable` reason must not be empty"))
            }
            Raw::Reason(reason) => Ok(Testable::No(reason)),
        }
    }
}

/// One entry of `docs/requirements.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequirementEntry {
    /// Requirement ID (`OAP-3.2-3`, `AMP-4-1`, `PRF-auth-2`).
    pub id: String,
    /// The document the clause comes from (an RFC or the profile).
    pub source: String,
    /// The section of that document, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section: Option<String>,
    /// The clause, restated.
    pub text: String,
    /// MUST, SHOULD or MAY.
    pub level: Level,
    /// The binding it belongs to (`oap`, `amp`), or one of [`ALL_BINDINGS`].
    pub binding: String,
    /// Whether vectors can test it.
    pub testable: Testable,
    /// What a reader should know about how it is tested (for example, a hook it needs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl RequirementEntry {
    /// Whether the requirement applies to a run of `binding`.
    pub fn applies_to(&self, binding: &str) -> bool {
        self.binding == binding || ALL_BINDINGS.contains(&self.binding.as_str())
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum CatalogueFile {
    List(Vec<RequirementEntry>),
    Wrapped { requirements: Vec<RequirementEntry> },
}

/// Parses a catalogue from its JSON text and checks that IDs are unique.
pub fn parse_requirements(json: &str) -> Result<Vec<RequirementEntry>, ReportError> {
    let entries = match serde_json::from_str::<CatalogueFile>(json) {
        Ok(CatalogueFile::List(entries))
        | Ok(CatalogueFile::Wrapped {
            requirements: entries,
        }) => entries,
        Err(_) => {
            // The untagged error says nothing useful; parse again as a plain
            // list to report the line and column of the first bad entry.
            serde_json::from_str::<Vec<RequirementEntry>>(json)
                .map_err(|e| ReportError::Catalogue(e.to_string()))?
        }
    };
    let mut seen = std::collections::BTreeSet::new();
    for entry in &entries {
        if !seen.insert(entry.id.as_str()) {
            return Err(ReportError::Catalogue(format!(
                "requirement ID {} appears twice",
                entry.id
            )));
        }
    }
    Ok(entries)
}

/// Reads and parses a catalogue file (`docs/requirements.json`).
pub fn load_requirements(path: &Path) -> Result<Vec<RequirementEntry>, ReportError> {
    let text = std::fs::read_to_string(path).map_err(|source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_requirements(&text)
}

/// The entries that apply to at least one of `bindings`, in catalogue order.
pub fn for_bindings<'a>(
    entries: &'a [RequirementEntry],
    bindings: &[String],
) -> Vec<&'a RequirementEntry> {
    entries
        .iter()
        .filter(|e| bindings.iter().any(|b| e.applies_to(b)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn testable_is_true_or_a_reason() {
        let list = parse_requirements(
            r#"[
              {"id":"OAP-1-1","source":"RFC 0001","section":"3.2","text":"t","level":"MUST","binding":"oap","testable":true},
              {"id":"PRF-x-1","source":"profile","text":"t","level":"SHOULD","binding":"both","testable":"needs the store"}
            ]"#,
        )
        .expect("valid catalogue");
        assert_eq!(list[0].testable, Testable::Yes);
        assert_eq!(list[1].testable, Testable::No("needs the store".into()));
        assert!(list[1].applies_to("amp"));
        assert!(!list[0].applies_to("amp"));
    }

    #[test]
    fn wrapped_form_and_errors() {
        let wrapped = r#"{"requirements":[{"id":"A","source":"s","text":"t","level":"MAY","binding":"amp","testable":true}],"version":1}"#;
        assert_eq!(parse_requirements(wrapped).map(|l| l.len()).ok(), Some(1));
        let dup = r#"[{"id":"A","source":"s","text":"t","level":"MAY","binding":"amp","testable":true},
                      {"id":"A","source":"s","text":"t","level":"MAY","binding":"amp","testable":true}]"#;
        assert!(parse_requirements(dup).is_err());
        let false_flag = r#"[{"id":"A","source":"s","text":"t","level":"MAY","binding":"amp","testable":false}]"#;
        assert!(parse_requirements(false_flag).is_err());
    }
}
