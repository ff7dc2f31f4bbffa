//! `docs/requirements.json` and `docs/profile.md` describe the same requirements.
//!
//! The profile gives every normative clause a bold requirement ID; the catalogue lists each ID
//! once with its source, level, binding and testability. These tests keep the two in step: the
//! catalogue validates against its schema, every ID is well formed and unique, the profile and the
//! catalogue hold the same IDs, each entry's section is where its clause lives, and each source
//! file exists and has that section. The seed documents live outside the repository
//! (`../shared/seeds/`); when a checkout does not have them, their checks are skipped with a note.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// The repository root (the suite crate lives in `suite/`).
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn catalogue() -> Value {
    let path = repo_root().join("docs/requirements.json");
    serde_json::from_str(&read(&path)).unwrap_or_else(|e| panic!("requirements.json: {e}"))
}

fn entries() -> Vec<Value> {
    catalogue()["requirements"]
        .as_array()
        .expect("requirements.json has a `requirements` array")
        .clone()
}

fn field<'a>(entry: &'a Value, name: &str) -> &'a str {
    entry[name]
        .as_str()
        .unwrap_or_else(|| panic!("entry {entry} has no string {name:?}"))
}

/// The sections of RFC 0001 that hold normative text.
const OAP_SECTIONS: &[&str] = &[
    "3.1", "3.2", "3.3", "3.4", "3.5", "3.6", "3.7", "4", "5", "6", "7",
];
/// The sections of RFC 004 the profile restates.
const AMP_SECTIONS: &[&str] = &["2.1", "2.2", "2.3", "3.1", "3.2", "3.3", "4", "5", "6"];
/// The areas of the profile's own clauses.
const PRF_AREAS: &[&str] = &[
    "ID", "SIG", "JSON", "MAN", "AUTH", "ENV", "TURN", "LIFE", "HIJ", "COMPAT", "PRIV", "CRED",
    "RCPT", "CCC", "QUOTA", "ERR", "DUR", "AMP",
];

const OAP_SEED: &str = "seeds/001_30244f9c8c5500ba.txt";
const AMP_SEED: &str = "seeds/000_3a79a86348ea2202.txt";
const PROFILE: &str = "docs/profile.md";

/// A parsed requirement ID: prefix, middle part (section or area), number.
fn parse_id(id: &str) -> Option<(&str, &str, u32)> {
    let (prefix, rest) = id.split_once('-')?;
    let (middle, number) = rest.rsplit_once('-')?;
    if number.starts_with('0') || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let number: u32 = number.parse().ok()?;
    let known = match prefix {
        "OAP" => OAP_SECTIONS.contains(&middle),
        "AMP" => AMP_SECTIONS.contains(&middle),
        "PRF" => PRF_AREAS.contains(&middle),
        _ => false,
    };
    known.then_some((prefix, middle, number))
}

/// Every `**ID**` in the profile, with the numbered section it appears under (`None` in the
/// appendices), in document order.
fn profile_ids() -> Vec<(String, Option<String>)> {
    let text = read(&repo_root().join(PROFILE));
    let mut section: Option<String> = None;
    let mut out = Vec::new();
    for line in text.lines() {
        // A numbered heading opens a section; an unnumbered `###` stays inside the enclosing
        // one, an unnumbered `##` (an appendix) leaves the numbered sections.
        let (is_top, heading) = match (line.strip_prefix("## "), line.strip_prefix("### ")) {
            (Some(h), _) => (true, Some(h)),
            (_, Some(h)) => (false, Some(h)),
            _ => (false, None),
        };
        if let Some(heading) = heading {
            let number = heading.split_whitespace().next().unwrap_or("");
            let number = number.trim_end_matches('.');
            let numbered = !number.is_empty()
                && number
                    .split('.')
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
            if numbered {
                section = Some(number.to_owned());
            } else if is_top {
                section = None;
            }
        }
        let mut rest = line;
        while let Some(start) = rest.find("**") {
            let after = &rest[start + 2..];
            let Some(end) = after.find("**") else { break };
            let candidate = &after[..end];
            let looks_like_id = ["OAP-", "AMP-", "PRF-"]
                .iter()
                .any(|p| candidate.starts_with(p))
                && !candidate.contains(' ');
            if looks_like_id {
                out.push((candidate.to_owned(), section.clone()));
            }
            rest = &after[end + 2..];
        }
    }
    out
}

/// Where the seed documents are, when this checkout has them.
fn seeds_dir() -> Option<PathBuf> {
    let dir = repo_root().join("../shared/seeds");
    dir.is_dir().then_some(dir)
}

/// Whether `text` has a heading line for section `section` (e.g. `3.2 …`, `4. …`, `### 2.1 …`).
fn has_section(text: &str, section: &str) -> bool {
    text.lines().any(|line| {
        let line = line.trim_start_matches('#').trim_start();
        line.strip_prefix(section)
            .is_some_and(|rest| rest.starts_with(' ') || rest.starts_with(". "))
    })
}

/// The strongest BCP 14 key word in `text`, if it has one.
fn strongest_keyword(text: &str) -> Option<&'static str> {
    let words: BTreeSet<&str> = text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let any = |ks: &[&str]| ks.iter().any(|k| words.contains(k));
    if any(&["MUST", "REQUIRED", "SHALL"]) {
        Some("MUST")
    } else if any(&["SHOULD", "RECOMMENDED"]) {
        Some("SHOULD")
    } else if any(&["MAY", "OPTIONAL"]) {
        Some("MAY")
    } else {
        None
    }
}

