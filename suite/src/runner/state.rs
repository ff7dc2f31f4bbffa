//! The state of one vector run: variables, actors, sent requests, snapshots,
//! and the template [`Scope`] over them.
//!
//! Built-in template functions are evaluated here because they need this
//! state: `did:` needs the actors, `credential:` the actors and the captured
//! session id, `manifest:` the Tool's manifest. Fresh identifiers come from
//! `oap-wire` (ULIDs: unique per run without coordination).

use std::collections::BTreeMap;
use std::sync::Arc;

use rand::rngs::StdRng;
use serde_json::Value;

use crate::actors::credential::IssueInput;
use crate::actors::{Actors, CredentialSpec};
use crate::client::OutRequest;
use crate::vector::template::{Scope, TemplateError};

/// A request a step sent, kept for `replay` and `nonce_from`.
#[derive(Debug, Clone)]
pub struct Sent {
    /// The request as sent.
    pub request: OutRequest,
    /// The signature nonce, when signed.
    pub nonce: Option<String>,
}

/// What `snapshot` records about a session.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Snapshot {
    /// `state_version`.
    pub state_version: Value,
    /// `status`.
    pub status: Value,
    /// SHA-256 of JCS(`state`).
    pub state_digest: String,
    /// `convener`.
    pub convener: Value,
    /// `participants`, as returned.
    pub participants: Value,
    /// Number of receipts in the log.
    pub log_length: usize,
    /// `receipt_hash` of the last receipt.
    pub head_receipt_hash: Value,
}

/// Everything a vector run accumulates.
#[derive(Debug)]
pub struct VectorState {
    /// Captured and built-in variables.
    pub vars: BTreeMap<String, Value>,
    /// The vector's identities.
    pub actors: Actors,
    /// Requests sent, by step name.
    pub sent: BTreeMap<String, Sent>,
    /// Snapshots, by name.
    pub snapshots: BTreeMap<String, Snapshot>,
    manifest: Arc<Value>,
    rng: StdRng,
}

impl VectorState {
    /// A fresh state for one run of the vector `vector_id`, its randomness
    /// drawn from the run's `seed`.
    pub fn new(
        manifest: Arc<Value>,
        base_url: &str,
        run_id: &str,
        seed: u64,
        vector_id: &str,
    ) -> Self {
        let mut vars = BTreeMap::new();
        vars.insert("base_url".to_owned(), Value::String(base_url.to_owned()));
        vars.insert("run_id".to_owned(), Value::String(run_id.to_owned()));
        if let Some(did) = manifest.get("tool_did") {
            vars.insert("tool_did".to_owned(), did.clone());
        }
        VectorState {
            vars,
            actors: Actors::seeded(crate::seed::derive(seed, &format!("actors/{vector_id}"))),
            sent: BTreeMap::new(),
            snapshots: BTreeMap::new(),
            manifest,
            rng: crate::seed::derive(seed, &format!("ids/{vector_id}")),
        }
    }

    /// A fresh nonce for a request or credential of this vector.
    pub fn nonce(&mut self) -> String {
        crate::seed::nonce(&mut self.rng)
    }

    /// The Tool's manifest.
    pub fn manifest(&self) -> &Value {
        &self.manifest
    }

    fn issue(&mut self, arg: &str) -> Result<Value, TemplateError> {
        let bad = |reason: String| TemplateError::BadArgument {
            function: "credential".into(),
            reason,
        };
        let spec = CredentialSpec::parse(arg).map_err(|e| bad(e.to_string()))?;
        let issuer_did = self.actors.did(spec.issuer());
        let signer = self.actors.get(spec.signer());
        let subject_did = self.actors.did(spec.subject());
        let session_id = match spec.session_var() {
            "new" => crate::seed::session_id(&mut self.rng).to_string(),
            var => self
                .vars
                .get(var)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| TemplateError::UnknownVariable(var.to_owned()))?,
        };
        let cred = spec
            .issue(&IssueInput {
                issuer_did: &issuer_did,
                signer: &signer,
                subject_did: &subject_did,
                session_id: &session_id,
                now: oap_wire::time::unix_now(),
                fresh_nonce: crate::seed::nonce(&mut self.rng),
            })
            .map_err(|e| bad(e.to_string()))?;
        if let Some(name) = spec.param("as") {
            self.vars.insert(name.to_owned(), cred.clone());
        }
        Ok(cred)
    }
}

