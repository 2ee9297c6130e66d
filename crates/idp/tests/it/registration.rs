//! RFC 7591 dynamic client registration over HTTP (`POST /register`, behind the initial access
//! token), each rejection on its own, and the `idp admin client` commands.

use idp::admin::clients::CreateClientArgs;
use idp::storage::models::AuditEvent;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::driver::*;
use crate::helpers::*;

async fn app_with_registration(backend: Backend) -> TestApp {
    spawn_app_with(backend, with_registration()).await
}

async fn stored_clients(app: &TestApp) -> Vec<idp::storage::models::ClientRow> {
    app.admin().clients().await
}

/// On an app that allows registration, `body` is refused with this RFC 7591 error code.
async fn assert_refused(backend: Backend, body: Value, code: &str) {
    register_refused(&app_with_registration(backend).await, &body, code).await;
}

/// A 401 `invalid_token` with a Bearer challenge, and nothing stored.
async fn assert_invalid_token(app: &TestApp, response: reqwest::Response) {
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"], "invalid_token");
    assert!(stored_clients(app).await.is_empty());
}

fn web_client() -> Value {
    json!({ "redirect_uris": ["https://rp.example/cb"], "client_name": "RP" })
}

async fn registration_without_a_token_is_refused(backend: Backend) {
    let app = app_with_registration(backend).await;
    let response = post_register(&app, None, &web_client()).await;
    assert_invalid_token(&app, response).await;
}

async fn registration_with_a_wrong_token_is_refused(backend: Backend) {
    let app = app_with_registration(backend).await;
    let response = post_register(&app, Some("wrong-iat"), &web_client()).await;
    assert_invalid_token(&app, response).await;
}

async fn registration_with_an_empty_token_is_refused(backend: Backend) {
    let app = app_with_registration(backend).await;
    let response = post_register(&app, Some(""), &web_client()).await;
    assert_invalid_token(&app, response).await;
}

/// The right token under another scheme is no bearer token.
async fn the_token_over_basic_authentication_is_refused(backend: Backend) {
    let app = app_with_registration(backend).await;
    let response = http()
        .post(format!("{}/register", app.address))
        .basic_auth(IAT, None::<&str>)
        .json(&web_client())
        .send()
        .await
        .unwrap();
    assert_invalid_token(&app, response).await;
}

async fn registration_is_off_without_a_configured_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = post_register(&app, Some(IAT), &web_client()).await;
    assert_invalid_token(&app, response).await;
}

/// With no token configured, an empty one does not match "nothing".
async fn an_empty_token_does_not_open_registration_that_is_off(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = post_register(&app, Some(""), &web_client()).await;
    assert_invalid_token(&app, response).await;
}

