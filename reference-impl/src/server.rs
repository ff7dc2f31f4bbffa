//! Running a Tool: opening its data directory, binding, serving, and stopping either
//! gracefully (everything flushed) or abruptly (crash-like, for tests).

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::engine::clock::{Clock, SystemClock};
use crate::engine::{Engine, EngineError};
use crate::http::{AppState, app};
use crate::identity::{self, IdentityError};
use crate::store::{SqliteStore, StoreError};

/// Why a Tool could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The data directory's store could not be opened.
    #[error("opening the store: {0}")]
    Store(#[from] StoreError),
    /// The Tool's key could not be loaded or created.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// The engine could not be built.
    #[error("starting the engine: {0}")]
    Engine(#[from] EngineError),
    /// Binding the listen address failed.
    #[error("binding {addr}: {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// Opens the data directory (store and key) and builds the shared state, with the system
/// clock. For tests that need another clock, see [`open_state_with_clock`].
pub fn open_state(config: &Config) -> Result<AppState, Error> {
    open_state_with_clock(config, Arc::new(SystemClock))
}

/// [`open_state`] with a given clock.
pub fn open_state_with_clock(config: &Config, clock: Arc<dyn Clock>) -> Result<AppState, Error> {
    let key = identity::load_or_create(&config.data_dir)?;
    let store = Arc::new(SqliteStore::open(&config.data_dir)?);
    let engine = Engine::new(store, key, config.limits, config.faults.clone(), clock)?;
    Ok(AppState {
        engine,
        public_url: config.public_url.clone(),
        amp: config.amp,
    })
}

/// A running Tool.
#[derive(Debug)]
pub struct Running {
    /// Base URL, e.g. `http://127.0.0.1:PORT`.
    pub url: String,
    /// The shared state (its engine), for tests that look inside.
    pub state: AppState,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Running {
    /// Stops gracefully: no new connections, in-flight requests finish, the store is flushed.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
        self.state.engine.shutdown().await;
    }

    /// Stops at once without flushing (crash-like): the server task is dropped and writes not
    /// yet committed are lost; acknowledged ones are on disk.
    pub fn abort(self) {
        self.task.abort();
        self.state.engine.abort();
    }
}

/// Opens the data directory, binds `config.listen` and serves until stopped. Returns once
/// the socket is listening.
pub async fn serve(config: Config) -> Result<Running, Error> {
    let cfg = config.clone();
    let state = tokio::task::spawn_blocking(move || open_state(&cfg))
        .await
        .map_err(|e| Error::Engine(EngineError::Internal(e.to_string())))??;
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| Error::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| Error::Bind {
        addr: config.listen,
        source,
    })?;
    let (stop, stopped) = oneshot::channel::<()>();
    let router = app(state.clone());
    let task = tokio::spawn(async move {
        let server = axum::serve(listener, router).with_graceful_shutdown(async move {
            let _ = stopped.await;
        });
        if let Err(e) = server.await {
            tracing::error!(error = %e, "server stopped with an error");
        }
    });
    Ok(Running {
        url: format!("http://{addr}"),
        state,
        stop,
        task,
    })
}
