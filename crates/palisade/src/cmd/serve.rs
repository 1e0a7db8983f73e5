//! `palisade serve`: the web app for a real school (the gateways join it with their issues).

use crate::settings::{default_database_url, load_profile};
use anyhow::{Context, Result};
use clap::Args;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use store::Store;

#[derive(Args)]
pub struct ServeArgs {
    /// The school profile: a file, or a shipped name (holt, coleridge).
    #[arg(long, env = "PALISADE_PROFILE")]
    pub profile: String,
    /// sqlite://path or postgres://user@host/db
    #[arg(long, env = "PALISADE_DATABASE_URL", default_value_t = default_database_url("palisade.db"))]
    pub database_url: String,
    /// Address for the web app.
    #[arg(long, env = "PALISADE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
}

/// Opens the store, binds the web listener and serves until SIGINT or SIGTERM.
/// `banner` is printed once the app answers, with its URL.
pub async fn serve(
    profile: policy::Profile,
    store: Store,
    listen: SocketAddr,
    banner: impl FnOnce(&str),
) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {listen} (is something else using it? try --listen 127.0.0.1:0)"
            )
        })?;
    let addr = listener.local_addr()?;
    let url = format!("http://{addr}");
    banner(&url);
    tracing::info!(%url, "palisade web app listening");
    let state = web::AppState {
        store: store.clone(),
        profile: Arc::new(profile),
    };
    web::serve(listener, state, shutdown_signal()).await?;
    store.close().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

pub async fn run(a: ServeArgs) -> Result<ExitCode> {
    let profile = load_profile(&a.profile)?;
    let store = Store::open(&a.database_url).await?;
    serve(profile, store, a.listen, |url| {
        println!("Palisade is running at {url}");
    })
    .await?;
    Ok(ExitCode::SUCCESS)
}
