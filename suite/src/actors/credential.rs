//! Convener credentials issued by vectors: `SessionAdmission`,
//! `SessionRevocation`, `SessionHandoff`.
//!
//! A vector asks for one with `${credential:admission(issuer=convener,
//! subject=alice, scope=internal/confidential)}`. The spec is parsed here into
//! a [`CredentialSpec`]; [`CredentialSpec::issue`] builds the JSON object of
//! `docs/profile.md` §6 and secures it with an `eddsa-jcs-2022` Data Integrity
//! proof (`proofPurpose` `assertionMethod`) by the signer's did:key. Faults a
//! Tool must refuse are parameters: a foreign signer, an expired or
//! not-yet-valid credential, a reused nonce, a member tampered after signing,
//! no proof at all.

use std::collections::BTreeMap;

use oap_wire::Keypair;
use serde_json::{Map, Value, json};

/// Errors issuing a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// The spec does not parse.
    #[error("credential spec {spec:?}: {reason}")]
    Syntax {
        /// The spec.
        spec: String,
        /// Why.
        reason: String,
    },
    /// Signing failed.
    #[error("cannot sign credential: {0}")]
    Sign(String),
}

/// The three credential types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    /// `SessionAdmission`: lets the subject join.
    Admission,
    /// `SessionRevocation`: removes the subject.
    Revocation,
    /// `SessionHandoff`: makes the subject the convener.
    Handoff,
}

impl CredentialKind {
    /// The JSON `type`.
    pub fn type_name(self) -> &'static str {
        match self {
            CredentialKind::Admission => "SessionAdmission",
            CredentialKind::Revocation => "SessionRevocation",
            CredentialKind::Handoff => "SessionHandoff",
        }
    }
}

/// Parameters every credential kind understands.
const PARAMS: &[&str] = &[
    "issuer", "signer", "subject", "session", "scope", "expires", "issued", "nonce", "as",
    "tamper", "proof", "purpose", "timefmt",
];

/// A parsed `KIND(k=v, …)` spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialSpec {
    /// The kind.
    pub kind: CredentialKind,
    /// Parameters by name.
    pub params: BTreeMap<String, String>,
}

/// Everything the issuer needs, resolved by the caller.
#[derive(Debug, Clone)]
pub struct IssueInput<'a> {
    /// DID named as `issuer`.
    pub issuer_did: &'a str,
    /// Key that signs the proof.
    pub signer: &'a Keypair,
    /// DID of the subject.
    pub subject_did: &'a str,
    /// The session id to bind.
    pub session_id: &'a str,
    /// Unix seconds now.
    pub now: i64,
    /// Nonce when the spec does not give one.
    pub fresh_nonce: String,
}

