//! The protocol rules of DESIGN.md ("Standards", "Security rules"), one test per rule, as a
//! client or a person sees them over HTTP: status codes, the JSON `error`, the `Location` and
//! its query, and the text of the pages.

use std::time::Duration;

use idp::oidc::client::AuthMethod;
use idp::storage::logout_notices::LogoutNotice;
use reqwest::StatusCode;
use serde_json::Value;

use crate::both_backends;
use crate::driver::*;
use crate::helpers::*;

// 1. The client and its redirect URI are checked before anything is redirected.
async fn an_unknown_client_gets_a_page(backend: Backend) {
    let app = spawn_app(backend).await;
    let challenge = s256(VERIFIER);
    let unknown = [
        ("response_type", "code"),
        ("client_id", "no-such-client"),
        ("redirect_uri", REDIRECT),
        ("scope", "openid"),
        ("state", "st-1"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let response = app.browser().get(&app.url("/authorize", &unknown)).await;
    let html = assert_error_page(response, "unknown client").await;
    assert!(
        html.contains("Ongeldige inlogaanvraag"),
        "the page says what went wrong: {html}"
    );
}

/// Only the registered URI itself: no other path, query, trailing slash, host or scheme.
async fn an_unregistered_redirect_uri_gets_a_page(backend: Backend) {
    let app = spawn_app(backend).await;
    let rp = app.client(AuthMethod::ClientSecretBasic, CODE).await;
    for redirect in [
        "https://portal.example/other",
        "https://portal.example/callback?next=/admin",
        "https://portal.example/callback/",
        "https://evil.example/callback",
        "http://portal.example/callback",
    ] {
        let url = app.url(
            "/authorize",
            &[
                ("response_type", "code"),
                ("client_id", rp.id.as_str()),
                ("redirect_uri", redirect),
                ("scope", "openid"),
                ("state", "st-1"),
            ],
        );
        let response = app.browser().get(&url).await;
        let html = assert_error_page(response, redirect).await;
        assert!(!html.contains(redirect), "{redirect} is not linked to");
    }
}

async fn a_request_without_a_redirect_uri_gets_a_page(backend: Backend) {
    let app = spawn_app(backend).await;
    let rp = app.client(AuthMethod::ClientSecretBasic, CODE).await;
    let url = app.url(
        "/authorize",
        &[
            ("response_type", "code"),
            ("client_id", rp.id.as_str()),
            ("scope", "openid"),
        ],
    );
    assert_error_page(app.browser().get(&url).await, "missing redirect_uri").await;
}

// 2. Only the code flow: implicit and hybrid response types are refused at the client.
async fn implicit_and_hybrid_response_types_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let rp = app.client(AuthMethod::ClientSecretBasic, CODE).await;
    for response_type in ["token", "code id_token", "id_token", "code token"] {
        let url = app.url(
            "/authorize",
            &[
                ("response_type", response_type),
                ("client_id", rp.id.as_str()),
                ("redirect_uri", REDIRECT),
                ("scope", "openid"),
                ("state", "st-rt"),
                ("nonce", "n-1"),
            ],
        );
        let response = app.browser().get(&url).await;
        assert_error_redirect(&app, &response, "unsupported_response_type", Some("st-rt"));
        assert!(
            !location(&response).contains('#'),
            "{response_type}: nothing in a fragment"
        );
    }
}

// 3. PKCE is required for public clients, and only S256.
async fn a_public_client_without_pkce_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let public = app.client(AuthMethod::None, CODE).await;
    let response = app
        .browser()
        .get(&public.authorize_url("openid", &[]))
        .await;
    assert_error_redirect(&app, &response, "invalid_request", Some("st-1"));
}

/// For public and confidential clients alike.
async fn the_plain_pkce_method_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let public = app.client(AuthMethod::None, CODE).await;
    let confidential = app.client(AuthMethod::ClientSecretBasic, CODE).await;
    for rp in [&public, &confidential] {
        let response = app
            .browser()
            .get(&rp.authorize_url(
                "openid",
                &[
                    ("code_challenge", VERIFIER),
                    ("code_challenge_method", "plain"),
                ],
            ))
            .await;
        assert_error_redirect(&app, &response, "invalid_request", Some("st-1"));
    }
}

async fn a_public_client_with_s256_goes_on_to_the_login(backend: Backend) {
    let app = spawn_app(backend).await;
    let public = app.client(AuthMethod::None, CODE).await;
    let response = app
        .browser()
        .get(&public.pkce_authorize_url("openid", &[]))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).starts_with("/login"));
}

