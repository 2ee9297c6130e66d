//! Builds the application: state, migrations, the HTTP server and the background workers.
//! Tests use it as the binary does, on port 0.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use tracing_actix_web::TracingLogger;

use crate::clock::{SharedClock, SystemClock};
use crate::config::Settings;
use crate::email::{MailDelivery, MailTransport};
use crate::outbox::Worker;
use crate::state::IdpState;
use crate::storage::Db;

pub struct Application {
    port: u16,
    server: Server,
    state: IdpState,
    worker: tokio::task::JoinHandle<()>,
    /// `GET /metrics` on its own address, when configured.
    metrics: Option<actix_web::dev::ServerHandle>,
}

impl Application {
    /// Connects, migrates, and binds. `clock` is the system clock except in tests.
    pub async fn build(settings: Settings, clock: Option<SharedClock>) -> anyhow::Result<Self> {
        let listener = TcpListener::bind((settings.server.host.as_str(), settings.server.port))?;
        Self::build_with_listener(settings, clock, listener).await
    }

    /// As [`Self::build`] on a socket bound already (tests bind port 0 first, so the issuer
    /// URL can name the port).
    pub async fn build_with_listener(
        settings: Settings,
        clock: Option<SharedClock>,
        listener: TcpListener,
    ) -> anyhow::Result<Self> {
        crate::keys::install_crypto_provider();
        let clock = clock.unwrap_or_else(|| Arc::new(SystemClock));
        let db = open_database(&settings).await?;
        let state = IdpState::build(settings, db, clock).await?;
        let refresher = state.keys.spawn_refresher(std::time::Duration::from_secs(
            state.settings.keys.refresh_seconds.max(1),
        ));
        let worker = outbox_worker(&state)?;
        let housekeeping = tokio::spawn(housekeeping(state.clone()));
        let backchannel = tokio::spawn(crate::oidc::backchannel::worker(&state)?.run());
        let worker = tokio::spawn(async move {
            // The key refresher and housekeeping live as long as the outbox worker: all stop
            // together.
            let _refresher = AbortOnDrop(refresher);
            let _housekeeping = AbortOnDrop(housekeeping);
            let _backchannel = AbortOnDrop(backchannel);
            worker.run().await;
        });

        let metrics = match state.settings.server.metrics_address.as_str() {
            "" => None,
            address => {
                crate::metrics::handle();
                let listener = TcpListener::bind(address)?;
                tracing::info!(address = %listener.local_addr()?, "metrics listening");
                let server = crate::metrics::serve(listener, state.clone())?;
                let handle = server.handle();
                tokio::spawn(server);
                Some(handle)
            }
        };
        let port = listener.local_addr()?.port();
        let server = serve(listener, state.clone())?;
        tracing::info!(port, issuer = %state.settings.issuer, backend = ?state.db.backend(), "HCC Identity listening");
        Ok(Self {
            port,
            server,
            state,
            worker,
            metrics,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &IdpState {
        &self.state
    }

    /// Stops the outbox worker (the server stops when its task is dropped or stopped).
    pub fn worker_abort_handle(&self) -> tokio::task::AbortHandle {
        self.worker.abort_handle()
    }

    /// Serves until stopped (SIGTERM or SIGINT included); then lets the background work started
    /// by requests finish within the grace period before the workers stop.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        let grace =
            std::time::Duration::from_secs(self.state.settings.server.shutdown_grace_seconds);
        self.state.background.wait(grace).await;
        tracing::info!("stopped");
        self.worker.abort();
        if let Some(metrics) = self.metrics {
            metrics.stop(false).await;
        }
        result
    }
}

/// Prunes expired rows every hour (and shortly after start).
async fn housekeeping(state: IdpState) {
    let mut ticks = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        ticks.tick().await;
        let now = state.now();
        let window = state.settings.throttle.window_minutes * 60;
        match state
            .db
            .run(move |conn| crate::storage::housekeeping::prune(conn, now, window))
            .await
        {
            Ok(pruned) => tracing::debug!(?pruned, "housekeeping"),
            Err(e) => tracing::warn!(error = %e, "housekeeping failed"),
        }
    }
}

/// The mail outbox worker of this node, sending through the configured transport.
pub fn outbox_worker(state: &IdpState) -> anyhow::Result<Worker<MailDelivery>> {
    let mail = &state.settings.mail;
    let transport = MailTransport::from_settings(mail)?;
    Ok(Worker::new(
        state.db.clone(),
        state.clock.clone(),
        crate::outbox::Policy::mail(mail),
        state.outbox_wake.clone(),
        MailDelivery::new(transport, mail.clone(), state.keyring.clone()),
    ))
}

/// Opens the pool and applies the embedded migrations (also `idp migrate`).
pub async fn open_database(settings: &Settings) -> anyhow::Result<Db> {
    let url = settings.database_url();
    let pool_size = settings.database.pool_size;
    let checkout = std::time::Duration::from_millis(settings.database.checkout_timeout_ms);
    tokio::task::spawn_blocking(move || {
        let db = Db::connect(&url, pool_size, checkout)?;
        let applied = db.migrate()?;
        if applied > 0 {
            tracing::info!(applied, "database migrations applied");
        }
        Ok(db)
    })
    .await?
}

fn serve(listener: TcpListener, state: IdpState) -> anyhow::Result<Server> {
    let https = state.settings.secure_cookies();
    let workers = state.settings.server.workers;
    let grace = state.settings.server.shutdown_grace_seconds;
    let head_timeout = state.settings.server.request_head_timeout_seconds;
    let discovery = web::Data::new(crate::web::oidc::discovery::DiscoveryDocument(
        crate::oidc::discovery::document(&state.settings).into(),
    ));
    let api_document = web::Data::new(crate::web::admin_api::Document::build());
    let data = web::Data::new(state);
    let mut server = HttpServer::new(move || {
        // The last wrap is the outermost: the security headers reach every answer, also the
        // ones `with_request_id` gives before any route runs (431).
        App::new()
            .wrap(TracingLogger::<crate::web::request_span::RedactedRootSpan>::new())
            .wrap(actix_web::middleware::from_fn(
                crate::web::request_span::with_request_id,
            ))
            .wrap(crate::web::security_headers(https))
            .app_data(data.clone())
            .app_data(discovery.clone())
            .app_data(api_document.clone())
            .configure(crate::web::extractor_errors)
            .configure(crate::web::routes)
    })
    .listen(listener)?;
    if workers > 0 {
        server = server.workers(workers);
    }
    // SIGTERM and SIGINT: stop accepting, let the requests in flight finish within the grace.
    server = server
        .shutdown_timeout(grace)
        // A client that opens a connection and never finishes its request head is answered
        // 408 and dropped; one that never reads the answer is dropped a second later.
        .client_request_timeout(std::time::Duration::from_secs(head_timeout.max(1)))
        .client_disconnect_timeout(std::time::Duration::from_secs(1));
    Ok(server.run())
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