async fn a_confidential_client_is_registered(backend: Backend) {
    let app = app_with_registration(backend).await;
    let body = register_ok(
        &app,
        json!({
            "redirect_uris": ["https://rp.example/cb"],
            "client_name": "  Werkgeverportaal  ",
            "token_endpoint_auth_method": "client_secret_post",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "scope": "openid email offline_access made:up",
            "logo_uri": "https://rp.example/logo.png",
            "contacts": ["ops@rp.example"],
        }),
    )
    .await;
    let client_id = body["client_id"].as_str().unwrap().to_owned();
    let secret = body["client_secret"].as_str().unwrap().to_owned();
    assert!(secret.len() >= 43);
    assert_eq!(body["client_secret_expires_at"], 0);
    assert!(body["client_id_issued_at"].as_i64().unwrap() > 0);
    assert_eq!(body["client_name"], "Werkgeverportaal");
    assert_eq!(body["redirect_uris"], json!(["https://rp.example/cb"]));
    assert_eq!(
        body["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(body["response_types"], json!(["code"]));
    assert_eq!(body["token_endpoint_auth_method"], "client_secret_post");
    assert_eq!(body["scope"], "openid email offline_access");
    // What the client says about itself is kept and echoed (OIDC Registration §2).
    assert_eq!(body["logo_uri"], "https://rp.example/logo.png");
    assert_eq!(body["contacts"], json!(["ops@rp.example"]));
    assert_eq!(body["application_type"], "web");
    assert!(body.get("backchannel_logout_uri").is_none());

    // Registration is a POST-only endpoint: nothing to read back.
    assert!(!app.browser().get("/register").await.status().is_success());

    let id = client_id.clone();
    let client = app
        .state
        .db
        .run(move |c| idp::oidc::client::find(c, &id))
        .await
        .unwrap()
        .expect("the client is stored");
    assert!(client.secret_matches(&secret));
    assert!(!client.secret_matches("wrong"));
    assert!(!client.first_party && !client.is_public());
    assert_eq!(client.name, "Werkgeverportaal");
    assert!(client.redirect_uri("https://rp.example/cb").is_some());
    assert!(client.redirect_uri("https://rp.example/cb/").is_none());

    let rows = stored_clients(&app).await;
    assert_eq!(rows.len(), 1);
    let stored_hash = rows[0].secret_hash.clone().unwrap();
    assert_ne!(stored_hash, secret);
    assert!(!stored_hash.contains(&secret));

    let events = app.admin().audit_log().await;
    let event = events
        .iter()
        .find(|e| e.event == "client_registered")
        .expect("a client_registered audit event");
    assert_eq!(event.outcome, "success");
    assert_eq!(event.client_id.as_deref(), Some(client_id.as_str()));
    let details: Value = serde_json::from_str(&event.details).unwrap();
    assert_eq!(
        details,
        json!({ "name": "Werkgeverportaal", "auth_method": "client_secret_post", "via": "dynamic_registration" })
    );
    assert!(!event.details.contains(&secret));
}

async fn defaults_for_a_minimal_registration(backend: Backend) {
    let app = app_with_registration(backend).await;
    let body = register_ok(&app, json!({ "redirect_uris": ["https://rp.example/cb"] })).await;
    assert_eq!(body["client_name"], "unnamed client");
    assert_eq!(body["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(body["grant_types"], json!(["authorization_code"]));
    assert_eq!(body["response_types"], json!(["code"]));
    assert!(body["client_secret"].is_string());
}

async fn a_public_client_gets_no_secret(backend: Backend) {
    let app = app_with_registration(backend).await;
    let body = register_ok(
        &app,
        json!({ "redirect_uris": ["https://spa.example/cb"], "token_endpoint_auth_method": "none" }),
    )
    .await;
    assert_eq!(body["token_endpoint_auth_method"], "none");
    assert!(body.get("client_secret").is_none());
    assert!(body.get("client_secret_expires_at").is_none());
    let rows = stored_clients(&app).await;
    assert_eq!(rows.len(), 1);
    assert!(rows[0].secret_hash.is_none());
}

async fn http_loopback_redirects_on_any_port_are_accepted(backend: Backend) {
    let app = app_with_registration(backend).await;
    let uris = [
        "http://127.0.0.1:49152/callback",
        "http://localhost:8080/cb",
        "http://[::1]:1/cb",
        "http://127.0.0.1/cb",
    ];
    let body = register_ok(&app, json!({ "redirect_uris": uris })).await;
    assert_eq!(body["redirect_uris"], json!(uris));
}

async fn http_on_another_host_is_refused(backend: Backend) {
    assert_refused(
        backend,
        json!({ "redirect_uris": ["https://rp.example/cb", "http://rp.example/cb"] }),
        "invalid_redirect_uri",
    )
    .await;
}

async fn a_redirect_uri_with_a_fragment_is_refused(backend: Backend) {
    assert_refused(
        backend,
        json!({ "redirect_uris": ["https://rp.example/cb#top"] }),
        "invalid_redirect_uri",
    )
    .await;
}

async fn a_relative_redirect_uri_is_refused(backend: Backend) {
    assert_refused(
        backend,
        json!({ "redirect_uris": ["/cb"] }),
        "invalid_redirect_uri",
    )
    .await;
}

async fn a_code_client_without_redirect_uri_is_refused(backend: Backend) {
    assert_refused(
        backend,
        json!({ "client_name": "RP" }),
        "invalid_redirect_uri",
    )
    .await;
}

async fn a_code_client_with_an_empty_list_of_redirect_uris_is_refused(backend: Backend) {
    assert_refused(
        backend,
        json!({ "redirect_uris": [] }),
        "invalid_redirect_uri",
    )
    .await;
}

async fn implicit_and_hybrid_response_types_are_refused(backend: Backend) {
    let app = app_with_registration(backend).await;
    for types in [
        json!(["token"]),
        json!(["id_token"]),
        json!(["code id_token"]),
        json!(["code", "token"]),
    ] {
        register_refused(
            &app,
            &json!({ "redirect_uris": ["https://rp.example/cb"], "response_types": types }),
            "invalid_client_metadata",
        )
        .await;
    }
}

async fn an_unknown_auth_method_is_refused(backend: Backend) {
    assert_refused(backend, json!({ "redirect_uris": ["https://rp.example/cb"], "token_endpoint_auth_method": "private_key_jwt" }), "invalid_client_metadata").await;
}

async fn an_unsupported_grant_type_is_refused(backend: Backend) {
    assert_refused(
        backend,
        json!({ "redirect_uris": ["https://rp.example/cb"], "grant_types": ["implicit"] }),
        "invalid_client_metadata",
    )
    .await;
}

async fn metadata_that_is_not_json_is_refused(backend: Backend) {
    let app = app_with_registration(backend).await;
    let response = http()
        .post(format!("{}/register", app.address))
        .bearer_auth(IAT)
        .form(&[("redirect_uris", "https://rp.example/cb")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"], "invalid_client_metadata");
    assert!(stored_clients(&app).await.is_empty());
}

/// JSON, but a member of the wrong type.
async fn a_member_of_the_wrong_type_is_refused(backend: Backend) {
    assert_refused(
        backend,
        json!({ "redirect_uris": "https://rp.example/cb" }),
        "invalid_client_metadata",
    )
    .await;
}

async fn logout_uris_are_stored_and_echoed(backend: Backend) {
    let app = app_with_registration(backend).await;
    let body = register_ok(
        &app,
        json!({
            "redirect_uris": ["https://rp.example/cb"],
            "post_logout_redirect_uris": ["https://rp.example/bye", "http://localhost:3000/bye"],
            "backchannel_logout_uri": "https://rp.example/backchannel",
            "backchannel_logout_session_required": false,
        }),
    )
    .await;
    assert_eq!(
        body["post_logout_redirect_uris"],
        json!(["https://rp.example/bye", "http://localhost:3000/bye"])
    );
    assert_eq!(
        body["backchannel_logout_uri"],
        "https://rp.example/backchannel"
    );
    assert_eq!(body["backchannel_logout_session_required"], true);
    let id = body["client_id"].as_str().unwrap().to_owned();
    let client = app
        .state
        .db
        .run(move |c| idp::oidc::client::find(c, &id))
        .await
        .unwrap()
        .unwrap();
    assert!(
        client
            .post_logout_redirect_uri("https://rp.example/bye")
            .is_some()
    );
    assert_eq!(
        client.backchannel_logout_uri.as_deref(),
        Some("https://rp.example/backchannel")
    );
}

async fn a_bad_post_logout_redirect_uri_is_refused(backend: Backend) {
    assert_refused(backend, json!({ "redirect_uris": ["https://rp.example/cb"], "post_logout_redirect_uris": ["http://rp.example/bye"] }), "invalid_client_metadata").await;
}

/// A 400 for a client whose back-channel logout URI is `uri`.
async fn assert_backchannel_uri_refused(backend: Backend, uri: &str) {
    assert_refused(
        backend,
        json!({ "redirect_uris": ["https://rp.example/cb"], "backchannel_logout_uri": uri }),
        "invalid_client_metadata",
    )
    .await;
}

async fn a_backchannel_logout_uri_over_http_is_refused(backend: Backend) {
    assert_backchannel_uri_refused(backend, "http://rp.example/backchannel").await;
}

async fn a_backchannel_logout_uri_with_a_fragment_is_refused(backend: Backend) {
    assert_backchannel_uri_refused(backend, "https://rp.example/backchannel#f").await;
}

async fn a_relative_backchannel_logout_uri_is_refused(backend: Backend) {
    assert_backchannel_uri_refused(backend, "backchannel").await;
}

fn cli_args(name: &str) -> CreateClientArgs {
    CreateClientArgs {
        name: name.to_owned(),
        redirect_uris: vec!["https://portal.example/callback".to_owned()],
        post_logout_redirect_uris: vec![],
        backchannel_logout_uri: None,
        public: false,
        auth_method: "client_secret_basic".to_owned(),
        grant_types: vec![],
        scope: None,
        first_party: true,
    }
}

async fn the_cli_creates_lists_and_deletes_clients(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin();
    admin.create_client(cli_args("Portaal")).await.unwrap();
    let rows = stored_clients(&app).await;
    assert_eq!(rows.len(), 1);
    let client = idp::oidc::client::Client::from_row(rows[0].clone());
    assert!(client.first_party);
    assert_eq!(client.grant_types, ["authorization_code", "refresh_token"]);
    assert!(rows[0].secret_hash.is_some());
    admin.list_clients().await.unwrap();

    let mut public = cli_args("SPA");
    public.public = true;
    admin.create_client(public).await.unwrap();
    let rows = stored_clients(&app).await;
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().any(|r| r.name == "SPA"
        && r.secret_hash.is_none()
        && r.token_endpoint_auth_method == "none"));

    admin.delete_client(&client.client_id).await.unwrap();
    assert_eq!(stored_clients(&app).await.len(), 1);
    assert!(admin.delete_client(&client.client_id).await.is_err());

    let events = admin.audit_log().await;
    let registered: Vec<&AuditEvent> = events
        .iter()
        .filter(|e| e.event == "client_registered")
        .collect();
    assert_eq!(registered.len(), 2);
    assert!(
        registered
            .iter()
            .all(|e| e.details.contains("\"via\":\"cli\""))
    );
    let deleted = events
        .iter()
        .find(|e| e.event == "client_deleted")
        .expect("a client_deleted audit event");
    assert_eq!(
        deleted.client_id.as_deref(),
        Some(client.client_id.as_str())
    );
}

// The CLI follows the same rules as dynamic registration.
async fn the_cli_refuses_an_http_redirect_uri(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut bad = cli_args("Bad");
    bad.redirect_uris = vec!["http://portal.example/callback".to_owned()];
    assert!(app.admin().create_client(bad).await.is_err());
    assert!(stored_clients(&app).await.is_empty());
}

async fn the_cli_refuses_an_unknown_auth_method(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut bad = cli_args("Bad");
    bad.auth_method = "private_key_jwt".to_owned();
    assert!(app.admin().create_client(bad).await.is_err());
    assert!(stored_clients(&app).await.is_empty());
}

async fn the_cli_cannot_delete_an_unknown_client(backend: Backend) {
    let app = spawn_app(backend).await;
    assert!(app.admin().delete_client("no-such-client").await.is_err());
}

both_backends!(
    registration_without_a_token_is_refused,
    registration_with_a_wrong_token_is_refused,
    registration_with_an_empty_token_is_refused,
    the_token_over_basic_authentication_is_refused,
    registration_is_off_without_a_configured_token,
    an_empty_token_does_not_open_registration_that_is_off,
    a_confidential_client_is_registered,
    defaults_for_a_minimal_registration,
    a_public_client_gets_no_secret,
    http_loopback_redirects_on_any_port_are_accepted,
    http_on_another_host_is_refused,
    a_redirect_uri_with_a_fragment_is_refused,
    a_relative_redirect_uri_is_refused,
    a_code_client_without_redirect_uri_is_refused,
    a_code_client_with_an_empty_list_of_redirect_uris_is_refused,
    implicit_and_hybrid_response_types_are_refused,
    an_unknown_auth_method_is_refused,
    an_unsupported_grant_type_is_refused,
    metadata_that_is_not_json_is_refused,
    a_member_of_the_wrong_type_is_refused,
    logout_uris_are_stored_and_echoed,
    a_bad_post_logout_redirect_uri_is_refused,
    a_backchannel_logout_uri_over_http_is_refused,
    a_backchannel_logout_uri_with_a_fragment_is_refused,
    a_relative_backchannel_logout_uri_is_refused,
    the_cli_creates_lists_and_deletes_clients,
    the_cli_refuses_an_http_redirect_uri,
    the_cli_refuses_an_unknown_auth_method,
    the_cli_cannot_delete_an_unknown_client,
);
