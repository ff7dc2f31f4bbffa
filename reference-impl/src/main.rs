//! The `oap-ref` binary: a thin command line over the library.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use oap_ref::{Config, Fault, FaultSet, Limits};

/// The bundled reference Tool for OAP Coordination Sessions.
#[derive(Parser)]
#[command(name = "oap-ref", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the Tool until interrupted.
    Serve {
        /// Address to listen on (`127.0.0.1:0` picks a free port).
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Data directory (database and the Tool's key).
        #[arg(long)]
        data: PathBuf,
        /// Public base URL when behind a proxy (used for `@target-uri`).
        #[arg(long)]
        public_url: Option<String>,
        /// Switch on a test-only fault (repeatable; see `oap-ref faults`).
        #[arg(long = "fault", value_name = "NAME")]
        faults: Vec<Fault>,
        /// Serve only the OAP binding: no AMP binding (profile §12), and none declared.
        #[arg(long)]
        no_amp: bool,
    },
    /// List the test-only fault switches.
    Faults,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Faults => {
            let width = Fault::all()
                .iter()
                .map(|f| f.name().len())
                .max()
                .unwrap_or(0);
            let mut out = std::io::stdout().lock();
            for f in Fault::all() {
                // A closed pipe (`oap-ref faults | head`) is not an error worth a message.
                if writeln!(out, "{:width$}  {}", f.name(), f.description()).is_err() {
                    break;
                }
            }
        }
        Command::Serve {
            listen,
            data,
            public_url,
            faults,
            no_amp,
        } => {
            let faults: FaultSet = faults.into_iter().collect();
            if !faults.is_empty() {
                let names: Vec<_> = faults.iter().map(Fault::name).collect();
                tracing::warn!(faults = ?names, "test-only fault switches are on: this Tool is deliberately broken");
            }
            let config = Config {
                data_dir: data,
                listen,
                public_url,
                faults,
                limits: Limits::default(),
                amp: !no_amp,
            };
            let running = oap_ref::serve(config).await.context("starting the Tool")?;
            let mut out = std::io::stdout();
            writeln!(out, "listening on {}", running.url)?;
            out.flush()?;
            tokio::signal::ctrl_c()
                .await
                .context("waiting for ctrl-c")?;
            running.shutdown().await;
        }
    }
    Ok(())
}