// 4. The code is bound to the PKCE challenge.
/// A public client, and a code for it bound to the challenge of [`VERIFIER`].
async fn a_public_clients_code(backend: Backend) -> (TestApp, RelyingParty, String) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let rp = app.client(AuthMethod::None, CODE).await;
    let code = rp.code(&app.browser(), &person, "openid").await;
    (app, rp, code)
}

async fn a_wrong_code_verifier_is_invalid_grant(backend: Backend) {
    let (_app, rp, code) = a_public_clients_code(backend).await;
    let wrong = "another-code-verifier-that-is-long-enough-0000000000000";
    assert_oauth_error(
        rp.redeem(ClientAuth::IdOnly, &code, REDIRECT, Some(wrong))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
}

async fn a_missing_code_verifier_is_invalid_grant(backend: Backend) {
    let (_app, rp, code) = a_public_clients_code(backend).await;
    assert_oauth_error(
        rp.redeem(ClientAuth::IdOnly, &code, REDIRECT, None).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
}

async fn the_right_code_verifier_gets_the_tokens(backend: Backend) {
    let (_app, rp, code) = a_public_clients_code(backend).await;
    let (status, tokens) = json_of(
        rp.redeem(ClientAuth::IdOnly, &code, REDIRECT, Some(VERIFIER))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert!(tokens["id_token"].is_string());
}

// 5. Client authentication at the token endpoint.
/// A code exchange that gets as far as the (unknown) code only if the client is authenticated.
const UNKNOWN_CODE: &[(&str, &str)] = &[
    ("grant_type", "authorization_code"),
    ("code", "whatever"),
    ("redirect_uri", REDIRECT),
];

async fn a_wrong_secret_over_basic_is_invalid_client_with_a_challenge(backend: Backend) {
    let app = spawn_app(backend).await;
    let basic = app.client(AuthMethod::ClientSecretBasic, CODE).await;
    let wrong = basic.posing_as(&basic.id, Some("not-the-secret"));
    let response = wrong
        .post_as(ClientAuth::Basic, "/token", UNKNOWN_CODE)
        .await;
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .expect("a WWW-Authenticate header after failed Basic authentication");
    assert!(challenge.starts_with("Basic"), "{challenge}");
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
}

/// The right secret, but in the body: not the method this client registered.
async fn a_basic_clients_secret_in_the_body_is_invalid_client(backend: Backend) {
    let app = spawn_app(backend).await;
    let basic = app.client(AuthMethod::ClientSecretBasic, CODE).await;
    let response = basic
        .post_as(ClientAuth::Post, "/token", UNKNOWN_CODE)
        .await;
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
}

async fn an_unknown_client_over_basic_is_invalid_client_with_a_challenge(backend: Backend) {
    let app = spawn_app(backend).await;
    let basic = app.client(AuthMethod::ClientSecretBasic, CODE).await;
    let unknown = basic.posing_as("no-such-client", Some("x"));
    let response = unknown
        .post_as(ClientAuth::Basic, "/token", UNKNOWN_CODE)
        .await;
    assert!(response.headers().contains_key("www-authenticate"));
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
}

async fn a_confidential_client_cannot_pass_itself_off_as_public(backend: Backend) {
    let app = spawn_app(backend).await;
    let basic = app.client(AuthMethod::ClientSecretBasic, CODE).await;
    let response = basic
        .post_as(ClientAuth::IdOnly, "/token", UNKNOWN_CODE)
        .await;
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
}

async fn with_the_right_secret_the_client_gets_as_far_as_the_code(backend: Backend) {
    let app = spawn_app(backend).await;
    let basic = app.client(AuthMethod::ClientSecretBasic, CODE).await;
    let response = basic
        .post_as(ClientAuth::Basic, "/token", UNKNOWN_CODE)
        .await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

// 6. The code expires after 60 s, and is bound to the redirect URI and the client.
/// A confidential client (client_secret_post) and a code for it, bound to [`VERIFIER`].
async fn a_confidential_clients_code(backend: Backend) -> (TestApp, RelyingParty, String) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let rp = app.client(AuthMethod::ClientSecretPost, CODE).await;
    let code = rp.code(&app.browser(), &person, "openid").await;
    (app, rp, code)
}

async fn a_code_expires_after_60_seconds(backend: Backend) {
    let (app, rp, code) = a_confidential_clients_code(backend).await;
    app.clock.advance(61);
    assert_oauth_error(
        rp.redeem(ClientAuth::Post, &code, REDIRECT, Some(VERIFIER))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
}

async fn a_code_is_bound_to_its_redirect_uri(backend: Backend) {
    let (_app, rp, code) = a_confidential_clients_code(backend).await;
    let other = "https://portal.example/other";
    assert_oauth_error(
        rp.redeem(ClientAuth::Post, &code, other, Some(VERIFIER))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
}

async fn a_code_is_bound_to_its_client(backend: Backend) {
    let (app, _rp, code) = a_confidential_clients_code(backend).await;
    let other = app.client(AuthMethod::ClientSecretPost, CODE).await;
    assert_oauth_error(
        other
            .redeem(ClientAuth::Post, &code, REDIRECT, Some(VERIFIER))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
}

// 7. Unknown scope values are ignored (never granted); openid is required.
async fn unknown_scopes_are_ignored(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let rp = app.client(AuthMethod::ClientSecretPost, CODE).await;
    let code = rp
        .code(&app.browser(), &person, "openid email foo:bar")
        .await;
    let (status, tokens) = json_of(
        rp.redeem(ClientAuth::Post, &code, REDIRECT, Some(VERIFIER))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["scope"], "openid email");
    let access = jwt_part(tokens["access_token"].as_str().unwrap(), 1);
    assert_eq!(access["scope"], "openid email");
}

async fn a_request_without_openid_is_invalid_scope(backend: Backend) {
    let app = spawn_app(backend).await;
    let rp = app.client(AuthMethod::ClientSecretPost, CODE).await;
    let response = app
        .browser()
        .get(&rp.pkce_authorize_url("email profile", &[]))
        .await;
    assert_error_redirect(&app, &response, "invalid_scope", Some("st-1"));
}

/// /authorize → /login → the password step, in `browser`: the code page is next.
async fn to_code_page(browser: &Browser, rp: &RelyingParty, person: &Person) {
    let url = rp.pkce_authorize_url("openid", &[]);
    let answered = browser.authorize_to_code_step(&url, person).await;
    assert_eq!(answered, None, "no session yet");
}

// 8. A one-time code is accepted once.
async fn a_one_time_code_cannot_be_replayed(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let rp = app.client(AuthMethod::ClientSecretBasic, CODE).await;

    let first = app.browser();
    to_code_page(&first, &rp, &person).await;
    let code = person.fresh_code(&app.clock);
    let response = first.log_in_code(&code).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).starts_with(REDIRECT));

    // Someone who saw the code uses it again, with the right password, in another browser.
    let second = app.browser();
    to_code_page(&second, &rp, &person).await;
    let response = second.log_in_code(&code).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.headers().get("location").is_none());
    let html = response.text().await.unwrap();
    let alert = alert(&html);
    assert!(alert.contains("Ongeldige authenticatiecode"), "{alert}");
    assert_eq!(
        attr(&html, "#otp_code", "aria-invalid").as_deref(),
        Some("true")
    );
    assert!(control_labelled(&html, "Authenticatiecode").is_some());

    // The second browser is not logged in.
    let response = second
        .get(&rp.pkce_authorize_url("openid", &[("prompt", "none")]))
        .await;
    assert_error_redirect(&app, &response, "login_required", Some("st-1"));
}

struct LoginAttempt {
    status: StatusCode,
    alert: Vec<String>,
    normalised: String,
    session_cookie: bool,
}

async fn failed_login(app: &TestApp, email: &str, password: &str) -> LoginAttempt {
    let response = app.browser().log_in_password(email, password).await;
    let status = response.status();
    let cookie_name = format!("{}=", app.state.settings.session.cookie_name);
    let session_cookie = set_cookies(&response)
        .iter()
        .any(|c| c.starts_with(&cookie_name));
    let html = response.text().await.unwrap();
    let alert = text_of(&html, "[role=alert]");
    let normalised = html
        .replace(&csrf_token(&html), "CSRF")
        .replace(email, "EMAIL");
    LoginAttempt {
        status,
        alert,
        normalised,
        session_cookie,
    }
}

// 9. Errors never reveal whether an address has an account.
async fn a_wrong_password_and_an_unknown_address_look_the_same(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;

    let wrong_password = failed_login(&app, &person.email, "Verkeerd-Wachtw00rd-Roos").await;
    let unknown = failed_login(&app, "nobody@ek88.nl", "Verkeerd-Wachtw00rd-Roos").await;

    assert!(
        wrong_password.status.is_success() || wrong_password.status.is_client_error(),
        "{}",
        wrong_password.status
    );
    assert_eq!(wrong_password.status, unknown.status);
    assert!(!wrong_password.alert.is_empty(), "an error is announced");
    assert!(
        wrong_password
            .alert
            .join(" ")
            .contains("Ongeldig e-mailadres of wachtwoord"),
        "{:?}",
        wrong_password.alert
    );
    assert_eq!(wrong_password.alert, unknown.alert);
    assert_eq!(wrong_password.normalised, unknown.normalised);
    assert!(
        !wrong_password.session_cookie,
        "no session after a wrong password"
    );
    assert!(!unknown.session_cookie, "no session for an unknown address");
}

// 10. prompt=none and max_age.
/// A browser logged in (through a PKCE code flow) for a confidential client.
async fn logged_in_browser(backend: Backend) -> (TestApp, RelyingParty, Browser) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let rp = app.client(AuthMethod::ClientSecretBasic, CODE).await;
    let browser = app.browser();
    let callback = browser
        .authorize(&rp.pkce_authorize_url("openid", &[]), &person)
        .await;
    assert!(callback.starts_with(REDIRECT));
    (app, rp, browser)
}

async fn prompt_none_without_a_session_is_login_required(backend: Backend) {
    let app = spawn_app(backend).await;
    let rp = app.client(AuthMethod::ClientSecretBasic, CODE).await;
    let response = app
        .browser()
        .get(&rp.pkce_authorize_url("openid", &[("prompt", "none")]))
        .await;
    assert_error_redirect(&app, &response, "login_required", Some("st-1"));
}

async fn prompt_none_with_a_session_answers_with_a_code(backend: Backend) {
    let (app, rp, browser) = logged_in_browser(backend).await;
    let response = browser
        .get(&rp.pkce_authorize_url("openid", &[("prompt", "none")]))
        .await;
    assert_eq!(response.status(), StatusCode::FOUND, "a redirect, no page");
    let callback = location(&response);
    assert!(callback.starts_with(&format!("{REDIRECT}?")), "{callback}");
    assert!(query_param(&callback, "code").is_some(), "{callback}");
    assert!(query_param(&callback, "error").is_none(), "{callback}");
    assert_eq!(query_param(&callback, "state").as_deref(), Some("st-1"));
    assert_eq!(
        query_param(&callback, "iss").as_deref(),
        Some(app.address.as_str())
    );
}

/// OIDC Core §3.1.2.1: max_age=0 is equivalent to prompt=login.
async fn max_age_0_asks_for_a_fresh_login(backend: Backend) {
    let (_app, rp, browser) = logged_in_browser(backend).await;
    let response = browser
        .get(&rp.pkce_authorize_url("openid", &[("max_age", "0")]))
        .await;
    assert!(
        location(&response).starts_with("/login"),
        "max_age=0 → {}",
        location(&response)
    );
}

async fn a_login_within_max_age_is_accepted(backend: Backend) {
    let (app, rp, browser) = logged_in_browser(backend).await;
    app.clock.advance(120);
    let response = browser
        .get(&rp.pkce_authorize_url("openid", &[("max_age", "3600")]))
        .await;
    assert!(location(&response).starts_with(REDIRECT), "recent enough");
}

async fn a_login_older_than_max_age_must_be_repeated(backend: Backend) {
    let (app, rp, browser) = logged_in_browser(backend).await;
    app.clock.advance(120);
    let response = browser
        .get(&rp.pkce_authorize_url("openid", &[("max_age", "60")]))
        .await;
    let next = location(&response);
    assert!(
        next.starts_with("/login"),
        "max_age=60 after 120 s → {next}"
    );
    assert!(!next.starts_with(REDIRECT));
}

async fn prompt_none_with_a_login_older_than_max_age_is_login_required(backend: Backend) {
    let (app, rp, browser) = logged_in_browser(backend).await;
    app.clock.advance(120);
    let response = browser
        .get(&rp.pkce_authorize_url("openid", &[("max_age", "60"), ("prompt", "none")]))
        .await;
    assert_error_redirect(&app, &response, "login_required", Some("st-1"));
}

// 11. client_credentials, for confidential service clients only; other grants refused.
const CLIENT_CREDENTIALS: &[(&str, &str)] = &[("grant_type", "client_credentials")];

async fn a_confidential_service_client_gets_an_access_token_for_itself(backend: Backend) {
    let app = spawn_app(backend).await;
    let service = app
        .client(AuthMethod::ClientSecretBasic, &["client_credentials"])
        .await;
    let (status, tokens) = json_of(service.post("/token", CLIENT_CREDENTIALS).await).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert!(tokens["access_token"].is_string());
    assert_eq!(tokens["token_type"], "Bearer");
    assert!(tokens.get("id_token").is_none(), "{tokens}");
    assert!(tokens.get("refresh_token").is_none(), "{tokens}");
    let claims = jwt_part(tokens["access_token"].as_str().unwrap(), 1);
    assert_eq!(claims["sub"], service.id.as_str());
    assert_eq!(claims["client_id"], service.id.as_str());
}

/// Stored directly: registration refuses this combination.
async fn a_public_client_cannot_use_client_credentials(backend: Backend) {
    let app = spawn_app(backend).await;
    let public = app
        .client(
            AuthMethod::None,
            &["authorization_code", "client_credentials"],
        )
        .await;
    assert_oauth_error(
        public.post("/token", CLIENT_CREDENTIALS).await,
        StatusCode::BAD_REQUEST,
        "unauthorized_client",
    )
    .await;
}

async fn a_client_without_the_grant_cannot_use_client_credentials(backend: Backend) {
    let app = spawn_app(backend).await;
    let web_app = app
        .client(AuthMethod::ClientSecretBasic, CODE_AND_REFRESH)
        .await;
    assert_oauth_error(
        web_app.post("/token", CLIENT_CREDENTIALS).await,
        StatusCode::BAD_REQUEST,
        "unauthorized_client",
    )
    .await;
}

async fn the_password_grant_is_unsupported(backend: Backend) {
    let app = spawn_app(backend).await;
    let service = app
        .client(AuthMethod::ClientSecretBasic, &["client_credentials"])
        .await;
    let password_grant = [
        ("grant_type", "password"),
        ("username", "marco@ek88.nl"),
        ("password", STRONG),
    ];
    assert_oauth_error(
        service.post("/token", &password_grant).await,
        StatusCode::BAD_REQUEST,
        "unsupported_grant_type",
    )
    .await;
}

// 12. Introspection (RFC 7662) and revocation (RFC 7009).
/// A client (client_secret_post) holding an access and a refresh token for Marco.
async fn a_client_with_tokens(backend: Backend) -> (TestApp, RelyingParty, Value) {
    let app = spawn_app(backend).await;
    let SignedIn { rp, tokens, .. } = app.signed_in().await;
    (app, rp, tokens)
}

fn subject(tokens: &Value) -> Value {
    jwt_part(tokens["id_token"].as_str().unwrap(), 1)["sub"].clone()
}

async fn introspection_describes_a_live_access_token(backend: Backend) {
    let (_app, rp, tokens) = a_client_with_tokens(backend).await;
    let answer = rp
        .introspect(tokens["access_token"].as_str().unwrap())
        .await;
    assert_eq!(answer["active"], true, "{answer}");
    assert_eq!(answer["sub"], subject(&tokens));
    assert_eq!(answer["client_id"], rp.id.as_str());
    assert_eq!(answer["scope"], "openid email offline_access");
}

async fn introspection_without_client_authentication_is_invalid_client(backend: Backend) {
    let (_app, rp, tokens) = a_client_with_tokens(backend).await;
    let access = tokens["access_token"].as_str().unwrap();
    let response = rp
        .post_as(ClientAuth::Nothing, "/introspect", &[("token", access)])
        .await;
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
}

async fn introspection_with_a_wrong_secret_is_invalid_client(backend: Backend) {
    let (_app, rp, tokens) = a_client_with_tokens(backend).await;
    let access = tokens["access_token"].as_str().unwrap();
    let wrong = rp.posing_as(&rp.id, Some("wrong"));
    let response = wrong.post("/introspect", &[("token", access)]).await;
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
}

async fn introspection_of_something_that_is_no_token_says_inactive(backend: Backend) {
    let app = spawn_app(backend).await;
    let rp = app.client(AuthMethod::ClientSecretPost, CODE).await;
    let garbage = rp.introspect("not-a-token-at-all").await;
    assert_eq!(garbage, serde_json::json!({ "active": false }));
}

async fn a_revoked_access_token_is_inactive_and_refused_at_userinfo(backend: Backend) {
    let (_app, rp, tokens) = a_client_with_tokens(backend).await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(rp.revoke(&[("token", access)]).await, StatusCode::OK);
    let answer = rp.introspect(access).await;
    assert_eq!(answer, serde_json::json!({ "active": false }));
    assert_eq!(rp.userinfo(access).await.status(), StatusCode::UNAUTHORIZED);
}

async fn introspection_describes_a_live_refresh_token(backend: Backend) {
    let (_app, rp, tokens) = a_client_with_tokens(backend).await;
    let answer = rp
        .introspect(tokens["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(answer["active"], true, "{answer}");
    assert_eq!(answer["client_id"], rp.id.as_str());
    assert_eq!(answer["sub"], subject(&tokens));
}

async fn a_revoked_refresh_token_is_refused_and_inactive(backend: Backend) {
    let (_app, rp, tokens) = a_client_with_tokens(backend).await;
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let hint = ("token_type_hint", "refresh_token");
    assert_eq!(rp.revoke(&[("token", refresh), hint]).await, StatusCode::OK);
    assert_invalid_grant(rp.refresh(&tokens).await);
    let answer = rp.introspect(refresh).await;
    assert_eq!(answer, serde_json::json!({ "active": false }));
}

// 13. RP-initiated logout.
/// A browser logged in for a client (client_secret_post), and the ID token it got.
async fn a_browser_with_an_id_token(backend: Backend) -> (TestApp, RelyingParty, Browser, String) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let rp = app.client(AuthMethod::ClientSecretPost, CODE).await;
    let browser = app.browser();
    let tokens = rp.sign_in(&browser, &person, "openid").await;
    let id_token = tokens["id_token"].as_str().unwrap().to_owned();
    (app, rp, browser, id_token)
}

/// A bare link, without a hint: the person confirms first; the session lives on.
async fn a_logout_link_without_a_hint_asks_for_confirmation(backend: Backend) {
    let (app, rp, browser, _) = a_browser_with_an_id_token(backend).await;
    let response = browser.get(&app.url("/logout", &[])).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    let action = attr(&html, "form", "action");
    assert_eq!(action.as_deref(), Some("/logout"), "a confirmation form");
    assert!(attr(&html, "form input[name=csrf_token]", "value").is_some());
    let callback = browser.authorize_silently(&rp).await;
    assert!(
        query_param(&callback, "code").is_some(),
        "still logged in: {callback}"
    );
}

/// A page, no redirect, and no logout.
async fn an_unregistered_post_logout_redirect_uri_gets_a_page(backend: Backend) {
    let (app, rp, browser, id_token) = a_browser_with_an_id_token(backend).await;
    let response = browser
        .get(&app.url(
            "/logout",
            &[
                ("id_token_hint", &id_token),
                ("post_logout_redirect_uri", "https://evil.example/bye"),
                ("state", "xyz"),
            ],
        ))
        .await;
    assert_error_page(response, "unregistered post_logout_redirect_uri").await;
    let callback = browser.authorize_silently(&rp).await;
    assert!(
        query_param(&callback, "code").is_some(),
        "still logged in: {callback}"
    );
}

async fn a_post_logout_redirect_uri_with_a_query_gets_a_page(backend: Backend) {
    let (app, _rp, browser, id_token) = a_browser_with_an_id_token(backend).await;
    let response = browser
        .get(&app.url(
            "/logout",
            &[
                ("id_token_hint", &id_token),
                ("post_logout_redirect_uri", "https://portal.example/bye?x=1"),
            ],
        ))
        .await;
    assert_error_page(response, "post_logout_redirect_uri with a query").await;
}

/// With the hint: logged out at once, back to the client with state.
async fn a_logout_with_the_hint_ends_the_session_and_returns_to_the_client(backend: Backend) {
    let (app, rp, browser, id_token) = a_browser_with_an_id_token(backend).await;
    let response = browser
        .get(&app.url(
            "/logout",
            &[
                ("id_token_hint", &id_token),
                ("post_logout_redirect_uri", BYE),
                ("state", "xyz"),
            ],
        ))
        .await;
    assert!(response.status().is_redirection(), "{}", response.status());
    assert_eq!(location(&response), format!("{BYE}?state=xyz"));
    let callback = browser.authorize_silently(&rp).await;
    assert_eq!(
        query_param(&callback, "error").as_deref(),
        Some("login_required"),
        "{callback}"
    );
    assert_eq!(query_param(&callback, "state").as_deref(), Some("st-1"));
    assert_eq!(
        query_param(&callback, "iss").as_deref(),
        Some(app.address.as_str())
    );
}

// 14b. A relying party that is down when the session ends still gets its notice later.
async fn a_back_channel_notice_waits_for_a_relying_party_that_is_down(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let rp = app
        .backchannel_client(format!("http://127.0.0.1:{port}/bc"))
        .await;
    let browser = app.browser();
    let tokens = rp.sign_in(&browser, &person, "openid").await;
    let id_token = tokens["id_token"].as_str().unwrap().to_owned();
    let response = browser
        .get(&app.url(
            "/logout",
            &[
                ("id_token_hint", &id_token),
                ("post_logout_redirect_uri", BYE),
            ],
        ))
        .await;
    assert!(location(&response).starts_with(BYE));

    // The first delivery fails; the notice stays queued.
    let notices = notices_once(&app, |notices| notices.iter().any(|n| n.attempts > 0)).await;
    let notice = notices.into_iter().find(|n| n.attempts > 0).unwrap();
    assert!(notice.delivered_at.is_none() && notice.last_error.is_some());

    // The relying party comes up; at the next retry the notice arrives, once.
    let (_, mut received) = backchannel_receiver_on(port).await;
    app.clock.advance(60);
    app.state.backchannel_wake.notify_one();
    let delivery = tokio::time::timeout(Duration::from_secs(5), received.recv())
        .await
        .expect("delivered after the relying party came back")
        .unwrap();
    assert!(delivery.body.starts_with("logout_token="));
    let delivered = |notices: &[LogoutNotice]| {
        notices
            .iter()
            .any(|n| n.id == notice.id && n.delivered_at.is_some())
    };
    notices_once(&app, delivered).await;
    // Delivered, it is due no more: a worker of our own finds nothing left to send.
    let worker = idp::oidc::backchannel::worker(&app.state).unwrap();
    assert_eq!(worker.drain().await.unwrap(), 0, "nothing is due");
    assert!(received.try_recv().is_err(), "delivered once");
}

// 14. Back-channel logout: a signed logout token to the client that registered a URI.
async fn back_channel_logout_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let (receiver_url, mut received) = backchannel_receiver().await;
    let rp = app.backchannel_client(receiver_url).await;

    let browser = app.browser();
    let tokens = rp.sign_in(&browser, &person, "openid").await;
    let id_token = tokens["id_token"].as_str().unwrap().to_owned();
    let id_claims = jwt_part(&id_token, 1);
    let response = browser
        .get(&app.url(
            "/logout",
            &[
                ("id_token_hint", &id_token),
                ("post_logout_redirect_uri", BYE),
                ("state", "xyz"),
            ],
        ))
        .await;
    assert_eq!(location(&response), format!("{BYE}?state=xyz"));

    let delivery = tokio::time::timeout(Duration::from_secs(5), received.recv())
        .await
        .expect("a back-channel logout POST within 5 s")
        .unwrap();
    assert!(
        delivery.request_line.starts_with("POST /bc "),
        "{}",
        delivery.request_line
    );
    assert!(
        delivery
            .head
            .to_ascii_lowercase()
            .contains("content-type: application/x-www-form-urlencoded"),
        "{}",
        delivery.head
    );
    let logout_token = url::form_urlencoded::parse(delivery.body.as_bytes())
        .find(|(k, _)| k == "logout_token")
        .map(|(_, v)| v.into_owned())
        .expect("a logout_token form field");

    let header = jsonwebtoken::decode_header(&logout_token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("logout+jwt"));
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    let kid = header.kid.expect("a kid");

    // Verified with the published JWKS, as a relying party would.
    let jwks: jsonwebtoken::jwk::JwkSet = app.browser().get("/jwks").await.json().await.unwrap();
    let jwk = jwks.find(&kid).expect("the signing key is published");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.validate_aud = false;
    validation.validate_exp = false; // the app's clock runs ahead of the system clock
    validation.set_required_spec_claims(&["iss", "sub", "aud"]);
    validation.set_issuer(&[app.address.as_str()]);
    let claims: Value = jsonwebtoken::decode(&logout_token, &key, &validation)
        .expect("a valid signature")
        .claims;
    let checked: Value = app
        .state
        .keys
        .verify(&logout_token, &validation)
        .expect("verified by the IdP's keys too");
    assert_eq!(claims, checked);

    assert_eq!(claims["iss"], app.address.as_str());
    assert_eq!(claims["aud"], rp.id.as_str());
    assert_eq!(claims["sub"], id_claims["sub"]);
    assert!(claims["sid"].is_string());
    assert_eq!(claims["sid"], id_claims["sid"]);
    assert!(claims["iat"].is_i64());
    assert!(claims["jti"].is_string());
    assert!(claims.get("nonce").is_none(), "§2.4: no nonce");
    assert!(
        claims["events"]
            .get("http://schemas.openid.net/event/backchannel-logout")
            .is_some(),
        "{claims}"
    );
}

// 15. Discovery and the JWKS.
async fn registration_is_not_advertised_when_it_is_off(backend: Backend) {
    let closed = spawn_app(backend).await;
    let metadata: Value = closed
        .browser()
        .get("/.well-known/openid-configuration")
        .await
        .json()
        .await
        .unwrap();
    assert!(metadata.get("registration_endpoint").is_none());
}

async fn discovery_names_every_endpoint_and_what_is_supported(backend: Backend) {
    let app = spawn_app_with(backend, with_registration()).await;
    let response = app.browser().get("/.well-known/openid-configuration").await;
    assert_eq!(response.status(), StatusCode::OK);
    let metadata: Value = response.json().await.unwrap();
    assert_eq!(metadata["issuer"], app.address.as_str());
    for (field, path) in [
        ("authorization_endpoint", "/authorize"),
        ("token_endpoint", "/token"),
        ("userinfo_endpoint", "/userinfo"),
        ("jwks_uri", "/jwks"),
        ("registration_endpoint", "/register"),
        ("revocation_endpoint", "/revoke"),
        ("introspection_endpoint", "/introspect"),
        ("end_session_endpoint", "/logout"),
    ] {
        let url = metadata[field]
            .as_str()
            .unwrap_or_else(|| panic!("{field} is missing"));
        assert!(url.starts_with(&app.address), "{field}: {url}");
        assert_eq!(url, format!("{}{path}", app.address), "{field}");
    }
    assert_eq!(
        metadata["response_types_supported"],
        serde_json::json!(["code"])
    );
    assert_eq!(
        metadata["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(
        metadata["authorization_response_iss_parameter_supported"],
        true
    );
    assert!(
        metadata["id_token_signing_alg_values_supported"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("RS256"))
    );
    assert_eq!(metadata["backchannel_logout_supported"], true);
}

async fn the_jwks_publishes_public_rsa_signing_keys(backend: Backend) {
    let app = spawn_app(backend).await;
    let jwks: Value = app.browser().get("/jwks").await.json().await.unwrap();
    let keys = jwks["keys"].as_array().expect("keys");
    let rsa: Vec<&Value> = keys.iter().filter(|k| k["kty"] == "RSA").collect();
    assert!(!rsa.is_empty(), "{jwks}");
    for key in rsa {
        assert!(key["kid"].as_str().is_some_and(|k| !k.is_empty()), "{key}");
        assert_eq!(key["alg"], "RS256", "{key}");
        assert_eq!(key["use"], "sig", "{key}");
        assert!(key["n"].is_string() && key["e"].is_string(), "{key}");
        assert!(key.get("d").is_none(), "no private parts: {key}");
    }
}

both_backends!(
    an_unknown_client_gets_a_page,
    an_unregistered_redirect_uri_gets_a_page,
    a_request_without_a_redirect_uri_gets_a_page,
    implicit_and_hybrid_response_types_are_refused,
    a_public_client_without_pkce_is_refused,
    the_plain_pkce_method_is_refused,
    a_public_client_with_s256_goes_on_to_the_login,
    a_wrong_code_verifier_is_invalid_grant,
    a_missing_code_verifier_is_invalid_grant,
    the_right_code_verifier_gets_the_tokens,
    a_wrong_secret_over_basic_is_invalid_client_with_a_challenge,
    a_basic_clients_secret_in_the_body_is_invalid_client,
    an_unknown_client_over_basic_is_invalid_client_with_a_challenge,
    a_confidential_client_cannot_pass_itself_off_as_public,
    with_the_right_secret_the_client_gets_as_far_as_the_code,
    a_code_expires_after_60_seconds,
    a_code_is_bound_to_its_redirect_uri,
    a_code_is_bound_to_its_client,
    unknown_scopes_are_ignored,
    a_request_without_openid_is_invalid_scope,
    a_one_time_code_cannot_be_replayed,
    a_wrong_password_and_an_unknown_address_look_the_same,
    prompt_none_without_a_session_is_login_required,
    prompt_none_with_a_session_answers_with_a_code,
    max_age_0_asks_for_a_fresh_login,
    a_login_within_max_age_is_accepted,
    a_login_older_than_max_age_must_be_repeated,
    prompt_none_with_a_login_older_than_max_age_is_login_required,
    a_confidential_service_client_gets_an_access_token_for_itself,
    a_public_client_cannot_use_client_credentials,
    a_client_without_the_grant_cannot_use_client_credentials,
    the_password_grant_is_unsupported,
    introspection_describes_a_live_access_token,
    introspection_without_client_authentication_is_invalid_client,
    introspection_with_a_wrong_secret_is_invalid_client,
    introspection_of_something_that_is_no_token_says_inactive,
    a_revoked_access_token_is_inactive_and_refused_at_userinfo,
    introspection_describes_a_live_refresh_token,
    a_revoked_refresh_token_is_refused_and_inactive,
    a_logout_link_without_a_hint_asks_for_confirmation,
    an_unregistered_post_logout_redirect_uri_gets_a_page,
    a_post_logout_redirect_uri_with_a_query_gets_a_page,
    a_logout_with_the_hint_ends_the_session_and_returns_to_the_client,
    a_back_channel_notice_waits_for_a_relying_party_that_is_down,
    back_channel_logout_token,
    registration_is_not_advertised_when_it_is_off,
    discovery_names_every_endpoint_and_what_is_supported,
    the_jwks_publishes_public_rsa_signing_keys,
);
