//! What operators watch: Prometheus metrics on a listen address of their own
//! (`server.metrics_address`, off when empty), never on the public one. Counters and histograms
//! are recorded where things happen (requests in `web::request_span`, logins in
//! `journeys::login`, grants in `oidc::token`, deliveries in `outbox`); the gauges that describe
//! the database's contents (outbox depth and age, live sessions, the signing key's age) and the
//! pool are read when Prometheus scrapes.

use std::net::TcpListener;
use std::sync::OnceLock;

use actix_web::{App, HttpResponse, HttpServer, web};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::state::IdpState;

/// Request latency buckets, in seconds: from a cached document to an argon2 queue under load.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The process's recorder, installed once (tests run many IdPs in one process).
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full("idp_http_request_duration_seconds".to_owned()),
                LATENCY_BUCKETS,
            )
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        // Another recorder may be installed already (an embedding process); ours then only
        // renders what it was given.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// One login step's outcome: `stage` is `password` or `otp`; `outcome` is `success`,
/// `failure` or `throttled`.
pub fn login(stage: &'static str, outcome: &'static str) {
    metrics::counter!("idp_logins_total", "stage" => stage, "outcome" => outcome).increment(1);
}

/// One token request: its grant type (as sent, if supported) and the error code or `ok`.
pub fn grant(grant_type: &'static str, outcome: &'static str) {
    metrics::counter!("idp_token_grants_total", "grant_type" => grant_type, "outcome" => outcome)
        .increment(1);
}

/// One finished HTTP request: by route pattern (never the path) and status.
pub fn request(route: String, status: u16, seconds: f64) {
    metrics::histogram!("idp_http_request_duration_seconds", "route" => route.clone())
        .record(seconds);
    metrics::counter!("idp_http_requests_total", "route" => route, "status" => status.to_string())
        .increment(1);
}

/// One outbox delivery attempt that did not deliver (`queue`: `mail` or `backchannel_logout`).
/// A password check refused because the argon2 queue was full (answered 503).
pub fn password_check_refused() {
    metrics::counter!("idp_password_checks_refused_total").increment(1);
}

pub fn delivery_failed(queue: &'static str) {
    metrics::counter!("idp_outbox_failures_total", "queue" => queue).increment(1);
}

/// What the database says now, set as gauges just before a scrape is rendered.
fn observe(state: &IdpState, snapshot: &crate::storage::gauges::Snapshot) {
    metrics::gauge!("idp_outbox_pending", "queue" => "mail").set(snapshot.mail_pending as f64);
    metrics::gauge!("idp_outbox_oldest_pending_seconds", "queue" => "mail")
        .set(snapshot.mail_oldest_seconds as f64);
    metrics::gauge!("idp_outbox_pending", "queue" => "backchannel_logout")
        .set(snapshot.notices_pending as f64);
    metrics::gauge!("idp_outbox_oldest_pending_seconds", "queue" => "backchannel_logout")
        .set(snapshot.notices_oldest_seconds as f64);
    metrics::gauge!("idp_sessions_live").set(snapshot.sessions_live as f64);
    metrics::gauge!("idp_signing_key_age_seconds")
        .set(state.keys.active_age_seconds(state.now()) as f64);
}

fn observe_pool(state: &IdpState) {
    let pool = state.db.pool_state();
    metrics::gauge!("idp_db_pool_connections", "state" => "idle")
        .set(f64::from(pool.idle_connections));
    metrics::gauge!("idp_db_pool_connections", "state" => "busy").set(f64::from(
        pool.connections.saturating_sub(pool.idle_connections),
    ));
    metrics::gauge!("idp_db_pool_size").set(f64::from(state.settings.database.pool_size));
    metrics::gauge!("idp_db_unreachable").set(if state.db.is_unreachable() { 1.0 } else { 0.0 });
    metrics::gauge!("idp_password_checks_waiting").set(state.hasher.waiting() as f64);
    metrics::gauge!("idp_password_queue_limit")
        .set(state.settings.password.hash_queue_limit as f64);
}

async fn scrape(state: web::Data<IdpState>) -> HttpResponse {
    observe_pool(&state);
    let now = state.now();
    let read = state
        .db
        .run(move |conn| crate::storage::gauges::snapshot(conn, now))
        .await;
    match read {
        Ok(snapshot) => observe(&state, &snapshot),
        Err(e) if e.is_unavailable() => {
            tracing::debug!(error = %e, "metrics: database gauges left as they were");
        }
        Err(e) => tracing::warn!(error = %e, "metrics: database gauges not read"),
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(handle().render())
}

/// Serves `GET /metrics` on `listener` until the process stops.
pub fn serve(listener: TcpListener, state: IdpState) -> std::io::Result<actix_web::dev::Server> {
    let data = web::Data::new(state);
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/metrics", web::get().to(scrape))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .run())
}