fn offset(function: &str, arg: &str) -> Result<i64, TemplateError> {
    let arg = arg.trim();
    let arg = arg.strip_prefix('+').unwrap_or(arg);
    if arg.is_empty() {
        return Ok(0);
    }
    arg.parse().map_err(|_| TemplateError::BadArgument {
        function: function.into(),
        reason: format!("{arg:?} is not an offset in seconds"),
    })
}

impl Scope for VectorState {
    fn var(&self, name: &str) -> Option<Value> {
        self.vars.get(name).cloned()
    }

    fn call(&mut self, kind: &str, arg: &str) -> Result<Value, TemplateError> {
        let arg_t = arg.trim();
        let only_new = |what: &str| -> Result<(), TemplateError> {
            if arg_t == "new" {
                Ok(())
            } else {
                Err(TemplateError::BadArgument {
                    function: what.into(),
                    reason: "only `new` is supported".into(),
                })
            }
        };
        match kind {
            "did" => Ok(Value::String(self.actors.did(arg_t))),
            "turn_id" => {
                only_new("turn_id")?;
                Ok(Value::String(
                    crate::seed::turn_id(&mut self.rng).to_string(),
                ))
            }
            "session_id" if arg_t == "missing" => {
                // One id per vector run, so a path and a body can name the same missing session.
                let rng = &mut self.rng;
                let id = self
                    .vars
                    .entry("session_id:missing".to_owned())
                    .or_insert_with(|| Value::String(crate::seed::session_id(rng).to_string()));
                Ok(id.clone())
            }
            "session_id" => {
                only_new("session_id")?;
                Ok(Value::String(
                    crate::seed::session_id(&mut self.rng).to_string(),
                ))
            }
            "nonce" => {
                only_new("nonce")?;
                Ok(Value::String(self.nonce()))
            }
            "time" => Ok(Value::String(oap_wire::time::format_unix(
                oap_wire::time::unix_now().saturating_add(offset("time", arg_t)?),
            ))),
            "unix" => Ok(Value::from(
                oap_wire::time::unix_now().saturating_add(offset("unix", arg_t)?),
            )),
            "manifest" => {
                let v = if arg_t.is_empty() {
                    Some(self.manifest.as_ref())
                } else {
                    self.manifest.pointer(arg_t)
                };
                v.cloned().ok_or_else(|| TemplateError::BadArgument {
                    function: "manifest".into(),
                    reason: format!("the manifest has no {arg_t}"),
                })
            }
            "credential" => self.issue(arg_t),
            "mul" => {
                let bad = |reason: &str| TemplateError::BadArgument {
                    function: "mul".into(),
                    reason: reason.into(),
                };
                let mut product: i64 = 1;
                for factor in arg_t.split(':') {
                    let f: i64 = factor
                        .trim()
                        .parse()
                        .map_err(|_| bad("factors must be integers"))?;
                    product = product.checked_mul(f).ok_or_else(|| bad("overflow"))?;
                }
                Ok(Value::from(product))
            }
            "time_plus" => {
                let bad = |reason: String| TemplateError::BadArgument {
                    function: "time_plus".into(),
                    reason,
                };
                let (name, secs) = arg_t
                    .rsplit_once(':')
                    .ok_or_else(|| bad("expected VAR:SECONDS".into()))?;
                let secs: i64 = secs
                    .trim()
                    .parse()
                    .map_err(|_| bad(format!("{secs:?} is not a number of seconds")))?;
                let at = self
                    .vars
                    .get(name.trim())
                    .and_then(Value::as_str)
                    .and_then(|t| oap_wire::time::parse_rfc3339(t).ok())
                    .ok_or_else(|| bad(format!("`{name}` is not an RFC 3339 time")))?;
                let sum = at
                    .checked_add(time::Duration::seconds(secs))
                    .ok_or_else(|| bad("out of range".into()))?;
                sum.format(&time::format_description::well_known::Rfc3339)
                    .map(Value::String)
                    .map_err(|e| bad(e.to_string()))
            }
            "dids" => {
                let bad = |reason: &str| TemplateError::BadArgument {
                    function: "dids".into(),
                    reason: reason.into(),
                };
                let (prefix, n) = arg_t
                    .rsplit_once(':')
                    .ok_or_else(|| bad("expected PREFIX:N"))?;
                let n: usize = n
                    .trim()
                    .parse()
                    .map_err(|_| bad("N must be a non-negative integer"))?;
                if n > MAX_DIDS {
                    return Err(bad(&format!("at most {MAX_DIDS} DIDs")));
                }
                Ok(Value::Array(
                    (0..n)
                        .map(|i| Value::String(self.actors.did(&format!("{prefix}{i}"))))
                        .collect(),
                ))
            }
            other => Err(TemplateError::UnknownFunction(other.into())),
        }
    }
}