impl CredentialSpec {
    /// Parses `admission(issuer=convener, subject=alice)`.
    pub fn parse(spec: &str) -> Result<Self, CredentialError> {
        let err = |reason: &str| CredentialError::Syntax {
            spec: spec.to_owned(),
            reason: reason.to_owned(),
        };
        let spec_t = spec.trim();
        let (kind, rest) = match spec_t.find('(') {
            Some(i) => (&spec_t[..i], &spec_t[i + 1..]),
            None => (spec_t, ")"),
        };
        let inner = rest.strip_suffix(')').ok_or_else(|| err("missing `)`"))?;
        let kind = match kind.trim() {
            "admission" => CredentialKind::Admission,
            "revocation" => CredentialKind::Revocation,
            "handoff" => CredentialKind::Handoff,
            _ => return Err(err("kind must be admission, revocation or handoff")),
        };
        let mut params = BTreeMap::new();
        for part in inner.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| err("expected key=value"))?;
            let k = k.trim();
            if !PARAMS.contains(&k) {
                return Err(err(&format!("unknown parameter `{k}`")));
            }
            if params.insert(k.to_owned(), v.trim().to_owned()).is_some() {
                return Err(err(&format!("parameter `{k}` given twice")));
            }
        }
        if !params.contains_key("subject") {
            return Err(err("`subject` is required"));
        }
        Ok(CredentialSpec { kind, params })
    }

    /// A parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    /// Actor named as issuer (default `convener`).
    pub fn issuer(&self) -> &str {
        self.param("issuer").unwrap_or("convener")
    }

    /// Actor whose key signs (default: the issuer).
    pub fn signer(&self) -> &str {
        self.param("signer").unwrap_or_else(|| self.issuer())
    }

    /// Actor the credential is about.
    pub fn subject(&self) -> &str {
        self.param("subject").unwrap_or("")
    }

    /// Variable holding the session id (default `session_id`); `new` for an unknown session.
    pub fn session_var(&self) -> &str {
        self.param("session").unwrap_or("session_id")
    }

    /// Builds and signs the credential.
    pub fn issue(&self, input: &IssueInput<'_>) -> Result<Value, CredentialError> {
        let syntax = |reason: String| CredentialError::Syntax {
            spec: format!("{:?}", self.kind),
            reason,
        };
        let offset = |name: &str, default: i64| -> Result<i64, CredentialError> {
            match self.param(name) {
                None => Ok(default),
                Some(v) => v
                    .trim_start_matches('+')
                    .parse()
                    .map_err(|_| syntax(format!("`{name}` must be an offset in seconds"))),
            }
        };
        let stamp = |secs: i64| {
            let t = oap_wire::time::format_unix(secs);
            match self.param("timefmt") {
                // `…:00Z` → `…:00.250Z`: fractional seconds are allowed (PRF-ID-3).
                Some("fractional") => t.replacen('Z', ".250Z", 1),
                _ => t,
            }
        };
        let issued = stamp(input.now.saturating_add(offset("issued", 0)?));
        let expires = stamp(input.now.saturating_add(offset("expires", 3600)?));
        let nonce = self
            .param("nonce")
            .filter(|n| *n != "new")
            .map(str::to_owned)
            .unwrap_or_else(|| input.fresh_nonce.clone());

        let mut doc = Map::new();
        doc.insert("type".into(), json!(self.kind.type_name()));
        doc.insert("issuer".into(), json!(input.issuer_did));
        doc.insert("session_id".into(), json!(input.session_id));
        doc.insert("subject".into(), json!(input.subject_did));
        if self.kind == CredentialKind::Admission {
            let scope = self.param("scope").unwrap_or("internal/confidential");
            let (ccc, clearance) = scope
                .split_once('/')
                .ok_or_else(|| syntax("`scope` must be ccc/clearance".into()))?;
            doc.insert(
                "scope".into(),
                json!({ "ccc": ccc, "clearance": clearance }),
            );
        }
        doc.insert("nonce".into(), json!(nonce));
        doc.insert("issued_at".into(), json!(issued));
        if self.kind != CredentialKind::Revocation {
            doc.insert("expires_at".into(), json!(expires));
        }
        let doc = Value::Object(doc);
        if self.param("proof") == Some("none") {
            return Ok(doc);
        }
        let purpose = self.param("purpose").unwrap_or("assertionMethod");
        let mut signed = oap_wire::proof::sign_document(&doc, input.signer, &issued, purpose)
            .map_err(|e| CredentialError::Sign(e.to_string()))?;
        if let Some(member) = self.param("tamper") {
            // The made-up value follows the run's seed through the fresh nonce.
            let mut rng = crate::seed::derive(0, &format!("tamper/{}", input.fresh_nonce));
            tamper(&mut signed, member, &mut rng);
        }
        if self.param("proof") == Some("s_plus_l")
            && let Some(pv) = signed.pointer_mut("/proof/proofValue")
            && let Some(mut sig) = pv
                .as_str()
                .and_then(|v| oap_wire::proof::decode_proof_value(v).ok())
        {
            super::signer::s_plus_l(&mut sig);
            *pv = Value::String(oap_wire::proof::encode_proof_value(&sig));
        }
        Ok(signed)
    }
}

