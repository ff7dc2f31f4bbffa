//! The Tool's own did:key identity, generated on first start and kept in the data directory.
//!
//! Receipts are signed with this key, so it must be stable across restarts: a log written
//! before a restart must still verify against the manifest's `tool_did` after it. The seed is
//! written once, atomically (temporary file, fsync, rename, fsync of the directory), readable
//! by the owner only.

use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::path::Path;

use oap_wire::Keypair;

/// Name of the key file inside the data directory.
pub const KEY_FILE: &str = "tool-key.json";

/// Why the key could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// Reading or writing the key file failed.
    #[error("tool key file: {0}")]
    Io(#[from] std::io::Error),
    /// The key file exists but is not a key this Tool wrote.
    #[error("tool key file {path} is corrupt: {why}")]
    Corrupt {
        /// The file.
        path: String,
        /// What is wrong with it.
        why: String,
    },
}

/// Loads the Tool's keypair from `data_dir`, generating and storing one on first start.
pub fn load_or_create(data_dir: &Path) -> Result<Keypair, IdentityError> {
    fs::create_dir_all(data_dir)?;
    let path = data_dir.join(KEY_FILE);
    match fs::read(&path) {
        Ok(bytes) => parse(&bytes).map_err(|why| IdentityError::Corrupt {
            path: path.display().to_string(),
            why,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = Keypair::generate();
            let doc = serde_json::json!({
                "did": key.did,
                "seed": hex::encode(key.signing.to_bytes()),
            });
            let tmp = data_dir.join(format!("{KEY_FILE}.tmp"));
            let mut opts = OpenOptions::new();
            opts.write(true).create(true).truncate(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            let mut f = opts.open(&tmp)?;
            f.write_all(doc.to_string().as_bytes())?;
            f.sync_all()?;
            drop(f);
            fs::rename(&tmp, &path)?;
            File::open(data_dir)?.sync_all()?;
            Ok(key)
        }
        Err(e) => Err(e.into()),
    }
}

fn parse(bytes: &[u8]) -> Result<Keypair, String> {
    let doc: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let seed_hex = doc.get("seed").and_then(|s| s.as_str()).ok_or("no seed")?;
    let seed: [u8; 32] = hex::decode(seed_hex)
        .map_err(|e| e.to_string())?
        .try_into()
        .map_err(|_| "seed is not 32 bytes".to_owned())?;
    let key = Keypair::from_seed(seed);
    if doc.get("did").and_then(|d| d.as_str()) != Some(key.did.as_str()) {
        return Err("did does not match the seed".into());
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_stable_across_loads() -> Result<(), IdentityError> {
        let dir = tempfile::tempdir()?;
        let a = load_or_create(dir.path())?;
        let b = load_or_create(dir.path())?;
        assert_eq!(a.did, b.did);
        assert!(a.did.starts_with("did:key:z6Mk"));
        fs::write(dir.path().join(KEY_FILE), b"{}")?;
        assert!(load_or_create(dir.path()).is_err());
        Ok(())
    }
}
