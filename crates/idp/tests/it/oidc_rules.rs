//! The protocol rules of DESIGN.md ("Standards", "Security rules"), one test per rule, as a
//! client or a person sees them over HTTP: status codes, the JSON `error`, the `Location` and
//! its query, and the text of the pages.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use idp::clock::Clock;
use idp::domain::RedirectUri;
use idp::domain::totp::step_at;
use idp::oidc::client::{AuthMethod, NewClient};
use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::both_backends;
use crate::helpers::*;
use crate::oidc::{
    Person, REDIRECT, TestClient, authorize_url, create_client, location, log_in, onboarded_person,
    query_param,
};
use crate::onboarding::STRONG;

const BYE: &str = "https://portal.example/bye";
const VERIFIER: &str = "a-very-long-code-verifier-of-at-least-43-characters-123456";
const CODE_GRANTS: &[&str] = &["authorization_code"];
const ALL_USER_GRANTS: &[&str] = &["authorization_code", "refresh_token"];

fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(<sha2::Sha256 as sha2::Digest>::digest(verifier.as_bytes()))
}

/// /authorize with exactly these parameters.
fn authorize_with(app: &TestApp, params: &[(&str, &str)]) -> String {
    let mut url = url::Url::parse(&format!("{}/authorize", app.address)).unwrap();
    for (k, v) in params {
        url.query_pairs_mut().append_pair(k, v);
    }
    url.to_string()
}

fn decode_segment(jwt: &str, index: usize) -> Value {
    let segment = jwt.split('.').nth(index).expect("a JWT segment");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
}

