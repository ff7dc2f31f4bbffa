//! JSON Schemas under `vectors/schema/`: compiled once, resolved offline.
//!
//! Vector files are validated against `vector.schema.json`; response bodies
//! against the wire-message schemas a step names. Schemas refer to each other
//! by URN (`urn:oap-conform:schema:receipt`), relative reference or absolute
//! `$id`; the suite resolves each to a file of the schema directory and never
//! fetches anything from the network, so a run is hermetic.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::matcher::SchemaCheck;

/// The schema every vector file must satisfy.
pub const VECTOR_SCHEMA: &str = "vector.schema.json";

/// Errors compiling a schema.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// The schema file could not be read.
    #[error("cannot read schema {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The schema file is not JSON.
    #[error("schema {path} is not JSON: {reason}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The schema does not compile.
    #[error("schema {name} does not compile: {reason}")]
    Compile {
        /// The file name.
        name: String,
        /// Why.
        reason: String,
    },
    /// A name that is not a plain file name inside the schema directory.
    #[error("schema name {0:?} must be a file name inside vectors/schema/")]
    BadName(String),
}

/// Resolves references by file name inside the schema directory.
struct DirRetriever {
    dir: PathBuf,
}

impl jsonschema::Retrieve for DirRetriever {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        // `urn:oap-conform:schema:receipt`, `…/schema/receipt.schema.json` and
        // `receipt.schema.json` all name the file `receipt.schema.json` here.
        let text = uri.as_str();
        let last = text
            .rsplit(['/', ':'])
            .next()
            .unwrap_or(text)
            .split(['#', '?'])
            .next()
            .unwrap_or("");
        let candidates = [last.to_owned(), format!("{last}.schema.json")];
        let file = candidates
            .iter()
            .filter(|n| valid_name(n))
            .map(|n| self.dir.join(n))
            .find(|p| p.is_file())
            .ok_or_else(|| format!("cannot resolve {uri} inside {}", self.dir.display()))?;
        let text = std::fs::read_to_string(&file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        Ok(serde_json::from_str(&text)?)
    }
}

/// Compiled schemas of one schema directory, shared by every vector of a run.
pub struct SchemaStore {
    dir: PathBuf,
    cache: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

impl std::fmt::Debug for SchemaStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchemaStore")
            .field("dir", &self.dir)
            .finish()
    }
}

impl SchemaStore {
    /// A store over `dir` (normally `vectors/schema/`).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        SchemaStore {
            dir: dir.into(),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether a schema file of that name exists.
    pub fn exists(&self, name: &str) -> bool {
        valid_name(name) && self.dir.join(name).is_file()
    }

    /// The compiled validator for a schema file name.
    pub fn validator(&self, name: &str) -> Result<Arc<jsonschema::Validator>, SchemaError> {
        if !valid_name(name) {
            return Err(SchemaError::BadName(name.into()));
        }
        if let Ok(cache) = self.cache.lock()
            && let Some(v) = cache.get(name)
        {
            return Ok(Arc::clone(v));
        }
        let path = self.dir.join(name);
        let text = std::fs::read_to_string(&path).map_err(|source| SchemaError::Read {
            path: path.clone(),
            source,
        })?;
        let schema: Value = serde_json::from_str(&text).map_err(|e| SchemaError::Parse {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let base = url::Url::from_file_path(&path)
            .map(|u| u.to_string())
            .unwrap_or_else(|()| format!("file:///schema/{name}"));
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .with_base_uri(base)
            .with_retriever(DirRetriever {
                dir: self.dir.clone(),
            })
            .should_validate_formats(true)
            .build(&schema)
            .map_err(|e| SchemaError::Compile {
                name: name.into(),
                reason: e.to_string(),
            })?;
        let validator = Arc::new(validator);
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(name.to_owned(), Arc::clone(&validator));
        }
        Ok(validator)
    }

    /// Every violation of `instance` against the named schema, one line each
    /// (at most `limit`).
    pub fn violations(
        &self,
        name: &str,
        instance: &Value,
        limit: usize,
    ) -> Result<Vec<String>, SchemaError> {
        let validator = self.validator(name)?;
        Ok(validator
            .iter_errors(instance)
            .take(limit)
            .map(|e| {
                let at = e.instance_path().to_string();
                let at = if at.is_empty() { "/".to_owned() } else { at };
                format!("at {at}: {e}")
            })
            .collect())
    }
}

impl SchemaCheck for SchemaStore {
    fn check(&self, schema: &str, instance: &Value) -> Result<(), String> {
        match self.violations(schema, instance, 5) {
            Ok(v) if v.is_empty() => Ok(()),
            Ok(v) => Err(v.join("; ")),
            Err(e) => Err(e.to_string()),
        }
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name.contains(['/', '\\'])
        && !name.starts_with('.')
        && name.ends_with(".json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_schemas_resolve_each_other() {
        let store = SchemaStore::new(crate::vector::default_root().join("schema"));
        for entry in std::fs::read_dir(store.dir())
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".schema.json") {
                assert!(store.validator(&name).is_ok(), "{name} does not compile");
            }
        }
        let empty = serde_json::json!({});
        assert!(store.check("create-response.schema.json", &empty).is_err());
        assert!(store.check("../etc/passwd.json", &empty).is_err());
    }
}
