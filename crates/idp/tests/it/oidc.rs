//! The OpenID Connect server driven by an independent relying party: the `openidconnect` crate
//! discovers the IdP, runs the code flow with PKCE through the login pages, and verifies the ID
//! token against the JWKS (signature, nonce, audience, expiry).

use idp::clock::Clock;
use idp::domain::Language;
use idp::domain::totp::{TotpSecret, step_at};
use idp::oidc::client::{AuthMethod, NewClient};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};
use reqwest::StatusCode;

use crate::both_backends;
use crate::helpers::*;
use crate::onboarding::{STRONG, invite_marco, register_in, secret_from_page};

pub const REDIRECT: &str = "https://portal.example/callback";

/// A registered relying party.
pub struct TestClient {
    pub id: String,
    pub secret: Option<String>,
}

pub async fn create_client(app: &TestApp, method: AuthMethod, grants: &[&str]) -> TestClient {
    let new = NewClient {
        name: "Werkgeverportaal".into(),
        redirect_uris: vec![idp::domain::RedirectUri::parse(REDIRECT, false).unwrap()],
        post_logout_redirect_uris: vec![
            idp::domain::RedirectUri::parse("https://portal.example/bye", false).unwrap(),
        ],
        backchannel_logout_uri: None,
        grant_types: grants.iter().map(|g| g.to_string()).collect(),
        auth_method: method,
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

/// A person who went through onboarding: e-mail, password and authenticator secret.
pub struct Person {
    pub email: String,
    pub secret: TotpSecret,
}

pub async fn onboarded_person(app: &TestApp) -> Person {
    let (link, _) = invite_marco(app, Language::Nl).await;
    let browser = browser();
    let response = register_in(&browser, &link, STRONG).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let html = browser
        .get(format!("{}/otp/setup", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let secret = secret_from_page(&html);
    let code = secret.code_at(step_at(app.clock.now()) - 1);
    let response = browser
        .post(format!("{}/otp/setup", app.address))
        .form(&[
            ("csrf_token", csrf_token(&html).as_str()),
            ("otp_code", code.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    Person {
        email: "marco@ek88.nl".into(),
        secret,
    }
}

pub fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_owned()
}

/// Follows an authorization URL in `browser` through the login pages; returns the final
/// redirect to the client. Each code is fresh: the clock is moved a step on so the
/// one-time code differs from the last one used.
pub async fn log_in(
    app: &TestApp,
    browser: &reqwest::Client,
    authorize_url: &str,
    person: &Person,
) -> String {
    let response = browser.get(authorize_url).send().await.unwrap();
    assert!(
        response.status().is_redirection(),
        "{:?}",
        response.text().await
    );
    let next = location(&response);
    if !next.starts_with("/login") {
        return next; // answered from the SSO session
    }
    let page = browser
        .get(format!("{}{next}", app.address))
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
    let page = browser
        .get(format!("{}/login/otp", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    app.clock.advance(30);
    let code = person.secret.code_at(step_at(app.clock.now()));
    let response = browser
        .post(format!("{}/login/otp", app.address))
        .form(&[
            ("csrf_token", csrf_token(&page).as_str()),
            ("otp_code", code.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{:?}",
        response.text().await
    );
    location(&response)
}

/// Redeems `code` at the token endpoint as `rp` (HTTP Basic), with the registered redirect URI.
pub async fn exchange_code(app: &TestApp, rp: &TestClient, code: &str) -> reqwest::Response {
    http()
        .post(format!("{}/token", app.address))
        .basic_auth(&rp.id, rp.secret.as_ref())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
        ])
        .send()
        .await
        .unwrap()
}

pub fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

async fn the_code_flow_with_an_independent_relying_party(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let rp = create_client(
        &app,
        AuthMethod::ClientSecretBasic,
        &["authorization_code", "refresh_token"],
    )
    .await;
    let http = http();

    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.address.clone()).unwrap(), &http)
            .await
            .expect("discovery");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(rp.id.clone()),
        Some(ClientSecret::new(rp.secret.clone().unwrap())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("organisation".into()))
        .add_scope(Scope::new("offline_access".into()))
        .set_pkce_challenge(challenge)
        .url();

    let browser = browser();
    let callback = log_in(&app, &browser, url.as_str(), &person).await;
    assert!(callback.starts_with(REDIRECT), "{callback}");
    assert_eq!(
        query_param(&callback, "state").as_deref(),
        Some(csrf.secret().as_str())
    );
    assert_eq!(
        query_param(&callback, "iss").as_deref(),
        Some(app.address.as_str()),
        "RFC 9207"
    );
    let code = query_param(&callback, "code").unwrap();

    let tokens = client
        .exchange_code(AuthorizationCode::new(code.clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("token exchange");
    let id_token = tokens.id_token().expect("an ID token");
    let claims = id_token
        .claims(&client.id_token_verifier(), &nonce)
        .expect("a valid ID token");
    assert_eq!(claims.email().unwrap().as_str(), "marco@ek88.nl");
    assert_eq!(claims.email_verified(), Some(true));
    assert_eq!(
        claims.given_name().unwrap().get(None).unwrap().as_str(),
        "Marco"
    );
    assert!(claims.auth_time().is_some());
    let amr: Vec<String> = claims
        .auth_method_refs()
        .unwrap()
        .iter()
        .map(|a| a.to_string())
        .collect();
    assert_eq!(amr, ["pwd", "otp"]);
    assert!(claims.auth_context_ref().is_some());
    let raw: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            id_token.to_string().split('.').nth(1).unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert!(raw["sid"].is_string());
    assert_eq!(raw["organisation"]["name"], "EK88");
    assert_eq!(raw["role"], "member");

    // The access token is an RFC 9068 JWT.
    let access = tokens.access_token().secret().clone();
    let header: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            access.split('.').next().unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(header["typ"], "at+jwt");
    assert!(header["kid"].is_string());

    // Userinfo, GET and POST.
    let info: CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request_async(&http)
        .await
        .expect("userinfo");
    assert_eq!(info.email().unwrap().as_str(), "marco@ek88.nl");
    let posted = http
        .post(format!("{}/userinfo", app.address))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), StatusCode::OK);

    // The code cannot be used twice; the replay revokes what the first exchange produced.
    let again = exchange_code(&app, &rp, &code).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        again.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    let refresh = tokens
        .refresh_token()
        .expect("offline_access gives a refresh token")
        .clone();
    let refused = client
        .exchange_refresh_token(&refresh)
        .unwrap()
        .request_async(&http)
        .await;
    assert!(
        refused.is_err(),
        "the replayed code revoked its refresh token"
    );
    let userinfo = http
        .get(format!("{}/userinfo", app.address))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(
        userinfo.status(),
        StatusCode::UNAUTHORIZED,
        "and its access token"
    );
    assert!(userinfo.headers().contains_key("www-authenticate"));
}

async fn refresh_tokens_rotate_and_reuse_revokes_the_family(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let rp = create_client(
        &app,
        AuthMethod::ClientSecretPost,
        &["authorization_code", "refresh_token"],
    )
    .await;
    let http = http();
    let tokens = code_flow(&app, &http, &rp, &person, "openid email offline_access").await;
    let first = tokens["refresh_token"].as_str().unwrap().to_owned();

    let refresh = |token: String| {
        let http = http.clone();
        let (id, secret, address) = (
            rp.id.clone(),
            rp.secret.clone().unwrap(),
            app.address.clone(),
        );
        async move {
            http.post(format!("{address}/token"))
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", token.as_str()),
                    ("client_id", id.as_str()),
                    ("client_secret", secret.as_str()),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let rotated = refresh(first.clone()).await;
    assert_eq!(rotated.status(), StatusCode::OK);
    let rotated: serde_json::Value = rotated.json().await.unwrap();
    let second = rotated["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(first, second);
    assert!(rotated["id_token"].is_string());

    // Reusing the first (rotated) token is refused and revokes the family: the second dies too.
    let reuse = refresh(first).await;
    assert_eq!(reuse.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        reuse.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    assert_eq!(refresh(second).await.status(), StatusCode::BAD_REQUEST);
}

/// Runs the code flow with a plain HTTP client (for the negative tests), returning the token
/// response JSON.
pub async fn code_flow(
    app: &TestApp,
    http: &reqwest::Client,
    rp: &TestClient,
    person: &Person,
    scope: &str,
) -> serde_json::Value {
    let verifier = "a-very-long-code-verifier-of-at-least-43-characters-123456";
    let challenge = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        <sha2::Sha256 as sha2::Digest>::digest(verifier.as_bytes()),
    );
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
    let browser = browser();
    let callback = log_in(app, &browser, &url, person).await;
    let code = query_param(&callback, "code").unwrap();
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier),
        ("client_id", rp.id.as_str()),
    ];
    if let Some(secret) = &rp.secret {
        form.push(("client_secret", secret.as_str()));
    }
    let response = http
        .post(format!("{}/token", app.address))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    response.json().await.unwrap()
}

pub fn authorize_url(
    app: &TestApp,
    rp: &TestClient,
    scope: &str,
    extra: &[(&str, &str)],
) -> String {
    let mut url = url::Url::parse(&format!("{}/authorize", app.address)).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &rp.id)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", scope)
        .append_pair("state", "st-1");
    for (k, v) in extra {
        url.query_pairs_mut().append_pair(k, v);
    }
    url.to_string()
}

/// The portal's green button, then the invitation link in the same browser: after the
/// authenticator set-up the waiting client gets its code.
async fn a_pending_request_survives_registration_by_invitation(backend: Backend) {
    let app = spawn_app(backend).await;
    let rp = create_client(&app, AuthMethod::ClientSecretBasic, &["authorization_code"]).await;
    let browser = browser();
    let url = authorize_url(&app, &rp, "openid email", &[("nonce", "n-2")]);
    let response = browser.get(&url).send().await.unwrap();
    assert!(location(&response).starts_with("/login"));

    let (link, _) = invite_marco(&app, Language::Nl).await;
    let response = register_in(&browser, &link, STRONG).await;
    assert_eq!(location(&response), "/otp/setup");
    let html = browser
        .get(format!("{}/otp/setup", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let code = secret_from_page(&html).code_at(step_at(app.clock.now()));
    let response = browser
        .post(format!("{}/otp/setup", app.address))
        .form(&[
            ("csrf_token", csrf_token(&html).as_str()),
            ("otp_code", code.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let callback = location(&response);
    assert!(callback.starts_with(REDIRECT), "{callback}");
    assert_eq!(query_param(&callback, "state").as_deref(), Some("st-1"));
    let code = query_param(&callback, "code").unwrap();
    let tokens = exchange_code(&app, &rp, &code).await;
    assert_eq!(tokens.status(), StatusCode::OK);

    // A second client now gets a code from the SSO session without a new login.
    let other = create_client(&app, AuthMethod::ClientSecretBasic, &["authorization_code"]).await;
    let response = browser
        .get(authorize_url(&app, &other, "openid", &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert!(query_param(&location(&response), "code").is_some());
}

/// Tokens signed before a rotation keep verifying against JWKS until they expire.
async fn key_rotation_keeps_old_tokens_verifiable(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let rp = create_client(&app, AuthMethod::ClientSecretPost, &["authorization_code"]).await;
    let http = http();
    let tokens = code_flow(&app, &http, &rp, &person, "openid email").await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let old_kid = app.state.keys.active_kid();
    let new_kid = app.state.keys.rotate().await.unwrap();
    assert_ne!(old_kid, new_kid);
    let jwks: serde_json::Value = http
        .get(format!("{}/jwks", app.address))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert!(
        kids.contains(&old_kid.as_str()) && kids.contains(&new_kid.as_str()),
        "{kids:?}"
    );
    // The old access token still works at userinfo; a new login is signed with the new key.
    let info = http
        .get(format!("{}/userinfo", app.address))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(info.status(), StatusCode::OK);
    let fresh = code_flow(&app, &http, &rp, &person, "openid").await;
    let header: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            fresh["id_token"]
                .as_str()
                .unwrap()
                .split('.')
                .next()
                .unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(header["kid"], new_kid.as_str());
}

both_backends!(
    the_code_flow_with_an_independent_relying_party,
    refresh_tokens_rotate_and_reuse_revokes_the_family,
    a_pending_request_survives_registration_by_invitation,
    key_rotation_keeps_old_tokens_verifiable,
);
