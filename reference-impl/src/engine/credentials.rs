//! Convener credentials (profile §6): `SessionAdmission`, `SessionRevocation`,
//! `SessionHandoff`.
//!
//! This module reads a credential's members from untrusted JSON, verifies its Data Integrity
//! proof, and applies the rules that relate it to the session (current convener, this session,
//! the right subject, expiry, unused nonce, revocations), each with its fault switch.

use serde_json::Value;

use super::ccc::Scope;
use super::{Engine, EngineError, SessionHead};
use crate::faults::Fault;

/// Which credential a turn expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Presented by the admitted DID on `join`.
    Admission,
    /// Presented by the convener on `leave` to remove another participant.
    Revocation,
    /// Presented by the convener on `handoff`.
    Handoff,
}

impl Kind {
    /// The credential's `type`.
    pub fn type_name(self) -> &'static str {
        match self {
            Kind::Admission => "SessionAdmission",
            Kind::Revocation => "SessionRevocation",
            Kind::Handoff => "SessionHandoff",
        }
    }
}

/// A credential's members, read but not yet checked against the session.
#[derive(Clone, Debug, PartialEq)]
pub struct Credential {
    /// Which credential.
    pub kind: Kind,
    /// The signer it claims (must be the current convener).
    pub issuer: String,
    /// The session it is for.
    pub session_id: String,
    /// Whom it concerns.
    pub subject: String,
    /// The scope granted (admissions only).
    pub scope: Option<Scope>,
    /// Single-use nonce.
    pub nonce: String,
    /// Issue time, Unix seconds.
    pub issued_at: i64,
    /// Expiry, Unix seconds (admissions and handoffs).
    pub expires_at: Option<i64>,
}

/// Longest accepted credential nonce.
const MAX_NONCE_LEN: usize = 256;

fn string<'a>(doc: &'a Value, name: &str) -> Result<&'a str, String> {
    doc.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("member {name:?} must be a string"))
}

fn timestamp(doc: &Value, name: &str) -> Result<i64, String> {
    let s = string(doc, name)?;
    oap_wire::time::parse_rfc3339(s)
        .map(|t| t.unix_timestamp())
        .map_err(|e| format!("member {name:?} is not an RFC 3339 time: {e}"))
}

/// Reads a credential of the expected kind from untrusted JSON (no proof check).
pub fn parse(doc: &Value, kind: Kind) -> Result<Credential, String> {
    if !doc.is_object() {
        return Err("a credential must be a JSON object".into());
    }
    let allowed: &[&str] = match kind {
        Kind::Admission => &[
            "type",
            "issuer",
            "session_id",
            "subject",
            "scope",
            "nonce",
            "issued_at",
            "expires_at",
            "proof",
        ],
        Kind::Revocation => &[
            "type",
            "issuer",
            "session_id",
            "subject",
            "nonce",
            "issued_at",
            "proof",
        ],
        Kind::Handoff => &[
            "type",
            "issuer",
            "session_id",
            "subject",
            "nonce",
            "issued_at",
            "expires_at",
            "proof",
        ],
    };
    if let Some(extra) = doc
        .as_object()
        .and_then(|o| o.keys().find(|k| !allowed.contains(&k.as_str())))
    {
        return Err(format!(
            "unknown member {extra:?} in a {}",
            kind.type_name()
        ));
    }
    let ty = string(doc, "type")?;
    if ty != kind.type_name() {
        return Err(format!("expected a {}, got type {ty:?}", kind.type_name()));
    }
    let nonce = string(doc, "nonce")?;
    if nonce.is_empty() || nonce.chars().count() > MAX_NONCE_LEN {
        return Err(format!("nonce must be 1 to {MAX_NONCE_LEN} characters"));
    }
    let scope = match kind {
        Kind::Admission => Some(Scope::from_value(
            doc.get("scope").ok_or("member \"scope\" is required")?,
        )?),
        Kind::Revocation | Kind::Handoff => None,
    };
    let expires_at = match kind {
        Kind::Admission | Kind::Handoff => Some(timestamp(doc, "expires_at")?),
        Kind::Revocation => None,
    };
    Ok(Credential {
        kind,
        issuer: string(doc, "issuer")?.to_owned(),
        session_id: string(doc, "session_id")?.to_owned(),
        subject: string(doc, "subject")?.to_owned(),
        scope,
        nonce: nonce.to_owned(),
        issued_at: timestamp(doc, "issued_at")?,
        expires_at,
    })
}