/// Changes one member after signing, keeping it well-formed; made-up DIDs
/// and ids are drawn from `rng`.
fn tamper(doc: &mut Value, member: &str, rng: &mut impl rand::RngCore) {
    let Some(v) = doc.get_mut(member) else {
        return;
    };
    match v {
        Value::String(s) if member == "subject" || member == "issuer" => {
            let mut seed = [0u8; 32];
            rng.fill_bytes(&mut seed);
            *s = Keypair::from_seed(seed).did;
        }
        Value::String(s) if member == "session_id" => {
            *s = crate::seed::session_id(rng).to_string();
        }
        Value::String(s) if member.ends_with("_at") => {
            *s = oap_wire::time::format_unix(oap_wire::time::unix_now() + 86_400 * 365);
        }
        Value::String(s) => s.push('x'),
        Value::Object(o) if member == "scope" => {
            o.insert("clearance".into(), json!("restricted"));
            o.insert("ccc".into(), json!("restricted"));
        }
        other => *other = json!("tampered"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn input<'a>(issuer: &'a Keypair, subject: &'a str) -> IssueInput<'a> {
        IssueInput {
            issuer_did: &issuer.did,
            signer: issuer,
            subject_did: subject,
            session_id: "ses_01J0000000000000000000000A",
            now: oap_wire::time::unix_now(),
            fresh_nonce: "n0nce-n0nce-n0nce".into(),
        }
    }

    #[test]
    fn parses_and_rejects() {
        let s = CredentialSpec::parse(
            "admission(issuer=convener, subject=alice, scope=public/internal)",
        )
        .unwrap();
        assert_eq!(s.kind, CredentialKind::Admission);
        assert_eq!(s.subject(), "alice");
        assert_eq!(s.signer(), "convener");
        assert!(CredentialSpec::parse("admission(subject=a, colour=red)").is_err());
        assert!(CredentialSpec::parse("admission(issuer=a)").is_err());
        assert!(CredentialSpec::parse("passport(subject=a)").is_err());
        assert!(CredentialSpec::parse("admission(subject=a").is_err());
        assert!(CredentialSpec::parse("admission(subject)").is_err());
    }

    #[test]
    fn issued_admission_verifies_and_tampering_breaks_it() {
        let issuer = Keypair::generate();
        let alice = Keypair::generate();
        let spec = CredentialSpec::parse("admission(subject=alice)").unwrap();
        let cred = spec.issue(&input(&issuer, &alice.did)).unwrap();
        assert_eq!(cred["type"], "SessionAdmission");
        assert_eq!(cred["scope"]["ccc"], "internal");
        assert_eq!(oap_wire::proof::verify_document(&cred).unwrap(), issuer.did);
        for member in ["subject", "scope", "session_id", "expires_at", "nonce"] {
            let spec = CredentialSpec::parse(&format!("admission(subject=alice, tamper={member})"))
                .unwrap();
            let bad = spec.issue(&input(&issuer, &alice.did)).unwrap();
            assert!(oap_wire::proof::verify_document(&bad).is_err(), "{member}");
        }
        let spec = CredentialSpec::parse("admission(subject=alice, proof=s_plus_l)").unwrap();
        let malleated = spec.issue(&input(&issuer, &alice.did)).unwrap();
        assert!(oap_wire::proof::verify_document(&malleated).is_err());
        let spec = CredentialSpec::parse("admission(subject=alice, timefmt=fractional)").unwrap();
        let frac = spec.issue(&input(&issuer, &alice.did)).unwrap();
        assert!(frac["expires_at"].as_str().unwrap().ends_with(".250Z"));
        assert!(oap_wire::proof::verify_document(&frac).is_ok());
        let spec = CredentialSpec::parse("revocation(subject=alice, proof=none)").unwrap();
        let bare = spec.issue(&input(&issuer, &alice.did)).unwrap();
        assert!(bare.get("proof").is_none());
        assert!(bare.get("expires_at").is_none());
    }
}