#[test]
fn catalogue_validates_against_its_schema() {
    let schema_path = repo_root().join("vectors/schema/requirements.schema.json");
    let schema: Value = serde_json::from_str(&read(&schema_path)).expect("schema is JSON");
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|e| panic!("requirements.schema.json does not compile: {e}"));
    let catalogue = catalogue();
    let errors: Vec<String> = validator
        .iter_errors(&catalogue)
        .take(20)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn ids_are_well_formed_and_unique() {
    let mut seen = BTreeSet::new();
    let mut problems = Vec::new();
    for entry in entries() {
        let id = field(&entry, "id");
        if parse_id(id).is_none() {
            problems.push(format!(
                "{id}: not OAP-<RFC 0001 section>-<n>, AMP-<RFC 004 section>-<n> or PRF-<area>-<n>"
            ));
        }
        if !seen.insert(id.to_owned()) {
            problems.push(format!("{id}: listed twice"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn profile_and_catalogue_hold_the_same_ids() {
    let in_profile = profile_ids();
    let mut problems = Vec::new();
    let mut profile_set = BTreeSet::new();
    for (id, _) in &in_profile {
        if !profile_set.insert(id.clone()) {
            problems.push(format!(
                "{id}: starts more than one clause of docs/profile.md"
            ));
        }
        if parse_id(id).is_none() {
            problems.push(format!("{id}: malformed ID in docs/profile.md"));
        }
    }
    let catalogue_set: BTreeSet<String> = entries()
        .iter()
        .map(|e| field(e, "id").to_owned())
        .collect();
    for id in profile_set.difference(&catalogue_set) {
        problems.push(format!(
            "{id}: in docs/profile.md but not in docs/requirements.json"
        ));
    }
    for id in catalogue_set.difference(&profile_set) {
        problems.push(format!(
            "{id}: in docs/requirements.json but not in docs/profile.md"
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn each_entry_names_its_section_source_and_binding() {
    let located: BTreeMap<String, Option<String>> = profile_ids().into_iter().collect();
    let mut problems = Vec::new();
    for entry in entries() {
        let id = field(&entry, "id");
        let Some((prefix, middle, _)) = parse_id(id) else {
            continue;
        };
        let section = field(&entry, "section");
        let (expected_section, document) = match prefix {
            "OAP" => (Some(middle.to_owned()), OAP_SEED),
            "AMP" => (Some(middle.to_owned()), AMP_SEED),
            _ => (located.get(id).cloned().flatten(), PROFILE),
        };
        match expected_section {
            Some(expected) if expected == section => {}
            Some(expected) => problems.push(format!(
                "{id}: section {section}, but its clause is in §{expected}"
            )),
            None => problems.push(format!(
                "{id}: a profile clause outside the numbered sections 1 to 12"
            )),
        }
        let expected_source = format!("{document} §{section}");
        if field(&entry, "source") != expected_source {
            problems.push(format!("{id}: source should be {expected_source:?}"));
        }
        let binding = if prefix == "AMP" || id.starts_with("PRF-AMP-") {
            "amp"
        } else {
            "oap"
        };
        if field(&entry, "binding") != binding {
            problems.push(format!("{id}: binding should be {binding:?}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn levels_match_the_key_words_and_untestables_give_reasons() {
    let mut problems = Vec::new();
    for entry in entries() {
        let id = field(&entry, "id");
        let text = field(&entry, "text");
        let level = field(&entry, "level");
        if let Some(keyword) = strongest_keyword(text)
            && keyword != level
        {
            problems.push(format!(
                "{id}: level {level}, but its strongest key word is {keyword}"
            ));
        }
        if text.starts_with("Informative") && entry["testable"] == Value::Bool(true) {
            problems.push(format!("{id}: informative, so not testable; say why"));
        }
        if let Some(reason) = entry["testable"].as_str()
            && reason.trim().len() < 10
        {
            problems.push(format!("{id}: an untestable requirement needs a reason"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn sources_exist_and_have_the_cited_sections() {
    let mut problems = Vec::new();
    let mut texts: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut skipped = BTreeSet::new();
    for entry in entries() {
        let id = field(&entry, "id");
        let source = field(&entry, "source");
        let Some((file, section)) = source.split_once(" §") else {
            problems.push(format!(
                "{id}: source {source:?} is not \"<file> §<section>\""
            ));
            continue;
        };
        let text = texts.entry(file.to_owned()).or_insert_with(|| {
            let path = if let Some(seed) = file.strip_prefix("seeds/") {
                match seeds_dir() {
                    Some(dir) => dir.join(seed),
                    None => return None,
                }
            } else {
                repo_root().join(file)
            };
            Some(fs::read_to_string(&path).unwrap_or_default())
        });
        match text {
            None => {
                skipped.insert(file.to_owned());
            }
            Some(t) if t.is_empty() => {
                problems.push(format!("{id}: source file {file} is missing or empty"))
            }
            Some(t) if !has_section(t, section) => {
                problems.push(format!("{id}: {file} has no section {section}"))
            }
            Some(_) => {}
        }
    }
    for file in &skipped {
        println!(
            "note: {file} is not in this checkout (../shared/seeds/ is absent); its sources were not checked"
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