/// Verifies the credential's `eddsa-jcs-2022` proof (strict Ed25519, purpose
/// `assertionMethod`) and that its signer is the `issuer`.
pub fn verify_proof(doc: &Value, issuer: &str) -> Result<(), String> {
    let signer = oap_wire::proof::verify_document_for(doc, "assertionMethod")
        .map_err(|e| format!("proof: {e}"))?;
    if signer != issuer {
        return Err("the proof's signer is not the issuer".into());
    }
    Ok(())
}

impl Engine {
    /// The credential rules of profile §6, each with its fault switch.
    pub(super) async fn check_credential(
        &self,
        head: &SessionHead,
        doc: &Value,
        kind: Kind,
        actor: &str,
    ) -> Result<Credential, EngineError> {
        let invalid = |why: &str| EngineError::InvalidCredential(why.to_owned());
        let cred = parse(doc, kind).map_err(EngineError::InvalidCredential)?;
        if !self.fault(Fault::SkipCredentialProofCheck) {
            verify_proof(doc, &cred.issuer).map_err(EngineError::InvalidCredential)?;
        }
        let issuer_ok = cred.issuer == head.convener
            || (self.fault(Fault::OldConvenerKeepsAuthority)
                && head.former_conveners.contains(&cred.issuer));
        if !issuer_ok {
            return Err(invalid("the issuer is not the session's current convener"));
        }
        if cred.session_id != head.session_id && !self.fault(Fault::AcceptCredentialForOtherSession)
        {
            return Err(invalid("the credential is for another session"));
        }
        let subject_ok = match kind {
            Kind::Admission => {
                cred.subject == actor || self.fault(Fault::AcceptCredentialForOtherSubject)
            }
            Kind::Revocation | Kind::Handoff => {
                cred.subject != head.convener && head.is_participant(&cred.subject)
            }
        };
        if !subject_ok {
            return Err(invalid(match kind {
                Kind::Admission => "the admission's subject is not the requesting actor",
                _ => "the subject is not a current participant other than the convener",
            }));
        }
        if let Some(expires_at) = cred.expires_at
            && expires_at <= self.now()
        {
            return Err(invalid("the credential has expired"));
        }
        if !self.fault(Fault::ReuseAdmissionNonce) {
            let (id, nonce) = (head.session_id.clone(), cred.nonce.clone());
            if self
                .blocking(move |s| s.credential_nonce_used(&id, &nonce))
                .await?
            {
                return Err(invalid(
                    "the credential's nonce was already used in this session",
                ));
            }
        }
        if kind == Kind::Admission
            && !self.fault(Fault::AdmitRevokedSubject)
            && head
                .revocations
                .get(&cred.subject)
                .is_some_and(|at| cred.issued_at <= *at)
        {
            return Err(invalid(
                "the admission was issued before a revocation of its subject",
            ));
        }
        Ok(cred)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn admission() -> Value {
        json!({
            "type": "SessionAdmission", "issuer": "did:key:zA", "session_id": "ses_x",
            "subject": "did:key:zB", "scope": {"ccc": "public", "clearance": "internal"},
            "nonce": "n-1", "issued_at": "2026-01-01T00:00:00Z", "expires_at": "2026-01-02T00:00:00Z"
        })
    }

    #[test]
    fn parses_an_admission() {
        let c = parse(&admission(), Kind::Admission).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.subject, "did:key:zB");
        assert_eq!(c.expires_at.map(|e| e - c.issued_at), Some(86_400));
    }

    #[test]
    fn rejects_wrong_shapes() {
        assert!(parse(&admission(), Kind::Handoff).is_err());
        for member in [
            "issuer",
            "session_id",
            "subject",
            "scope",
            "nonce",
            "issued_at",
            "expires_at",
        ] {
            let mut doc = admission();
            doc.as_object_mut().map(|o| o.remove(member));
            assert!(parse(&doc, Kind::Admission).is_err(), "without {member}");
        }
        let mut doc = admission();
        doc["extra"] = json!(1);
        assert!(parse(&doc, Kind::Admission).is_err());
        let mut doc = admission();
        doc["issued_at"] = json!("yesterday");
        assert!(parse(&doc, Kind::Admission).is_err());
        assert!(parse(&json!([1]), Kind::Admission).is_err());
    }

    #[test]
    fn unsigned_credentials_do_not_verify() {
        assert!(verify_proof(&admission(), "did:key:zA").is_err());
    }
}
