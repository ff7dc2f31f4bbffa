//! One function per fuzz target: generator, then oracle. The files in `fuzz_targets/` call
//! these and nothing else.

use crate::generate::envelope::EnvelopeInput;
use crate::generate::signed::{ChainInput, ProofInput, SigInput};
use crate::oracle::{chain, httpsig, json, proof, text};
use crate::planted;

/// `strict_json`: raw bytes through the strict parser; accepted values round-trip.
pub fn strict_json(data: &[u8]) {
    json::strict_json_with(data, planted::parse);
}

/// `envelope_structured`: generated envelopes with hostile variations get the right verdict.
pub fn envelope_structured(input: &EnvelopeInput) {
    json::envelope_with(&input.0, planted::parse);
}

/// `httpsig_headers`: header parsing never panics; signed requests verify, changed ones fail.
pub fn httpsig_headers(input: &SigInput) {
    httpsig::check(&input.0);
}

/// `credential_proof`: only unchanged signed documents verify.
pub fn credential_proof(input: &ProofInput) {
    proof::check_with(&input.0, planted::parse);
}

/// `receipt_chain`: every edit of a valid chain that changes a covered byte is refused.
pub fn receipt_chain(input: &ChainInput) {
    chain::check(&input.0);
}

/// `didkey`: did:key decoding never panics and accepts one spelling per key.
pub fn didkey(data: &[u8]) {
    text::didkey(data);
}

/// `ids`: `ses_` / `trn_` identifiers parse exactly per their grammar.
pub fn ids(data: &[u8]) {
    text::ids(data);
}

/// `content_digest`: `Content-Digest` checking never panics and binds one body.
pub fn content_digest(data: &[u8]) {
    text::content_digest(data);
}

/// `oap_ref_envelope`: the reference Tool answers every generated envelope as the profile says.
pub fn oap_ref_envelope(input: &EnvelopeInput) {
    crate::reference::envelope_verdict(&input.0.body.0);
}

/// `oap_ref_amp_message`: raw `POST /amp/session` bodies through the reference Tool's AMP
/// parsing get a verdict the profile allows; accepted messages read back and round-trip.
pub fn oap_ref_amp_message(data: &[u8]) {
    crate::amp::check(data);
}

/// `engine_model`: operation sequences on the reference Tool's engine agree with the model.
pub fn engine_model(input: &crate::engine_model::EngineInput) {
    crate::engine_model::check(input);
}

/// `vector_file`: vector files (raw bytes, or real files with structural edits) through the
/// loader `oap-conform run` uses; accepted vectors round-trip.
pub fn vector_file(data: &[u8]) {
    crate::suite::vector_file(data);
}

/// `tool_response`: an arbitrary answer judged against a real vector step and read by the
/// concurrency recorders; nothing passes or is read that the answer does not bear out.
pub fn tool_response(data: &[u8]) {
    crate::suite::tool_response(data);
}