/// How a request to the token, revocation or introspection endpoint authenticates the client.
#[derive(Clone, Copy)]
enum Cred<'a> {
    Basic(&'a TestClient),
    Post(&'a TestClient),
    /// A public client: client_id only.
    Public(&'a TestClient),
    Nothing,
}

async fn post_protocol(
    app: &TestApp,
    path: &str,
    cred: Cred<'_>,
    params: &[(&str, &str)],
) -> reqwest::Response {
    let mut form: Vec<(&str, &str)> = params.to_vec();
    let mut request = http().post(format!("{}{path}", app.address));
    match cred {
        Cred::Basic(c) => request = request.basic_auth(&c.id, c.secret.as_ref()),
        Cred::Post(c) => {
            form.push(("client_id", c.id.as_str()));
            form.push(("client_secret", c.secret.as_deref().unwrap()));
        }
        Cred::Public(c) => form.push(("client_id", c.id.as_str())),
        Cred::Nothing => {}
    }
    request.form(&form).send().await.unwrap()
}

/// The status and JSON body of a protocol response.
async fn json_of(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let body = response.text().await.unwrap();
    let json = serde_json::from_str(&body)
        .unwrap_or_else(|e| panic!("not JSON ({e}), status {status}: {body}"));
    (status, json)
}

async fn assert_oauth_error(response: reqwest::Response, status: StatusCode, error: &str) {
    let (got_status, json) = json_of(response).await;
    assert_eq!(got_status, status, "{json}");
    assert_eq!(json["error"], error, "{json}");
}

/// Logs `person` in through `url` in a fresh browser; returns the code sent to the client.
async fn code_for(app: &TestApp, url: &str, person: &Person) -> String {
    let callback = log_in(app, &browser(), url, person).await;
    assert!(callback.starts_with(REDIRECT), "{callback}");
    query_param(&callback, "code").expect("a code")
}

/// A code bound to the PKCE challenge of [`VERIFIER`].
async fn pkce_code(app: &TestApp, rp: &TestClient, person: &Person, scope: &str) -> String {
    let challenge = s256(VERIFIER);
    let url = authorize_url(
        app,
        rp,
        scope,
        &[
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    code_for(app, &url, person).await
}

async fn redeem(
    app: &TestApp,
    cred: Cred<'_>,
    code: &str,
    redirect_uri: &str,
    verifier: Option<&str>,
) -> reqwest::Response {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
    ];
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    post_protocol(app, "/token", cred, &form).await
}

/// Logs in through `browser` (kept, with its session) and exchanges the code.
async fn tokens_in(
    app: &TestApp,
    browser: &reqwest::Client,
    rp: &TestClient,
    person: &Person,
    scope: &str,
) -> Value {
    let challenge = s256(VERIFIER);
    let url = authorize_url(
        app,
        rp,
        scope,
        &[
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("nonce", "n-1"),
        ],
    );
    let callback = log_in(app, browser, &url, person).await;
    let code = query_param(&callback, "code").expect("a code");
    let (status, tokens) =
        json_of(redeem(app, Cred::Post(rp), &code, REDIRECT, Some(VERIFIER)).await).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    tokens
}

/// A 400 page: HTML, no redirect anywhere.
async fn assert_error_page(response: reqwest::Response, what: &str) -> String {
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{what}");
    assert!(
        response.headers().get("location").is_none(),
        "{what}: no redirect"
    );
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("text/html"),
        "{what}: {content_type}"
    );
    response.text().await.unwrap()
}

/// A 302 back to the client with `error`, the request's `state` and `iss` (RFC 9207).
fn assert_error_redirect(app: &TestApp, response: &reqwest::Response, error: &str, state: &str) {
    assert_eq!(response.status(), StatusCode::FOUND, "{error}");
    let location = location(response);
    assert!(location.starts_with(&format!("{REDIRECT}?")), "{location}");
    assert_eq!(
        query_param(&location, "error").as_deref(),
        Some(error),
        "{location}"
    );
    assert_eq!(query_param(&location, "state").as_deref(), Some(state));
    assert_eq!(
        query_param(&location, "iss").as_deref(),
        Some(app.address.as_str())
    );
    assert!(query_param(&location, "code").is_none());
}

// 1. The client and its redirect URI are checked before anything is redirected.
async fn unknown_clients_and_unregistered_redirect_uris_get_a_page(backend: Backend) {
    let app = spawn_app(backend).await;
    let rp = create_client(&app, AuthMethod::ClientSecretBasic, CODE_GRANTS).await;
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
    let response = app.get_absolute(&authorize_with(&app, &unknown)).await;
    let html = assert_error_page(response, "unknown client").await;
    assert!(
        html.contains("Ongeldige inlogaanvraag"),
        "the page says what went wrong: {html}"
    );

    for redirect in [
        "https://portal.example/other",
        "https://portal.example/callback?next=/admin",
        "https://portal.example/callback/",
        "https://evil.example/callback",
        "http://portal.example/callback",
    ] {
        let url = authorize_with(
            &app,
            &[
                ("response_type", "code"),
                ("client_id", rp.id.as_str()),
                ("redirect_uri", redirect),
                ("scope", "openid"),
                ("state", "st-1"),
            ],
        );
        let response = app.get_absolute(&url).await;
        let html = assert_error_page(response, redirect).await;
        assert!(!html.contains(redirect), "{redirect} is not linked to");
    }
    // Without any redirect_uri: also a page.
    let url = authorize_with(
        &app,
        &[
            ("response_type", "code"),
            ("client_id", rp.id.as_str()),
            ("scope", "openid"),
        ],
    );
    assert_error_page(app.get_absolute(&url).await, "missing redirect_uri").await;
}

// 2. Only the code flow: implicit and hybrid response types are refused at the client.
async fn implicit_and_hybrid_response_types_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let rp = create_client(&app, AuthMethod::ClientSecretBasic, CODE_GRANTS).await;
    for response_type in ["token", "code id_token", "id_token", "code token"] {
        let url = authorize_with(
            &app,
            &[
                ("response_type", response_type),
                ("client_id", rp.id.as_str()),
                ("redirect_uri", REDIRECT),
                ("scope", "openid"),
                ("state", "st-rt"),
                ("nonce", "n-1"),
            ],
        );
        let response = app.get_absolute(&url).await;
        assert_error_redirect(&app, &response, "unsupported_response_type", "st-rt");
        assert!(
            !location(&response).contains('#'),
            "{response_type}: nothing in a fragment"
        );
    }
}

// 3. PKCE is required for public clients, and only S256.
async fn public_clients_must_use_pkce_with_s256(backend: Backend) {
    let app = spawn_app(backend).await;
    let public = create_client(&app, AuthMethod::None, CODE_GRANTS).await;
    let confidential = create_client(&app, AuthMethod::ClientSecretBasic, CODE_GRANTS).await;

    let response = app
        .get_absolute(&authorize_url(&app, &public, "openid", &[]))
        .await;
    assert_error_redirect(&app, &response, "invalid_request", "st-1");

    for rp in [&public, &confidential] {
        let response = app
            .get_absolute(&authorize_url(
                &app,
                rp,
                "openid",
                &[
                    ("code_challenge", VERIFIER),
                    ("code_challenge_method", "plain"),
                ],
            ))
            .await;
        assert_error_redirect(&app, &response, "invalid_request", "st-1");
    }

    // With S256 the public client goes on to the login page.
    let challenge = s256(VERIFIER);
    let response = app
        .get_absolute(&authorize_url(
            &app,
            &public,
            "openid",
            &[
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        ))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).starts_with("/login"));
}

