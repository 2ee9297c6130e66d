//! Regression tests for the findings of the outside security review and the independent OIDC
//! test run (docs/security.md lists each rule with its test). Each test is named after the rule
//! it proves and asserts what a client or a person sees.

use idp::oidc::client::AuthMethod;
use idp::storage::logout_notices::LogoutNotice;
use reqwest::StatusCode;
use serde_json::Value;

use crate::both_backends;
use crate::driver::*;
use crate::helpers::*;

/// A GET with exactly this cookie header (no cookie store).
async fn get_with_cookie(app: &TestApp, path: &str, cookie: &str) -> reqwest::Response {
    http()
        .get(format!("{}{path}", app.address))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
}

async fn parked_requests(app: &TestApp) -> i64 {
    use diesel::prelude::*;
    app.state
        .db
        .run(|conn| {
            idp::storage::schema::authorization_requests::table
                .count()
                .get_result::<i64>(conn)
                .map_err(idp::storage::DbError::from)
        })
        .await
        .unwrap()
}

/// A urlencoded body of `keys` distinct parameters (about 5 bytes each).
fn many_keys(keys: usize) -> String {
    (0..keys)
        .map(|i| format!("k{i}=v"))
        .collect::<Vec<_>>()
        .join("&")
}

// 1. Protocol bodies are small and parsed in linear time.
async fn protocol_bodies_over_16_kib_are_refused_while_health_is_answered(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = many_keys(52_000);
    assert!(body.len() > 262_000);
    let mut posts = Vec::new();
    for path in ["/token", "/introspect", "/revoke", "/userinfo", "/token"] {
        let request = http()
            .post(format!("{}{path}", app.address))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.clone());
        posts.push(tokio::spawn(async move { request.send().await }));
    }
    let health = http()
        .get(format!("{}/health/live", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    for post in posts {
        let response = post
            .await
            .unwrap()
            .expect("an answer, not a dropped connection");
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let json: Value = response.json().await.unwrap();
        assert_eq!(json["error"], "invalid_request", "{json}");
    }
}

async fn a_body_of_thousands_of_distinct_keys_within_the_limit_is_answered(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut body = many_keys(1_800);
    body.push_str("&grant_type=client_credentials&k7=again");
    assert!(body.len() < 16 * 1024);
    let response = http()
        .post(format!("{}/token", app.address))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let json: Value = response.json().await.unwrap();
    assert_eq!(json["error"], "invalid_request");
    assert!(
        json["error_description"].as_str().unwrap().contains("k7"),
        "{json}"
    );
}

// 2. Nothing unauthenticated can park a large request, or many.
async fn an_authorization_parameter_over_2_kib_is_invalid_request(backend: Backend) {
    let app = spawn_app(backend).await;
    let rp = app.client(AuthMethod::ClientSecretBasic, CODE).await;
    let nonce = "n".repeat(2049);
    let response = app
        .browser()
        .get(&rp.authorize_url("openid", &[("nonce", &nonce)]))
        .await;
    assert_error_redirect(&app, &response, "invalid_request", Some("st-1"));
    assert_eq!(parked_requests(&app).await, 0);
}

async fn a_state_over_2_kib_is_refused_and_not_echoed(backend: Backend) {
    let app = spawn_app(backend).await;
    let rp = app.client(AuthMethod::ClientSecretBasic, CODE).await;
    let state = "s".repeat(16_000);
    let response = app
        .browser()
        .post(
            "/authorize",
            &[
                ("response_type", "code"),
                ("client_id", rp.id.as_str()),
                ("redirect_uri", REDIRECT),
                ("scope", "openid"),
                ("state", state.as_str()),
            ],
        )
        .await;
    assert_error_redirect(&app, &response, "invalid_request", None);
    assert_eq!(parked_requests(&app).await, 0);
}

async fn parked_requests_are_limited_per_client_address(backend: Backend) {
    let app = spawn_app_with(
        backend,
        Options::settings(|s| s.throttle.parked_requests_per_ip_per_hour = 3),
    )
    .await;
    let rp = app.client(AuthMethod::ClientSecretBasic, CODE).await;
    for _ in 0..3 {
        let response = app.browser().get(&rp.authorize_url("openid", &[])).await;
        assert_eq!(location(&response), "/login");
    }
    let response = app.browser().get(&rp.authorize_url("openid", &[])).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    let page = response.text().await.unwrap();
    assert!(page.contains("Te veel inlogaanvragen"), "{page}");
    assert_eq!(parked_requests(&app).await, 3);
    // An hour later the address may park again.
    app.clock.advance(3601);
    let response = app.browser().get(&rp.authorize_url("openid", &[])).await;
    assert_eq!(location(&response), "/login");
}

async fn a_request_answered_from_a_live_session_is_not_counted(backend: Backend) {
    let app = spawn_app_with(
        backend,
        Options::settings(|s| s.throttle.parked_requests_per_ip_per_hour = 1),
    )
    .await;
    let person = onboarded_person(&app).await;
    let rp = app.client(AuthMethod::ClientSecretBasic, CODE).await;
    let browser = app.browser();
    let callback = browser
        .authorize(&rp.authorize_url("openid", &[]), &person)
        .await;
    assert!(query_param(&callback, "code").is_some());
    for _ in 0..3 {
        let response = browser.get(&rp.authorize_url("openid", &[])).await;
        assert_eq!(response.status(), StatusCode::FOUND);
        assert!(query_param(&location(&response), "code").is_some());
    }
}

// 9. max_age arithmetic cannot wrap.
async fn a_max_age_beyond_any_clock_accepts_the_live_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let rp = app.client(AuthMethod::ClientSecretBasic, CODE).await;
    let browser = app.browser();
    browser
        .authorize(&rp.authorize_url("openid", &[]), &person)
        .await;
    for max_age in ["9223372036854775807", "99999999999999999999"] {
        let response = browser
            .get(&rp.authorize_url("openid", &[("max_age", max_age)]))
            .await;
        assert_eq!(response.status(), StatusCode::FOUND, "{max_age}");
        let back = location(&response);
        assert!(query_param(&back, "code").is_some(), "{max_age}: {back}");
    }
}

