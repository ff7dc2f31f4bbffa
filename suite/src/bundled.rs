//! The bundled reference Tool, started in-process for a run without `--target`.
//!
//! This file belongs to the binary and the test harness, never to the
//! library: it starts `oap-ref` on a loopback port with a temporary store and
//! hands the suite what it hands every target, a URL and a restart hook. The
//! hook stops the Tool gracefully and starts it again on the same port and the
//! same store, so durability vectors see a real restart.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use oap_conform::target::RestartHook;
use oap_ref::{Config, FaultSet, Running};
use tokio::sync::Mutex;

/// A running bundled Tool.
pub struct Bundled {
    /// Its base URL.
    pub url: String,
    /// Restarts it in place.
    pub restart: RestartHook,
    running: Arc<Mutex<Option<Running>>>,
    _dir: tempfile::TempDir,
}

impl Bundled {
    /// Starts the Tool, serving both bindings, with the given faults on `127.0.0.1:0`.
    pub async fn start(faults: FaultSet) -> anyhow::Result<Bundled> {
        let dir = tempfile::Builder::new()
            .prefix("oap-conform-bundled-")
            .tempdir()
            .context("creating the bundled Tool's store directory")?;
        let config = Config {
            data_dir: dir.path().to_path_buf(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            public_url: None,
            faults,
            limits: Default::default(),
            amp: true,
        };
        let running = oap_ref::serve(config.clone())
            .await
            .context("starting the bundled Tool")?;
        let url = running.url.clone();
        let addr: SocketAddr = url
            .trim_start_matches("http://")
            .parse()
            .context("the bundled Tool's address")?;
        let config = Config {
            listen: addr,
            ..config
        };
        let running = Arc::new(Mutex::new(Some(running)));
        let slot = Arc::clone(&running);
        let restart: RestartHook = Arc::new(move || {
            let (slot, config) = (Arc::clone(&slot), config.clone());
            Box::pin(async move {
                let mut guard = slot.lock().await;
                if let Some(old) = guard.take() {
                    old.shutdown().await;
                }
                let new = oap_ref::serve(config)
                    .await
                    .map_err(|e| format!("restarting the bundled Tool: {e}"))?;
                *guard = Some(new);
                Ok(())
            })
        });
        Ok(Bundled {
            url,
            restart,
            running,
            _dir: dir,
        })
    }

    /// Starts the Tool with the faults named (`--fault NAME`) switched on.
    pub async fn start_named(names: &[String]) -> anyhow::Result<Bundled> {
        let mut faults = FaultSet::none();
        for name in names {
            let f: oap_ref::Fault = name
                .parse()
                .map_err(|e| anyhow::anyhow!("--fault {name}: {e}"))?;
            faults.insert(f);
        }
        Bundled::start(faults).await
    }

    /// Stops the Tool and removes its store.
    pub async fn shutdown(self) {
        if let Some(r) = self.running.lock().await.take() {
            r.shutdown().await;
        }
    }
}