// 4. The code is bound to the PKCE challenge.
async fn the_code_verifier_must_match_the_challenge(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let rp = create_client(&app, AuthMethod::None, CODE_GRANTS).await;

    let code = pkce_code(&app, &rp, &person, "openid").await;
    let wrong = "another-code-verifier-that-is-long-enough-0000000000000";
    assert_oauth_error(
        redeem(&app, Cred::Public(&rp), &code, REDIRECT, Some(wrong)).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;

    let code = pkce_code(&app, &rp, &person, "openid").await;
    assert_oauth_error(
        redeem(&app, Cred::Public(&rp), &code, REDIRECT, None).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;

    // The right verifier works (on a fresh code).
    let code = pkce_code(&app, &rp, &person, "openid").await;
    let (status, tokens) =
        json_of(redeem(&app, Cred::Public(&rp), &code, REDIRECT, Some(VERIFIER)).await).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert!(tokens["id_token"].is_string());
}

// 5. Client authentication at the token endpoint.
async fn client_authentication_failures_are_invalid_client(backend: Backend) {
    let app = spawn_app(backend).await;
    let basic = create_client(&app, AuthMethod::ClientSecretBasic, CODE_GRANTS).await;
    let params = [
        ("grant_type", "authorization_code"),
        ("code", "whatever"),
        ("redirect_uri", REDIRECT),
    ];

    let wrong = TestClient {
        id: basic.id.clone(),
        secret: Some("not-the-secret".into()),
    };
    let response = post_protocol(&app, "/token", Cred::Basic(&wrong), &params).await;
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .expect("a WWW-Authenticate header after failed Basic authentication");
    assert!(challenge.starts_with("Basic"), "{challenge}");
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;

    // The right secret, but in the body: not the method this client registered.
    let response = post_protocol(&app, "/token", Cred::Post(&basic), &params).await;
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;

    // An unknown client over Basic.
    let unknown = TestClient {
        id: "no-such-client".into(),
        secret: Some("x".into()),
    };
    let response = post_protocol(&app, "/token", Cred::Basic(&unknown), &params).await;
    assert!(response.headers().contains_key("www-authenticate"));
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;

    // A confidential client cannot pass itself off as public.
    let response = post_protocol(&app, "/token", Cred::Public(&basic), &params).await;
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;

    // With the right secret the client gets as far as the (unknown) code.
    let response = post_protocol(&app, "/token", Cred::Basic(&basic), &params).await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

// 6. The code expires after 60 s, and is bound to the redirect URI and the client.
async fn codes_expire_and_are_bound_to_redirect_uri_and_client(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let a = create_client(&app, AuthMethod::ClientSecretPost, CODE_GRANTS).await;
    let b = create_client(&app, AuthMethod::ClientSecretPost, CODE_GRANTS).await;

    let code = pkce_code(&app, &a, &person, "openid").await;
    app.clock.advance(61);
    assert_oauth_error(
        redeem(&app, Cred::Post(&a), &code, REDIRECT, Some(VERIFIER)).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;

    let code = pkce_code(&app, &a, &person, "openid").await;
    assert_oauth_error(
        redeem(
            &app,
            Cred::Post(&a),
            &code,
            "https://portal.example/other",
            Some(VERIFIER),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;

    let code = pkce_code(&app, &a, &person, "openid").await;
    assert_oauth_error(
        redeem(&app, Cred::Post(&b), &code, REDIRECT, Some(VERIFIER)).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
}

// 7. Unknown scope values are ignored (never granted); openid is required.
async fn unknown_scopes_are_ignored_and_openid_is_required(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let rp = create_client(&app, AuthMethod::ClientSecretPost, CODE_GRANTS).await;

    let code = pkce_code(&app, &rp, &person, "openid email foo:bar").await;
    let (status, tokens) =
        json_of(redeem(&app, Cred::Post(&rp), &code, REDIRECT, Some(VERIFIER)).await).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["scope"], "openid email");
    let access = decode_segment(tokens["access_token"].as_str().unwrap(), 1);
    assert_eq!(access["scope"], "openid email");

    let challenge = s256(VERIFIER);
    let response = app
        .get_absolute(&authorize_url(
            &app,
            &rp,
            "email profile",
            &[
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        ))
        .await;
    assert_error_redirect(&app, &response, "invalid_scope", "st-1");
}

/// /authorize → /login → the code page, in `browser`; returns the code page.
async fn to_code_page(
    app: &TestApp,
    browser: &reqwest::Client,
    rp: &TestClient,
    person: &Person,
) -> String {
    let challenge = s256(VERIFIER);
    let url = authorize_url(
        app,
        rp,
        "openid",
        &[
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let response = browser.get(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let login = location(&response);
    assert!(login.starts_with("/login"), "{login}");
    let page = browser
        .get(format!("{}{login}", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let response = browser
        .post(format!("{}/login", app.address))
        .form(&[
            ("csrf_token", csrf_token(&page).as_str()),
            ("email", person.email.as_str()),
            ("password", STRONG),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/login/otp");
    browser
        .get(format!("{}/login/otp", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn submit_code(
    app: &TestApp,
    browser: &reqwest::Client,
    page: &str,
    code: &str,
) -> reqwest::Response {
    browser
        .post(format!("{}/login/otp", app.address))
        .form(&[
            ("csrf_token", csrf_token(page).as_str()),
            ("otp_code", code),
        ])
        .send()
        .await
        .unwrap()
}

// 8. A one-time code is accepted once.
async fn a_one_time_code_cannot_be_replayed(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let rp = create_client(&app, AuthMethod::ClientSecretBasic, CODE_GRANTS).await;

    let first = browser();
    let page = to_code_page(&app, &first, &rp, &person).await;
    app.clock.advance(30);
    let code = person.secret.code_at(step_at(app.clock.now()));
    let response = submit_code(&app, &first, &page, &code).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).starts_with(REDIRECT));

    // Someone who saw the code uses it again, with the right password, in another browser.
    let second = browser();
    let page = to_code_page(&app, &second, &rp, &person).await;
    let response = submit_code(&app, &second, &page, &code).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.headers().get("location").is_none());
    let html = response.text().await.unwrap();
    let alert = text_of(&html, "[role=alert]").join(" ");
    assert!(alert.contains("Ongeldige authenticatiecode"), "{alert}");
    assert_eq!(
        attr(&html, "#otp_code", "aria-invalid").as_deref(),
        Some("true")
    );
    assert!(control_labelled(&html, "Authenticatiecode").is_some());

    // The second browser is not logged in.
    let challenge = s256(VERIFIER);
    let response = second
        .get(authorize_url(
            &app,
            &rp,
            "openid",
            &[
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
                ("prompt", "none"),
            ],
        ))
        .send()
        .await
        .unwrap();
    assert_error_redirect(&app, &response, "login_required", "st-1");
}

struct LoginAttempt {
    status: StatusCode,
    alert: Vec<String>,
    normalised: String,
    session_cookie: bool,
}

async fn failed_login(app: &TestApp, email: &str, password: &str) -> LoginAttempt {
    let browser = browser();
    let page = browser
        .get(format!("{}/login", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let response = browser
        .post(format!("{}/login", app.address))
        .form(&[
            ("csrf_token", csrf_token(&page).as_str()),
            ("email", email),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    let status = response.status();
    let cookie_name = format!("{}=", app.state.settings.session.cookie_name);
    let session_cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|c| c.to_str().unwrap().starts_with(&cookie_name));
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
async fn prompt_none_and_max_age(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let rp = create_client(&app, AuthMethod::ClientSecretBasic, CODE_GRANTS).await;
    let challenge = s256(VERIFIER);
    let url = |extra: &[(&str, &str)]| {
        let mut params = vec![
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        params.extend_from_slice(extra);
        authorize_url(&app, &rp, "openid", &params)
    };

    let browser = browser();
    let response = browser
        .get(url(&[("prompt", "none")]))
        .send()
        .await
        .unwrap();
    assert_error_redirect(&app, &response, "login_required", "st-1");

    let callback = log_in(&app, &browser, &url(&[]), &person).await;
    assert!(callback.starts_with(REDIRECT));

    let response = browser
        .get(url(&[("prompt", "none")]))
        .send()
        .await
        .unwrap();
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

    // max_age=0 asks for a fresh login (OIDC Core §3.1.2.1: equivalent to prompt=login).
    let response = browser.get(url(&[("max_age", "0")])).send().await.unwrap();
    assert!(
        location(&response).starts_with("/login"),
        "max_age=0 → {}",
        location(&response)
    );

    // A login that is older than max_age must be repeated.
    app.clock.advance(120);
    let response = browser
        .get(url(&[("max_age", "3600")]))
        .send()
        .await
        .unwrap();
    assert!(location(&response).starts_with(REDIRECT), "recent enough");
    let response = browser.get(url(&[("max_age", "60")])).send().await.unwrap();
    let next = location(&response);
    assert!(
        next.starts_with("/login"),
        "max_age=60 after 120 s → {next}"
    );
    assert!(!next.starts_with(REDIRECT));
    let response = browser
        .get(url(&[("max_age", "60"), ("prompt", "none")]))
        .send()
        .await
        .unwrap();
    assert_error_redirect(&app, &response, "login_required", "st-1");
}

// 11. client_credentials, for confidential service clients only; other grants refused.
async fn client_credentials_only_for_confidential_clients_with_the_grant(backend: Backend) {
    let app = spawn_app(backend).await;
    let service = create_client(&app, AuthMethod::ClientSecretBasic, &["client_credentials"]).await;
    let (status, tokens) = json_of(
        post_protocol(
            &app,
            "/token",
            Cred::Basic(&service),
            &[("grant_type", "client_credentials")],
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert!(tokens["access_token"].is_string());
    assert_eq!(tokens["token_type"], "Bearer");
    assert!(tokens.get("id_token").is_none(), "{tokens}");
    assert!(tokens.get("refresh_token").is_none(), "{tokens}");
    let claims = decode_segment(tokens["access_token"].as_str().unwrap(), 1);
    assert_eq!(claims["sub"], service.id.as_str());
    assert_eq!(claims["client_id"], service.id.as_str());

    // A public client (stored directly: registration refuses this combination).
    let public = create_client(
        &app,
        AuthMethod::None,
        &["authorization_code", "client_credentials"],
    )
    .await;
    assert_oauth_error(
        post_protocol(
            &app,
            "/token",
            Cred::Public(&public),
            &[("grant_type", "client_credentials")],
        )
        .await,
        StatusCode::BAD_REQUEST,
        "unauthorized_client",
    )
    .await;

    let web_app = create_client(&app, AuthMethod::ClientSecretBasic, ALL_USER_GRANTS).await;
    assert_oauth_error(
        post_protocol(
            &app,
            "/token",
            Cred::Basic(&web_app),
            &[("grant_type", "client_credentials")],
        )
        .await,
        StatusCode::BAD_REQUEST,
        "unauthorized_client",
    )
    .await;

    assert_oauth_error(
        post_protocol(
            &app,
            "/token",
            Cred::Basic(&service),
            &[
                ("grant_type", "password"),
                ("username", "marco@ek88.nl"),
                ("password", STRONG),
            ],
        )
        .await,
        StatusCode::BAD_REQUEST,
        "unsupported_grant_type",
    )
    .await;
}

async fn introspect(app: &TestApp, cred: Cred<'_>, token: &str) -> Value {
    let (status, json) =
        json_of(post_protocol(app, "/introspect", cred, &[("token", token)]).await).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    json
}

// 12. Introspection (RFC 7662) and revocation (RFC 7009).
async fn introspection_and_revocation(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let rp = create_client(&app, AuthMethod::ClientSecretPost, ALL_USER_GRANTS).await;
    let tokens = tokens_in(
        &app,
        &browser(),
        &rp,
        &person,
        "openid email offline_access",
    )
    .await;
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let sub = decode_segment(tokens["id_token"].as_str().unwrap(), 1)["sub"].clone();

    let answer = introspect(&app, Cred::Post(&rp), access).await;
    assert_eq!(answer["active"], true, "{answer}");
    assert_eq!(answer["sub"], sub);
    assert_eq!(answer["client_id"], rp.id.as_str());
    assert_eq!(answer["scope"], "openid email offline_access");

    // Unauthenticated, or with a wrong secret: 401.
    let response = post_protocol(&app, "/introspect", Cred::Nothing, &[("token", access)]).await;
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
    let wrong = TestClient {
        id: rp.id.clone(),
        secret: Some("wrong".into()),
    };
    let response = post_protocol(
        &app,
        "/introspect",
        Cred::Post(&wrong),
        &[("token", access)],
    )
    .await;
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;

    let garbage = introspect(&app, Cred::Post(&rp), "not-a-token-at-all").await;
    assert_eq!(garbage, serde_json::json!({ "active": false }));

    // Revoking the access token.
    let response = post_protocol(&app, "/revoke", Cred::Post(&rp), &[("token", access)]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let answer = introspect(&app, Cred::Post(&rp), access).await;
    assert_eq!(answer, serde_json::json!({ "active": false }));
    let userinfo = http()
        .get(format!("{}/userinfo", app.address))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(userinfo.status(), StatusCode::UNAUTHORIZED);

    // The refresh token.
    let answer = introspect(&app, Cred::Post(&rp), refresh).await;
    assert_eq!(answer["active"], true, "{answer}");
    assert_eq!(answer["client_id"], rp.id.as_str());
    assert_eq!(answer["sub"], sub);
    let response = post_protocol(
        &app,
        "/revoke",
        Cred::Post(&rp),
        &[("token", refresh), ("token_type_hint", "refresh_token")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_oauth_error(
        post_protocol(
            &app,
            "/token",
            Cred::Post(&rp),
            &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
    let answer = introspect(&app, Cred::Post(&rp), refresh).await;
    assert_eq!(answer, serde_json::json!({ "active": false }));
}

fn logout_url(app: &TestApp, params: &[(&str, &str)]) -> String {
    let mut url = url::Url::parse(&format!("{}/logout", app.address)).unwrap();
    for (k, v) in params {
        url.query_pairs_mut().append_pair(k, v);
    }
    url.to_string()
}

async fn prompt_none(app: &TestApp, browser: &reqwest::Client, rp: &TestClient) -> String {
    let challenge = s256(VERIFIER);
    let response = browser
        .get(authorize_url(
            app,
            rp,
            "openid",
            &[
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
                ("prompt", "none"),
            ],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    location(&response)
}

// 13. RP-initiated logout.
async fn rp_initiated_logout(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let rp = create_client(&app, AuthMethod::ClientSecretPost, CODE_GRANTS).await;

    // A bare link, without a hint: the person confirms first; the session lives on.
    let browser = browser();
    let tokens = tokens_in(&app, &browser, &rp, &person, "openid").await;
    let id_token = tokens["id_token"].as_str().unwrap().to_owned();
    let response = browser.get(logout_url(&app, &[])).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    let action = attr(&html, "form", "action");
    assert_eq!(action.as_deref(), Some("/logout"), "a confirmation form");
    assert!(attr(&html, "form input[name=csrf_token]", "value").is_some());
    let callback = prompt_none(&app, &browser, &rp).await;
    assert!(
        query_param(&callback, "code").is_some(),
        "still logged in: {callback}"
    );

    // An unregistered post_logout_redirect_uri: a page, no redirect, and no logout.
    let response = browser
        .get(logout_url(
            &app,
            &[
                ("id_token_hint", &id_token),
                ("post_logout_redirect_uri", "https://evil.example/bye"),
                ("state", "xyz"),
            ],
        ))
        .send()
        .await
        .unwrap();
    assert_error_page(response, "unregistered post_logout_redirect_uri").await;
    let response = browser
        .get(logout_url(
            &app,
            &[
                ("id_token_hint", &id_token),
                ("post_logout_redirect_uri", "https://portal.example/bye?x=1"),
            ],
        ))
        .send()
        .await
        .unwrap();
    assert_error_page(response, "post_logout_redirect_uri with a query").await;

    // With the hint: logged out at once, back to the client with state.
    let response = browser
        .get(logout_url(
            &app,
            &[
                ("id_token_hint", &id_token),
                ("post_logout_redirect_uri", BYE),
                ("state", "xyz"),
            ],
        ))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_redirection(), "{}", response.status());
    assert_eq!(location(&response), format!("{BYE}?state=xyz"));
    let callback = prompt_none(&app, &browser, &rp).await;
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

/// One POST received by the back-channel logout receiver.
#[derive(Debug)]
pub struct Received {
    pub request_line: String,
    pub head: String,
    pub body: String,
}

/// A tiny HTTP/1.1 server on loopback: reads each request, answers 200, passes it on.
pub async fn backchannel_receiver() -> (String, tokio::sync::mpsc::UnboundedReceiver<Received>) {
    backchannel_receiver_on(0).await
}

async fn backchannel_receiver_on(
    port: u16,
) -> (String, tokio::sync::mpsc::UnboundedReceiver<Received>) {
    let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let url = format!("http://{}/bc", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                let mut chunk = [0u8; 4096];
                let head_end = loop {
                    let n = stream.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buffer.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                };
                let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
                let length: usize = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse().ok())
                            .flatten()
                    })
                    .unwrap_or(0);
                while buffer.len() < head_end + length {
                    let n = stream.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buffer.extend_from_slice(&chunk[..n]);
                }
                let end = buffer.len().min(head_end + length);
                let body = String::from_utf8_lossy(&buffer[head_end..end]).into_owned();
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .await;
                let _ = stream.shutdown().await;
                let _ = tx.send(Received {
                    request_line: head.lines().next().unwrap_or_default().to_owned(),
                    head,
                    body,
                });
            });
        }
    });
    (url, rx)
}

/// A client that registered a back-channel logout URI.
pub async fn backchannel_client(app: &TestApp, uri: String) -> TestClient {
    let new = NewClient {
        name: "Werkgeverportaal".into(),
        redirect_uris: vec![RedirectUri::parse(REDIRECT, false).unwrap()],
        post_logout_redirect_uris: vec![RedirectUri::parse(BYE, false).unwrap()],
        backchannel_logout_uri: Some(uri),
        grant_types: vec!["authorization_code".into()],
        auth_method: AuthMethod::ClientSecretPost,
        scope: vec![],
        first_party: true,
        application_type: Default::default(),
        display: Default::default(),
    };
    let now = app.state.now();
    let registered = app
        .state
        .db
        .run(move |c| idp::oidc::client::register(c, new, now))
        .await
        .unwrap();
    TestClient {
        id: registered.client.client_id,
        secret: registered.secret.map(|s| s.expose().to_owned()),
    }
}

// 14b. A relying party that is down when the session ends still gets its notice later.
async fn a_back_channel_notice_waits_for_a_relying_party_that_is_down(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let rp = backchannel_client(&app, format!("http://127.0.0.1:{port}/bc")).await;
    let browser = browser();
    let tokens = tokens_in(&app, &browser, &rp, &person, "openid").await;
    let id_token = tokens["id_token"].as_str().unwrap().to_owned();
    let response = browser
        .get(logout_url(
            &app,
            &[
                ("id_token_hint", &id_token),
                ("post_logout_redirect_uri", BYE),
            ],
        ))
        .send()
        .await
        .unwrap();
    assert!(location(&response).starts_with(BYE));

    // The first delivery fails; the notice stays queued.
    let mut notice = None;
    for _ in 0..100 {
        let list = app
            .state
            .db
            .run(idp::storage::logout_notices::list)
            .await
            .unwrap();
        if let Some(n) = list.into_iter().find(|n| n.attempts > 0) {
            notice = Some(n);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let notice = notice.expect("a failed first attempt");
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
    let mut delivered = false;
    for _ in 0..40 {
        let id = notice.id.clone();
        let stored = app
            .state
            .db
            .run(move |c| idp::storage::logout_notices::find(c, &id))
            .await
            .unwrap()
            .unwrap();
        if stored.delivered_at.is_some() {
            delivered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(delivered, "marked delivered");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(received.try_recv().is_err(), "delivered once");
}

// 14. Back-channel logout: a signed logout token to the client that registered a URI.
async fn back_channel_logout_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let (receiver_url, mut received) = backchannel_receiver().await;
    let rp = backchannel_client(&app, receiver_url).await;

    let browser = browser();
    let tokens = tokens_in(&app, &browser, &rp, &person, "openid").await;
    let id_token = tokens["id_token"].as_str().unwrap().to_owned();
    let id_claims = decode_segment(&id_token, 1);
    let response = browser
        .get(logout_url(
            &app,
            &[
                ("id_token_hint", &id_token),
                ("post_logout_redirect_uri", BYE),
                ("state", "xyz"),
            ],
        ))
        .send()
        .await
        .unwrap();
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
    let jwks: jsonwebtoken::jwk::JwkSet = http()
        .get(format!("{}/jwks", app.address))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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
async fn discovery_and_jwks(backend: Backend) {
    // Registration is advertised only when it is enabled.
    let closed = spawn_app(backend).await;
    let metadata: Value = closed
        .get("/.well-known/openid-configuration")
        .await
        .json()
        .await
        .unwrap();
    assert!(metadata.get("registration_endpoint").is_none());
    drop(closed);

    let options = Options {
        initial_access_token: Some("iat-discovery".into()),
        ..Options::default()
    };
    let app = spawn_app_with(backend, options).await;
    let response = app.get("/.well-known/openid-configuration").await;
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

    let jwks: Value = app.get("/jwks").await.json().await.unwrap();
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

impl TestApp {
    /// GET an absolute URL with the app's browser.
    async fn get_absolute(&self, url: &str) -> reqwest::Response {
        self.client.get(url).send().await.unwrap()
    }
}

both_backends!(
    a_back_channel_notice_waits_for_a_relying_party_that_is_down,
    unknown_clients_and_unregistered_redirect_uris_get_a_page,
    implicit_and_hybrid_response_types_are_refused,
    public_clients_must_use_pkce_with_s256,
    the_code_verifier_must_match_the_challenge,
    client_authentication_failures_are_invalid_client,
    codes_expire_and_are_bound_to_redirect_uri_and_client,
    unknown_scopes_are_ignored_and_openid_is_required,
    a_one_time_code_cannot_be_replayed,
    a_wrong_password_and_an_unknown_address_look_the_same,
    prompt_none_and_max_age,
    client_credentials_only_for_confidential_clients_with_the_grant,
    introspection_and_revocation,
    rp_initiated_logout,
    back_channel_logout_token,
    discovery_and_jwks,
);