/// An authorization request with `max_age` is refused with invalid_request.
async fn assert_max_age_is_invalid_request(backend: Backend, max_age: &str) {
    let app = spawn_app(backend).await;
    let rp = app.client(AuthMethod::ClientSecretBasic, CODE).await;
    let response = app
        .browser()
        .get(&rp.authorize_url("openid", &[("max_age", max_age)]))
        .await;
    assert_error_redirect(&app, &response, "invalid_request", Some("st-1"));
}

async fn a_negative_max_age_is_invalid_request(backend: Backend) {
    assert_max_age_is_invalid_request(backend, "-1").await;
}

async fn a_non_numeric_max_age_is_invalid_request(backend: Backend) {
    assert_max_age_is_invalid_request(backend, "1e3").await;
}

// 6. A refused refresh changes nothing.
async fn a_refresh_with_a_wider_scope_is_refused_and_the_token_still_works(backend: Backend) {
    let app = spawn_app(backend).await;
    let SignedIn { rp, tokens, .. } = app.signed_in().await;
    let wider = [
        ("grant_type", "refresh_token"),
        ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ("scope", "openid profile"),
    ];
    let response = rp.post("/token", &wider).await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_scope").await;
    let (status, rotated) = rp.refresh(&tokens).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    assert!(!app.admin().logged("refresh_token_reused", "failure").await);
}

async fn an_expired_refresh_token_is_not_taken_for_a_stolen_one(backend: Backend) {
    let app = spawn_app(backend).await;
    let SignedIn { rp, tokens, .. } = app.signed_in().await;
    app.clock.advance(31 * 86_400);
    for _ in 0..2 {
        let (status, json) = rp.refresh(&tokens).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(json["error_description"], "the refresh token has expired");
    }
    assert!(!app.admin().logged("refresh_token_reused", "failure").await);
}

