//! Finding, validating and naming vector files.
//!
//! Vectors live under `vectors/<binding>/<area>/NNN-name.json`. Each file is
//! parsed strictly (no duplicate members), validated against
//! `vectors/schema/vector.schema.json`, then checked for what a schema cannot
//! say: unique `id`s, actors declared before use, step references
//! (`nonce_from`, `replay`, snapshots) pointing backwards, schema files that
//! exist. A vector's name is its path relative to `vectors/` with `/`
//! separators; the set is sorted by name so every run and every listing has
//! the same order.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::model::{Binding, CheckKind, Step, Vector};
use super::schema::{SchemaStore, VECTOR_SCHEMA};
use super::template::has_expression;

/// Directories under the vector root that hold vectors, one per binding.
pub const BINDING_DIRS: &[(&str, Binding)] = &[("oap", Binding::Oap), ("amp", Binding::Amp)];

/// Largest vector file accepted (vectors are small; this bounds a bad checkout).
pub const MAX_VECTOR_FILE_BYTES: u64 = 4 << 20;

/// Errors loading the vector set.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A directory or file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// One file is not a valid vector.
    #[error("{path}: {reason}")]
    Invalid {
        /// The vector's name (relative path).
        path: String,
        /// Why.
        reason: String,
    },
    /// Two vectors share an `id`.
    #[error("duplicate vector id {id}: {first} and {second}")]
    DuplicateId {
        /// The id.
        id: String,
        /// The first file.
        first: String,
        /// The second file.
        second: String,
    },
    /// The vector schema itself is broken.
    #[error(transparent)]
    Schema(#[from] super::schema::SchemaError),
}

/// One vector with where it came from.
#[derive(Debug, Clone)]
pub struct LoadedVector {
    /// Path relative to the vector root, `/`-separated (`oap/lifecycle/001-create.json`).
    pub path: String,
    /// The parsed vector.
    pub vector: Vector,
}

/// The vector set of a run.
#[derive(Debug, Clone)]
pub struct VectorSet {
    /// The vector root (`vectors/`).
    pub root: PathBuf,
    /// Every vector, sorted by path.
    pub vectors: Vec<LoadedVector>,
    /// SHA-256 (lower hex) over every file's path and bytes, in path order.
    pub digest: String,
}

impl VectorSet {
    /// The vector with this id or path.
    pub fn find(&self, id_or_path: &str) -> Option<&LoadedVector> {
        self.vectors
            .iter()
            .find(|v| v.vector.id == id_or_path || v.path == id_or_path)
    }
}

/// The vector root of a source checkout (`<workspace>/vectors`).
pub fn default_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("vectors")
}

/// What checks one vector file: the vector schema and the schema files a vector may name.
pub struct Loader {
    schemas: SchemaStore,
    validator: std::sync::Arc<jsonschema::Validator>,
}

impl std::fmt::Debug for Loader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loader")
            .field("schemas", &self.schemas)
            .finish_non_exhaustive()
    }
}

impl Loader {
    /// A loader for the vector root `root` (its schemas are under `root/schema`).
    pub fn new(root: &Path) -> Result<Self, LoadError> {
        let schemas = SchemaStore::new(root.join("schema"));
        let validator = schemas.validator(VECTOR_SCHEMA)?;
        Ok(Loader { schemas, validator })
    }

    /// Parses and checks one vector file: `name` is its path relative to the vector root
    /// (`oap/lifecycle/001-create.json`), `bytes` its content. Every check of [`load()`] but
    /// the uniqueness of ids across files.
    pub fn parse(&self, name: &str, bytes: &[u8]) -> Result<Vector, LoadError> {
        let invalid = |reason: String| LoadError::Invalid {
            path: name.to_owned(),
            reason,
        };
        let raw: Value = parse_strict(bytes).map_err(invalid)?;
        let errors: Vec<String> = self
            .validator
            .iter_errors(&raw)
            .take(5)
            .map(|e| format!("at {}: {e}", e.instance_path()))
            .collect();
        if !errors.is_empty() {
            return Err(invalid(format!(
                "does not match {VECTOR_SCHEMA}: {}",
                errors.join("; ")
            )));
        }
        let vector: Vector =
            serde_json::from_value(raw).map_err(|e| invalid(format!("bad vector: {e}")))?;
        check(name, &vector, &self.schemas).map_err(invalid)?;
        Ok(vector)
    }
}

