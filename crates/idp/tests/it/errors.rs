//! The one error map (docs/ARCHITECTURE.md, "Errors, one type per layer"): whatever goes wrong
//! on a page is a page in the person's language, and a real fault is answered 500 and logged
//! once, with the request id.

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, SqliteConnection};
use reqwest::StatusCode;

use crate::both_backends;
use crate::driver::*;
use crate::helpers::*;

async fn a_page_form_that_cannot_be_read_gets_a_page(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = http()
        .post(format!("{}/login", app.address))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("email={}", "a".repeat(20_000)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let html = response.text().await.unwrap();
    assert_eq!(text_of(&html, "h1"), ["Ongeldig verzoek"]);
}

/// Breaks the database under a running server: the sessions table is gone.
fn drop_sessions_table(backend: Backend, url: &str) {
    match backend {
        Backend::Postgres => PgConnection::establish(url)
            .unwrap()
            .batch_execute("DROP TABLE sessions CASCADE")
            .unwrap(),
        Backend::Sqlite => SqliteConnection::establish(url)
            .unwrap()
            .batch_execute("DROP TABLE sessions")
            .unwrap(),
    }
}

async fn a_fault_is_answered_500_and_logged_once_with_the_request_id(backend: Backend) {
    let mut idp = IdpProcess::start(backend, "text").await;
    drop_sessions_table(backend, &idp.database_url);
    let response = http()
        .get(format!("{}/login/otp", idp.address))
        .header("cookie", "hcc_session=any-session-id")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let html = response.text().await.unwrap();
    assert_eq!(
        text_of(&html, "h1"),
        ["Er ging iets mis"],
        "a page, no details"
    );
    assert!(!html.contains("sessions"), "the fault is not shown");
    let failed = idp.read_until("request failed").await;
    assert!(failed.contains("request_id="), "{failed}");
    assert!(
        failed.contains("sessions"),
        "the cause is in the log: {failed}"
    );
    // Answered and logged: one more request, so everything about the first has been written.
    http()
        .get(format!("{}/health/live", idp.address))
        .send()
        .await
        .unwrap();
    let log = idp.stop().await;
    let logged = log.lines().filter(|l| l.contains("ERROR")).count();
    assert_eq!(logged, 1, "logged once:\n{log}");
}

async fn an_unknown_path_is_a_page_in_the_persons_language_with_a_way_back(backend: Backend) {
    let app = spawn_app(backend).await;
    for (accept, title, link) in [
        ("nl", "Pagina niet gevonden", "Naar de inlogpagina"),
        ("en-GB,en;q=0.9", "Page not found", "Go to the login page"),
    ] {
        let response = http()
            .get(format!("{}/no/such/page", app.address))
            .header("accept-language", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let html = response.text().await.unwrap();
        assert_eq!(text_of(&html, "h1"), [title]);
        assert_eq!(attr(&html, "a.button", "href").as_deref(), Some("/login"));
        assert_eq!(text_of(&html, "a.button"), [link]);
    }
}

async fn the_icon_is_served_where_browsers_look_for_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let page = app.browser().page("/login").await;
    assert_eq!(
        attr(&page, "link[rel=icon]", "href").as_deref(),
        Some("/static/favicon.svg")
    );
    for path in ["/favicon.ico", "/static/favicon.svg"] {
        let response = http()
            .get(format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(response.headers()["content-type"], "image/svg+xml");
        assert!(response.text().await.unwrap().starts_with("<svg"));
    }
}

both_backends!(
    a_page_form_that_cannot_be_read_gets_a_page,
    a_fault_is_answered_500_and_logged_once_with_the_request_id,
    an_unknown_path_is_a_page_in_the_persons_language_with_a_way_back,
    the_icon_is_served_where_browsers_look_for_it,
);

async fn every_answer_carries_its_own_request_id(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut seen = std::collections::BTreeSet::new();
    for path in [
        "/.well-known/openid-configuration",
        "/login",
        "/does-not-exist",
        "/health/ready",
    ] {
        let response = http()
            .get(format!("{}{path}", app.address))
            .header("x-request-id", "chosen-by-the-client")
            .send()
            .await
            .unwrap();
        let id = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        // The IdP's own id, never the client's.
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{path}: {id}");
        assert!(seen.insert(id), "{path}: an id seen before");
    }
}

both_backends!(every_answer_carries_its_own_request_id);