// 14. Refresh families have an absolute lifetime; logout revokes live access tokens.
async fn a_refresh_family_ends_90_days_after_its_login(backend: Backend) {
    let app = spawn_app(backend).await;
    let SignedIn { rp, mut tokens, .. } = app.signed_in().await;
    let login = rp
        .introspect(tokens["access_token"].as_str().unwrap())
        .await["iat"]
        .as_i64()
        .unwrap();
    // Rotated every 29 days, inside the 30-day sliding lifetime each time.
    for _ in 0..3 {
        app.clock.advance(29 * 86_400);
        let (status, rotated) = rp.refresh(&tokens).await;
        assert_eq!(status, StatusCode::OK, "{rotated}");
        tokens = rotated;
    }
    let answer = rp
        .introspect(tokens["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(answer["active"], true);
    assert!(
        answer["exp"].as_i64().unwrap() <= login + 90 * 86_400,
        "{answer}"
    );
    app.clock.advance(3 * 86_400 + 1); // day 90 and a second
    let (status, json) = rp.refresh(&tokens).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{json}");
    assert_eq!(json["error"], "invalid_grant");
}

async fn logout_revokes_the_live_access_tokens_of_the_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let SignedIn {
        rp,
        browser,
        tokens: first,
        ..
    } = app.signed_in().await;
    let (_, second) = rp.refresh(&first).await;
    let access = [
        first["access_token"].as_str().unwrap(),
        second["access_token"].as_str().unwrap(),
    ];
    for token in access {
        assert_eq!(rp.introspect(token).await["active"], true);
    }
    let response = browser
        .get(&app.url(
            "/logout",
            &[("id_token_hint", first["id_token"].as_str().unwrap())],
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    for token in access {
        assert_eq!(rp.introspect(token).await["active"], false);
        assert_eq!(rp.userinfo(token).await.status(), StatusCode::UNAUTHORIZED);
    }
}

async fn an_administrators_logout_revokes_the_live_access_tokens(backend: Backend) {
    let app = spawn_app(backend).await;
    let SignedIn {
        person, rp, tokens, ..
    } = app.signed_in().await;
    let access = tokens["access_token"].as_str().unwrap();
    app.admin().end_sessions(&person.email).await.unwrap();
    assert_eq!(rp.introspect(access).await["active"], false);
    assert_eq!(rp.userinfo(access).await.status(), StatusCode::UNAUTHORIZED);
}

// 7. The session id is renewed when the session may do more.
async fn the_session_id_changes_when_the_code_is_accepted(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let browser = app.browser();
    let response = browser.log_in_password(&person.email, STRONG).await;
    let before = set_cookie(&response, "hcc_session").expect("a session cookie");
    let response = browser.log_in_code(&person.fresh_code(&app.clock)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let after = set_cookie(&response, "hcc_session").expect("a new session cookie");
    assert_ne!(before, after);
    let old = get_with_cookie(&app, "/welcome", &format!("hcc_session={before}")).await;
    assert_eq!(
        old.status(),
        StatusCode::FORBIDDEN,
        "the old id no longer works"
    );
    let new = get_with_cookie(&app, "/welcome", &format!("hcc_session={after}")).await;
    assert_eq!(new.status(), StatusCode::OK);
}

async fn the_session_id_changes_when_the_authenticator_is_set_up(backend: Backend) {
    let app = spawn_app(backend).await;
    let (link, _) = invite_marco(&app, idp::domain::Language::Nl).await;
    let browser = app.browser();
    let response = browser.register(&link, STRONG).await;
    let before = set_cookie(&response, "hcc_session").expect("a session cookie");
    let (_, response) = browser.set_up_authenticator().await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let after = set_cookie(&response, "hcc_session").expect("a new session cookie");
    assert_ne!(before, after);
    let old = get_with_cookie(&app, "/welcome", &format!("hcc_session={before}")).await;
    assert_eq!(old.status(), StatusCode::FORBIDDEN);
}

// 12. Every cookie is HttpOnly and SameSite.
async fn every_cookie_is_http_only_and_same_site(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let rp = app.client(AuthMethod::ClientSecretBasic, CODE).await;
    let browser = app.browser();
    let mut seen = Vec::new();
    let response = browser.get("/login?lang=en").await;
    seen.extend(set_cookies(&response));
    let response = browser.get(&rp.authorize_url("openid", &[])).await;
    seen.extend(set_cookies(&response));
    let callback = browser
        .authorize(&rp.authorize_url("openid", &[]), &person)
        .await;
    assert!(callback.starts_with(REDIRECT));
    let response = browser.get(&app.url("/logout", &[])).await;
    seen.extend(set_cookies(&response));
    for name in ["hcc_lang", "hcc_csrf", "hcc_authreq"] {
        assert!(
            seen.iter().any(|c| c.starts_with(&format!("{name}="))),
            "{name} in {seen:?}"
        );
    }
    for cookie in &seen {
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(cookie.contains("SameSite=Lax"), "{cookie}");
        assert!(cookie.contains("Path=/"), "{cookie}");
    }
}

async fn cookies_over_https_are_secure_and_host_prefixed(backend: Backend) {
    let app = spawn_app_with(
        backend,
        Options::settings(|s| s.issuer = "https://login.portaalwerkgever.example".into()),
    )
    .await;
    let response = app.browser().get("/login?lang=en").await;
    let cookies = set_cookies(&response);
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    for cookie in &cookies {
        assert!(cookie.starts_with("__Host-"), "{cookie}");
        assert!(
            cookie.contains("Secure") && cookie.contains("HttpOnly"),
            "{cookie}"
        );
        assert!(!cookie.contains("Domain="), "{cookie}");
    }
}

// 13. Only the IdP's ID tokens count as id_token_hint.
async fn an_access_token_as_id_token_hint_asks_for_confirmation(backend: Backend) {
    let app = spawn_app(backend).await;
    let SignedIn {
        rp,
        browser,
        tokens,
        ..
    } = app.signed_in().await;
    let response = browser
        .get(&app.url(
            "/logout",
            &[
                ("id_token_hint", tokens["access_token"].as_str().unwrap()),
                ("post_logout_redirect_uri", BYE),
            ],
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK, "no redirect");
    let html = response.text().await.unwrap();
    assert_eq!(attr(&html, "form", "action").as_deref(), Some("/logout"));
    assert!(browser.is_logged_in(&rp).await);
}

async fn a_logout_token_as_id_token_hint_asks_for_confirmation(backend: Backend) {
    let app = spawn_app(backend).await;
    let SignedIn {
        rp,
        browser,
        tokens,
        ..
    } = app.signed_in().await;
    let claims = rp
        .introspect(tokens["access_token"].as_str().unwrap())
        .await;
    // Shaped as the back-channel worker signs them (Back-Channel Logout 1.0 §2.4).
    let now = app.state.now();
    let logout_token = app
        .state
        .keys
        .sign(
            Some("logout+jwt"),
            &serde_json::json!({
                "iss": app.address, "aud": rp.id, "iat": now, "exp": now + 120,
                "jti": "l-1", "sub": claims["sub"], "sid": "s",
                "events": { "http://schemas.openid.net/event/backchannel-logout": {} },
            }),
        )
        .unwrap();
    let response = browser
        .get(&app.url(
            "/logout",
            &[
                ("id_token_hint", &logout_token),
                ("post_logout_redirect_uri", BYE),
            ],
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK, "no redirect");
    assert!(browser.is_logged_in(&rp).await);
}

async fn an_id_token_of_another_client_asks_for_confirmation(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let rp = app.refresh_client().await;
    let other = app.refresh_client().await;
    let browser = app.browser();
    let tokens = rp
        .sign_in(&browser, &person, "openid email offline_access")
        .await;
    let response = browser
        .get(&app.url(
            "/logout",
            &[
                ("id_token_hint", tokens["id_token"].as_str().unwrap()),
                ("client_id", other.id.as_str()),
            ],
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(browser.is_logged_in(&rp).await);
}

// 4. The server never calls a private address a client chose.
async fn spawn_without_private_back_channels(backend: Backend) -> TestApp {
    spawn_app_with(
        backend,
        Options {
            initial_access_token: Some(IAT.into()),
            settings: Some(Box::new(|s| {
                s.oidc.backchannel_allow_private_networks = false;
            })),
            ..Default::default()
        },
    )
    .await
}

async fn a_back_channel_uri_on_a_private_address_is_refused_at_registration(backend: Backend) {
    let app = spawn_without_private_back_channels(backend).await;
    let body = serde_json::json!({
        "redirect_uris": ["http://127.0.0.1:8080/cb"],
        "backchannel_logout_uri": "http://127.0.0.1:18999/internal/admin/delete?all=1",
    });
    let why = register_refused(&app, &body, "invalid_client_metadata").await;
    assert!(why.contains("private"), "{why}");
}

/// Logs `person` in for `rp` and ends every session (as an administrator would): the
/// back-channel notices are queued.
async fn log_in_and_end_sessions(app: &TestApp, rp: &RelyingParty, person: &Person) {
    let callback = app
        .browser()
        .authorize(&rp.authorize_url("openid", &[]), person)
        .await;
    assert!(query_param(&callback, "code").is_some());
    app.admin().end_sessions(&person.email).await.unwrap();
}

/// Every back-channel logout notice, once each has been tried at least once.
async fn tried_notices(app: &TestApp) -> Vec<LogoutNotice> {
    notices_once(app, |notices| {
        !notices.is_empty() && notices.iter().all(|n| n.attempts > 0)
    })
    .await
}

async fn back_channel_logout_never_calls_a_loopback_address(backend: Backend) {
    let app = spawn_without_private_back_channels(backend).await;
    let person = onboarded_person(&app).await;
    let (url, mut received) = backchannel_receiver().await;
    // Registered before the rule (or through a name that resolved elsewhere then).
    let rp = app.backchannel_client(url).await;
    log_in_and_end_sessions(&app, &rp, &person).await;
    let notices = tried_notices(&app).await;
    assert_eq!(notices.len(), 1);
    assert!(notices[0].given_up_at.is_some(), "not retried: {notices:?}");
    assert!(
        notices[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("not a public address"),
        "{notices:?}"
    );
    assert!(received.try_recv().is_err(), "nothing reached the address");
    assert!(app.admin().logged("backchannel_logout", "failure").await);
}

async fn back_channel_delivery_does_not_follow_redirects(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let (target, reached) = answering("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".into()).await;
    let (url, _) = answering(format!(
        "HTTP/1.1 307 Temporary Redirect\r\nLocation: {target}\r\nContent-Length: 0\r\n\r\n"
    ))
    .await;
    let rp = app.backchannel_client(url).await;
    log_in_and_end_sessions(&app, &rp, &person).await;
    let notices = tried_notices(&app).await;
    assert!(notices[0].delivered_at.is_none());
    assert!(
        notices[0].last_error.as_deref().unwrap().contains("307"),
        "{notices:?}"
    );
    assert_eq!(reached.load(std::sync::atomic::Ordering::SeqCst), 0);
}

async fn back_channel_delivery_reads_at_most_a_kilobyte_of_the_answer(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let body = "x".repeat(1 << 20);
    let (url, _) = answering(format!(
        "HTTP/1.1 500 Internal Server Error\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    ))
    .await;
    let rp = app.backchannel_client(url).await;
    log_in_and_end_sessions(&app, &rp, &person).await;
    let notices = tried_notices(&app).await;
    let error = notices[0].last_error.clone().unwrap();
    assert!(error.contains("500"), "{error}");
    assert!(error.len() < 1300, "{} bytes kept", error.len());
}

// 11. RFC 7591: a service client needs no response type.
async fn a_service_client_registers_without_response_types(backend: Backend) {
    let app = spawn_app_with(backend, with_registration()).await;
    let body = register_ok(
        &app,
        serde_json::json!({
            "client_name": "Rapportage",
            "grant_types": ["client_credentials"],
            "response_types": [],
        }),
    )
    .await;
    assert_eq!(body["response_types"], serde_json::json!([]));
    let response = http()
        .post(format!("{}/token", app.address))
        .basic_auth(
            body["client_id"].as_str().unwrap(),
            body["client_secret"].as_str(),
        )
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let tokens: Value = response.json().await.unwrap();
    assert!(tokens["access_token"].is_string(), "{tokens}");
}

async fn the_code_response_type_without_the_code_grant_is_refused(backend: Backend) {
    let app = spawn_app_with(backend, with_registration()).await;
    let body = serde_json::json!({
        "grant_types": ["client_credentials"],
        "response_types": ["code"],
    });
    let why = register_refused(&app, &body, "invalid_client_metadata").await;
    assert!(why.contains("authorization_code"), "{why}");
}

// 3. What a client registers about itself is kept; native applications follow RFC 8252.
async fn a_native_application_may_use_any_loopback_port(backend: Backend) {
    let app = spawn_app_with(backend, with_registration()).await;
    let body = register_ok(
        &app,
        serde_json::json!({
            "application_type": "native",
            "token_endpoint_auth_method": "none",
            "redirect_uris": ["http://127.0.0.1/cb"],
        }),
    )
    .await;
    assert_eq!(body["application_type"], "native");
    let authorize = |redirect_uri: &str| {
        let mut url = url::Url::parse(&format!("{}/authorize", app.address)).unwrap();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", body["client_id"].as_str().unwrap())
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", "openid")
            .append_pair("code_challenge", &"a".repeat(43))
            .append_pair("code_challenge_method", "S256");
        url.to_string()
    };
    let response = app
        .browser()
        .get(&authorize("http://127.0.0.1:51004/cb"))
        .await;
    assert_eq!(location(&response), "/login", "accepted on the app's port");
    let response = app
        .browser()
        .get(&authorize("http://127.0.0.1:51004/other"))
        .await;
    assert_eq!(
        response.status(),
        StatusCode::BAD_REQUEST,
        "another path is refused"
    );
    let page = response.text().await.unwrap();
    assert!(page.contains("terugkeeradres"), "{page}");
}

// 8. Values from requests are logged escaped, in text and JSON.
/// Runs the `idp` binary with `IDP_LOG_FORMAT=format`, sends a client authentication with a
/// forged `client_id`, and returns what the process logged.
async fn log_of_a_forged_client_id(backend: Backend, format: &str) -> String {
    let mut idp = IdpProcess::start(backend, format).await;
    let forged = "x\nINFO audit: forged event=login outcome=success\u{1b}[31m\r";
    let response = http()
        .post(format!("{}/token", idp.address))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", forged),
            ("client_secret", "wrong"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    idp.read_until("client authentication failed").await;
    idp.stop().await
}

async fn request_values_are_logged_escaped_in_text(backend: Backend) {
    let log = log_of_a_forged_client_id(backend, "text").await;
    assert!(!log.contains('\u{1b}'), "no raw ESC reaches the terminal");
    assert!(!log.contains('\r'));
    let failure = log
        .lines()
        .find(|l| l.contains("client authentication failed"))
        .unwrap();
    assert!(
        log.lines()
            .all(|l| !l.trim_start().starts_with("INFO audit: forged")),
        "no line of its own: {log}"
    );
    assert!(
        failure.contains("INFO audit: forged"),
        "kept, escaped: {failure}"
    );
}

async fn request_values_are_logged_escaped_in_json(backend: Backend) {
    let log = log_of_a_forged_client_id(backend, "json").await;
    assert!(!log.contains('\u{1b}'));
    assert!(log.contains("client authentication failed"));
    for line in log.lines() {
        let parsed: Result<Value, _> = serde_json::from_str(line);
        assert!(parsed.is_ok(), "every line is one JSON object: {line}");
    }
}

// 5. Only failures count toward a delay: an office behind one address logs in at once.
async fn fifty_parallel_correct_logins_from_one_address_all_succeed(backend: Backend) {
    let app = spawn_app(backend).await;
    let rp = app.client(AuthMethod::ClientSecretBasic, CODE).await;
    let people = seed_people(&app, 50).await;
    let now = app.state.now();
    let logins: Vec<_> = people
        .into_iter()
        .map(|person| {
            let url = rp.authorize_url("openid", &[]);
            let code = person.secret.code_at(idp::domain::totp::step_at(now));
            let browser = app.browser();
            tokio::spawn(async move { browser.authorize_with_code(&url, &person, &code).await })
        })
        .collect();
    for login in logins {
        let callback = login.await.expect("a login that got through every step");
        assert!(query_param(&callback, "code").is_some(), "{callback}");
    }
}

fn checked_and_refused(statuses: &[StatusCode]) -> (usize, usize) {
    (
        count_of(statuses, StatusCode::OK),
        count_of(statuses, StatusCode::TOO_MANY_REQUESTS),
    )
}

async fn fifty_parallel_wrong_passwords_for_one_account_are_held(backend: Backend) {
    let app = spawn_app(backend).await;
    seed_people(&app, 1).await;
    let statuses = wrong_passwords_at_once(&app, 50, |_| "persoon0@ek88.nl".into()).await;
    // The account's five free attempts are checked; the rest are refused unchecked.
    assert_eq!(checked_and_refused(&statuses), (5, 45), "{statuses:?}");
}

async fn fifty_parallel_wrong_passwords_from_one_address_are_held(backend: Backend) {
    let app = spawn_app(backend).await;
    let statuses = wrong_passwords_at_once(&app, 50, |i| format!("gok{i}@ek88.nl")).await;
    // The address's twenty free attempts are checked; the rest are refused unchecked.
    assert_eq!(checked_and_refused(&statuses), (20, 30), "{statuses:?}");
}

// 10. Device cookies: strangers' failures never lock the owner out.
/// Five wrong passwords for `email` from a stranger's browser: the account is now delayed for
/// untrusted browsers.
async fn strangers_guess(app: &TestApp, email: &str) {
    for _ in 0..5 {
        let response = app.browser().log_in_password(email, WRONG).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let response = app.browser().log_in_password(email, STRONG).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
}

/// Logs `person` in fully in `browser` (which then holds a device cookie).
async fn log_in_fully(browser: &Browser, person: &Person) {
    let response = browser.log_in(person).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(
        set_cookie(&response, "hcc_device").is_some(),
        "a device cookie"
    );
}

async fn the_owners_browser_logs_in_while_strangers_are_delayed(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let owner = app.browser();
    log_in_fully(&owner, &person).await;
    strangers_guess(&app, &person.email).await;
    let response = owner.log_in_password(&person.email, STRONG).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "not held up");
    assert_eq!(location(&response), "/login/otp");
}

async fn without_a_device_cookie_the_owner_is_delayed_like_anyone(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    strangers_guess(&app, &person.email).await;
    let response = app.browser().log_in_password(&person.email, STRONG).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
}

/// A password attempt from a browser whose only cookies are its CSRF cookie and `device`.
async fn attempt_with_device_cookie(app: &TestApp, email: &str, device: &str) -> StatusCode {
    let page = http()
        .get(format!("{}/login", app.address))
        .send()
        .await
        .unwrap();
    let csrf = set_cookie(&page, "hcc_csrf").unwrap();
    let html = page.text().await.unwrap();
    http()
        .post(format!("{}/login", app.address))
        .header("cookie", format!("hcc_csrf={csrf}; hcc_device={device}"))
        .form(&[
            ("csrf_token", csrf_token(&html).as_str()),
            ("email", email),
            ("password", STRONG),
        ])
        .send()
        .await
        .unwrap()
        .status()
}

async fn a_tampered_device_cookie_is_not_trusted(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    strangers_guess(&app, &person.email).await;
    let genuine = idp::sessions::device::DeviceCookie::default().after_login(
        &person.email,
        &app.state.keyring,
        app.state.now(),
    );
    let (signed, mac) = genuine.rsplit_once('.').unwrap();
    let tampered = format!("{signed}.{}", mac.chars().rev().collect::<String>());
    assert_eq!(
        attempt_with_device_cookie(&app, &person.email, &tampered).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        attempt_with_device_cookie(&app, &person.email, &genuine).await,
        StatusCode::SEE_OTHER,
        "the same entry, signed, is trusted"
    );
}

async fn a_trusted_devices_failures_count_on_its_own_counter(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let owner = app.browser();
    log_in_fully(&owner, &person).await;
    for _ in 0..5 {
        let response = owner.log_in_password(&person.email, WRONG).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let response = owner.log_in_password(&person.email, STRONG).await;
    assert_eq!(
        response.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "its own delay"
    );
    // The account's counter for untrusted browsers saw none of it.
    let response = app.browser().log_in_password(&person.email, STRONG).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

both_backends!(
    fifty_parallel_correct_logins_from_one_address_all_succeed,
    fifty_parallel_wrong_passwords_for_one_account_are_held,
    fifty_parallel_wrong_passwords_from_one_address_are_held,
    the_owners_browser_logs_in_while_strangers_are_delayed,
    without_a_device_cookie_the_owner_is_delayed_like_anyone,
    a_tampered_device_cookie_is_not_trusted,
    a_trusted_devices_failures_count_on_its_own_counter,
);

both_backends!(
    request_values_are_logged_escaped_in_text,
    request_values_are_logged_escaped_in_json,
);

both_backends!(
    a_back_channel_uri_on_a_private_address_is_refused_at_registration,
    back_channel_logout_never_calls_a_loopback_address,
    back_channel_delivery_does_not_follow_redirects,
    back_channel_delivery_reads_at_most_a_kilobyte_of_the_answer,
    a_service_client_registers_without_response_types,
    the_code_response_type_without_the_code_grant_is_refused,
    a_native_application_may_use_any_loopback_port,
);

both_backends!(
    a_refresh_with_a_wider_scope_is_refused_and_the_token_still_works,
    an_expired_refresh_token_is_not_taken_for_a_stolen_one,
    a_refresh_family_ends_90_days_after_its_login,
    logout_revokes_the_live_access_tokens_of_the_session,
    an_administrators_logout_revokes_the_live_access_tokens,
    the_session_id_changes_when_the_code_is_accepted,
    the_session_id_changes_when_the_authenticator_is_set_up,
    every_cookie_is_http_only_and_same_site,
    cookies_over_https_are_secure_and_host_prefixed,
    an_access_token_as_id_token_hint_asks_for_confirmation,
    a_logout_token_as_id_token_hint_asks_for_confirmation,
    an_id_token_of_another_client_asks_for_confirmation,
);

both_backends!(
    an_authorization_parameter_over_2_kib_is_invalid_request,
    a_state_over_2_kib_is_refused_and_not_echoed,
    parked_requests_are_limited_per_client_address,
    a_request_answered_from_a_live_session_is_not_counted,
    a_max_age_beyond_any_clock_accepts_the_live_session,
    a_negative_max_age_is_invalid_request,
    a_non_numeric_max_age_is_invalid_request,
);

both_backends!(
    protocol_bodies_over_16_kib_are_refused_while_health_is_answered,
    a_body_of_thousands_of_distinct_keys_within_the_limit_is_answered,
);