/// Most DIDs one `${dids:PREFIX:N}` lists.
const MAX_DIDS: usize = 256;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::vector::template::{expand_str, expand_to_value};
    use serde_json::json;

    fn state() -> VectorState {
        let manifest = json!({"tool_did": "did:key:zTool", "sessions": {"max_participants": 4}});
        let mut s = VectorState::new(Arc::new(manifest), "http://h", "run1", 1, "v");
        s.vars.insert(
            "session_id".into(),
            json!(oap_wire::ids::SessionId::new().to_string()),
        );
        s
    }

    #[test]
    fn builtins() {
        let mut s = state();
        let t1 = expand_str("${turn_id:new}", &mut s).unwrap();
        let t2 = expand_str("${turn_id:new}", &mut s).unwrap();
        assert!(oap_wire::ids::is_valid_turn_id(&t1));
        assert_ne!(t1, t2);
        assert_eq!(
            expand_to_value("${manifest:/sessions/max_participants}", &mut s).unwrap(),
            json!(4)
        );
        assert_eq!(expand_str("${tool_did}", &mut s).unwrap(), "did:key:zTool");
        assert!(
            expand_str("${did:alice}", &mut s)
                .unwrap()
                .starts_with("did:key:z6Mk")
        );
        let t = expand_str("${time:+60}", &mut s).unwrap();
        assert!(oap_wire::time::parse_rfc3339(&t).is_ok());
        assert!(expand_str("${time:soon}", &mut s).is_err());
        assert_eq!(
            expand_to_value("${mul:${manifest:/sessions/max_participants}:3600}", &mut s).unwrap(),
            json!(14400)
        );
        assert!(expand_str("${turn_id:old}", &mut s).is_err());
        let a = expand_str("${session_id:missing}", &mut s).unwrap();
        assert_eq!(expand_str("${session_id:missing}", &mut s).unwrap(), a);
        assert_ne!(expand_str("${session_id:new}", &mut s).unwrap(), a);
    }

    #[test]
    fn dids_lists_actors() {
        let mut s = state();
        let v =
            expand_to_value("${dids:p:${manifest:/sessions/max_participants}}", &mut s).unwrap();
        let list = v.as_array().unwrap();
        assert_eq!(list.len(), 4);
        assert_eq!(list[2], json!(expand_str("${did:p2}", &mut s).unwrap()));
        assert_eq!(expand_to_value("${dids:p:0}", &mut s).unwrap(), json!([]));
        assert!(expand_str("${dids:p:257}", &mut s).is_err());
        assert!(expand_str("${dids:p:-1}", &mut s).is_err());
        assert!(expand_str("${dids:p}", &mut s).is_err());
    }

    #[test]
    fn time_plus_adds_seconds_to_a_variable() {
        let mut s = state();
        s.vars.insert("t".into(), json!("2026-02-04T12:00:00.25Z"));
        let later = expand_str("${time_plus:t:3600}", &mut s).unwrap();
        let (a, b) = (
            oap_wire::time::parse_rfc3339("2026-02-04T13:00:00.25Z").unwrap(),
            oap_wire::time::parse_rfc3339(&later).unwrap(),
        );
        assert_eq!(a, b);
        assert!(expand_str("${time_plus:nope:1}", &mut s).is_err());
        assert!(expand_str("${time_plus:t:soon}", &mut s).is_err());
    }

    #[test]
    fn credentials_bind_session_and_actors() {
        let mut s = state();
        let cred = expand_to_value(
            "${credential:admission(issuer=convener, subject=alice, as=adm)}",
            &mut s,
        )
        .unwrap();
        assert_eq!(cred["subject"], json!(s.actors.did("alice")));
        assert_eq!(cred["issuer"], json!(s.actors.did("convener")));
        assert_eq!(cred["session_id"], s.vars["session_id"]);
        assert_eq!(s.vars["adm"], cred);
        let signer = oap_wire::proof::verify_document(&cred).unwrap();
        assert_eq!(signer, s.actors.did("convener"));
        let forged = expand_to_value(
            "${credential:admission(subject=alice, signer=outsider)}",
            &mut s,
        )
        .unwrap();
        assert_eq!(
            oap_wire::proof::verify_document(&forged).unwrap(),
            s.actors.did("outsider")
        );
    }
}