/// Loads and checks every vector under `root`.
pub fn load(root: &Path) -> Result<VectorSet, LoadError> {
    let loader = Loader::new(root)?;
    let mut files = Vec::new();
    for (dir, _) in BINDING_DIRS {
        let base = root.join(dir);
        if base.is_dir() {
            collect(&base, &mut files)?;
        }
    }
    let mut named: Vec<(String, PathBuf)> = files
        .into_iter()
        .filter_map(|p| {
            let rel = p.strip_prefix(root).ok()?;
            let name = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            Some((name, p))
        })
        .collect();
    named.sort();

    let mut hasher = Sha256::new();
    let mut vectors = Vec::with_capacity(named.len());
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    for (name, file) in named {
        let bytes = read_bounded(&file)?;
        hasher.update(name.as_bytes());
        hasher.update([0]);
        hasher.update(&bytes);
        hasher.update([0]);
        let vector = loader.parse(&name, &bytes)?;
        if let Some(first) = ids.insert(vector.id.clone(), name.clone()) {
            return Err(LoadError::DuplicateId {
                id: vector.id.clone(),
                first,
                second: name,
            });
        }
        vectors.push(LoadedVector { path: name, vector });
    }
    Ok(VectorSet {
        root: root.to_path_buf(),
        vectors,
        digest: hex::encode(hasher.finalize()),
    })
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), LoadError> {
    let io = |source| LoadError::Io {
        path: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    Ok(())
}

fn read_bounded(file: &Path) -> Result<Vec<u8>, LoadError> {
    let io = |source| LoadError::Io {
        path: file.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(file).map_err(io)?;
    if meta.len() > MAX_VECTOR_FILE_BYTES {
        return Err(LoadError::Invalid {
            path: file.display().to_string(),
            reason: format!("larger than {MAX_VECTOR_FILE_BYTES} bytes"),
        });
    }
    std::fs::read(file).map_err(io)
}

/// Vector files are I-JSON: duplicate member names are an error.
fn parse_strict(bytes: &[u8]) -> Result<Value, String> {
    let limits = oap_wire::json::JsonLimits {
        max_bytes: MAX_VECTOR_FILE_BYTES as usize,
        ..oap_wire::json::JsonLimits::default()
    };
    oap_wire::json::parse_strict(bytes, &limits).map_err(|e| format!("not strict JSON: {e}"))
}

/// What the schema cannot say.
fn check(name: &str, v: &Vector, schemas: &SchemaStore) -> Result<(), String> {
    let binding_dir = name.split('/').next().unwrap_or("");
    if binding_dir != v.binding.as_str() {
        return Err(format!(
            "binding {} but the file is under {binding_dir}/",
            v.binding.as_str()
        ));
    }
    let actors: BTreeSet<&str> = v.actors.iter().map(String::as_str).collect();
    let mut seen_steps: BTreeSet<String> = BTreeSet::new();
    let mut snapshots: BTreeSet<String> = BTreeSet::new();
    let known_actor = |a: &str| has_expression(a) || actors.contains(a);
    for (i, step) in v.steps.iter().enumerate() {
        let step_name = v.step_name(i);
        let at = |msg: String| format!("step {} ({step_name}): {msg}", i + 1);
        match step {
            Step::Request(r) => {
                if let Some(a) = &r.actor
                    && !known_actor(a)
                {
                    return Err(at(format!("actor {a:?} is not declared in `actors`")));
                }
                if r.replay.is_none() {
                    if r.method.is_none() || r.path.is_none() {
                        return Err(at(
                            "a request needs `method` and `path` (or `replay`)".into()
                        ));
                    }
                    if r.actor.is_none() && !r.unsigned {
                        return Err(at("a request needs `actor` or `unsigned: true`".into()));
                    }
                }
                let bodies = [
                    r.body.is_some(),
                    r.raw_body.is_some(),
                    r.raw_body_base64.is_some(),
                ];
                if bodies.iter().filter(|b| **b).count() > 1 {
                    return Err(at("at most one of body, raw_body, raw_body_base64".into()));
                }
                let mut refs: Vec<&String> = Vec::new();
                if let Some(s) = &r.replay {
                    refs.push(s);
                }
                if let Some(sign) = &r.sign {
                    refs.extend(sign.nonce_from.iter());
                    if let Some(k) = &sign.key
                        && !known_actor(k)
                    {
                        return Err(at(format!("signing key of undeclared actor {k:?}")));
                    }
                }
                for target in refs {
                    if !seen_steps.contains(target) {
                        return Err(at(format!(
                            "refers to step {target:?}, which is not an earlier step"
                        )));
                    }
                }
                for outcome in r.expect.outcomes() {
                    if let Some(s) = &outcome.schema
                        && !schemas.exists(s)
                    {
                        return Err(at(format!("schema {s} not found in vectors/schema/")));
                    }
                }
            }
            Step::Check(c) => {
                if let Some(a) = &c.actor
                    && !known_actor(a)
                {
                    return Err(at(format!("actor {a:?} is not declared in `actors`")));
                }
                let need = |field: bool, what: &str| {
                    if field {
                        Ok(())
                    } else {
                        Err(at(format!("`{}` needs `{what}`", c.check.as_str())))
                    }
                };
                match c.check {
                    CheckKind::VerifyChain => need(c.actor.is_some(), "actor")?,
                    CheckKind::Snapshot => {
                        need(c.actor.is_some(), "actor")?;
                        need(c.save_as.is_some(), "as")?;
                        snapshots.extend(c.save_as.iter().cloned());
                    }
                    CheckKind::StateUnchangedSince => {
                        need(c.actor.is_some(), "actor")?;
                        let snap = c.snapshot.as_deref().unwrap_or("");
                        if !snapshots.contains(snap) {
                            return Err(at(format!(
                                "snapshot {snap:?} is not taken by an earlier step"
                            )));
                        }
                    }
                    CheckKind::SleepUntil => need(c.until.is_some(), "until")?,
                    CheckKind::Sleep => need(c.ms.is_some(), "ms")?,
                    CheckKind::Restart => {}
                    CheckKind::Set => need(!c.vars.is_empty(), "vars")?,
                    CheckKind::Race => {
                        need(c.scenario.is_some(), "scenario")?;
                        if let Some(Err(e)) = c.scenario.as_ref().map(|s| s.validate()) {
                            return Err(at(format!("scenario: {e}")));
                        }
                    }
                }
            }
        }
        if !seen_steps.insert(step_name.clone()) {
            return Err(format!("two steps are named {step_name:?}"));
        }
    }
    Ok(())
}
