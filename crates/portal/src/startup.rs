//! Builds the portal: state, the HTTP server with its security headers. Tests use it as the
//! binary does, on port 0.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::DefaultHeaders;
use actix_web::web::Data;
use actix_web::{App, HttpServer};
use tracing_actix_web::TracingLogger;

use crate::clock::{SharedClock, SystemClock};
use crate::config::Settings;
use crate::state::PortalState;

pub struct Application {
    port: u16,
    server: Server,
    state: Data<PortalState>,
}

impl Application {
    pub fn build(settings: Settings, clock: Option<SharedClock>) -> anyhow::Result<Self> {
        let listener = TcpListener::bind((settings.server.host.as_str(), settings.server.port))?;
        Self::build_with_listener(settings, clock, listener)
    }

    /// As [`Self::build`] on a socket bound already (tests bind port 0 first, so the client
    /// can be registered with the redirect URI's port).
    pub fn build_with_listener(
        settings: Settings,
        clock: Option<SharedClock>,
        listener: TcpListener,
    ) -> anyhow::Result<Self> {
        install_crypto_provider();
        let clock = clock.unwrap_or_else(|| Arc::new(SystemClock));
        let workers = settings.server.workers.max(1);
        let state = Data::new(PortalState::build(settings, clock)?);
        let port = listener.local_addr()?.port();
        let idp_origin = url::Url::parse(&state.settings.idp.issuer)?
            .origin()
            .ascii_serialization();
        let csp = crate::web::content_security_policy(&idp_origin);
        let hsts = state.settings.secure_cookies();
        let shared = state.clone();
        let server = HttpServer::new(move || {
            let mut headers = DefaultHeaders::new()
                .add(("Content-Security-Policy", csp.clone()))
                .add(("X-Content-Type-Options", "nosniff"))
                .add(("X-Frame-Options", "DENY"))
                // same-origin, not no-referrer: with no-referrer browsers send `Origin: null` on the
                // portal's own form posts, which the CSRF check refuses.
                .add(("Referrer-Policy", "same-origin"))
                .add(("Cross-Origin-Opener-Policy", "same-origin"))
                // Every page is a person's own; only the stylesheet sets its own caching.
                .add(("Cache-Control", "no-store"));
            if hsts {
                headers = headers.add(("Strict-Transport-Security", "max-age=31536000"));
            }
            App::new()
                .app_data(shared.clone())
                .wrap(headers)
                .wrap(TracingLogger::default())
                .configure(crate::web::extractor_errors)
                .configure(crate::web::routes)
        })
        .workers(workers)
        .listen(listener)?
        .run();
        tracing::info!(port, issuer = %state.settings.idp.issuer, "employer portal listening");
        Ok(Self {
            port,
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &Data<PortalState> {
        &self.state
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// jsonwebtoken needs its crypto backend chosen once per process.
pub fn install_crypto_provider() {
    // Err only says a provider is installed already.
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
}
