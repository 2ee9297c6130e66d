//! The OpenID Connect server driven by an independent relying party: the `openidconnect` crate
//! discovers the IdP, runs the code flow with PKCE through the login pages, and verifies the ID
//! token against the JWKS (signature, nonce, audience, expiry).

use idp::domain::Language;
use idp::oidc::client::AuthMethod;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};
use reqwest::StatusCode;

use crate::both_backends;
use crate::driver::*;
use crate::helpers::*;

async fn the_code_flow_with_an_independent_relying_party(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let rp = app
        .client(AuthMethod::ClientSecretBasic, CODE_AND_REFRESH)
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

    let callback = app.browser().authorize(url.as_str(), &person).await;
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
    let raw = jwt_part(&id_token.to_string(), 1);
    assert!(raw["sid"].is_string());
    assert_eq!(raw["organisation"]["name"], "EK88");
    assert_eq!(raw["role"], "member");

    // The access token is an RFC 9068 JWT.
    let access = tokens.access_token().secret().clone();
    let header = jwt_part(&access, 0);
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
    assert_invalid_grant(rp.exchange(&code).await);
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
    let userinfo = rp.userinfo(&access).await;
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
    let rp = app.refresh_client().await;
    let first = rp
        .sign_in(&app.browser(), &person, "openid email offline_access")
        .await;

    let (status, second) = rp.refresh(&first).await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(first["refresh_token"], second["refresh_token"]);
    assert!(second["id_token"].is_string());

    // Reusing the first (rotated) token is refused and revokes the family: the second dies too.
    assert_invalid_grant(rp.refresh(&first).await);
    assert_eq!(rp.refresh(&second).await.0, StatusCode::BAD_REQUEST);
}

/// The portal's green button, then the invitation link in the same browser: after the
/// authenticator set-up the waiting client gets its code.
async fn a_pending_request_survives_registration_by_invitation(backend: Backend) {
    let app = spawn_app(backend).await;
    let rp = app.client(AuthMethod::ClientSecretBasic, CODE).await;
    let browser = app.browser();
    let url = rp.authorize_url("openid email", &[("nonce", "n-2")]);
    let response = browser.get(&url).await;
    assert!(location(&response).starts_with("/login"));

    let (link, _) = invite_marco(&app, Language::Nl).await;
    let response = browser.register(&link, STRONG).await;
    assert_eq!(location(&response), "/otp/setup");
    let (_, response) = browser.set_up_authenticator().await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let callback = location(&response);
    assert!(callback.starts_with(REDIRECT), "{callback}");
    assert_eq!(query_param(&callback, "state").as_deref(), Some("st-1"));
    let code = query_param(&callback, "code").unwrap();
    assert_eq!(rp.exchange(&code).await.0, StatusCode::OK);

    // A second client now gets a code from the SSO session without a new login.
    let other = app.client(AuthMethod::ClientSecretBasic, CODE).await;
    let response = browser.get(&other.authorize_url("openid", &[])).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert!(query_param(&location(&response), "code").is_some());
}

/// Tokens signed before a rotation keep verifying against JWKS until they expire.
async fn key_rotation_keeps_old_tokens_verifiable(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let rp = app.client(AuthMethod::ClientSecretPost, CODE).await;
    let tokens = rp.sign_in(&app.browser(), &person, "openid email").await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let old_kid = app.state.keys.active_kid();
    let new_kid = app.state.keys.rotate().await.unwrap();
    assert_ne!(old_kid, new_kid);
    let jwks: serde_json::Value = app.browser().get("/jwks").await.json().await.unwrap();
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
    assert_eq!(rp.userinfo(&access).await.status(), StatusCode::OK);
    let fresh = rp.sign_in(&app.browser(), &person, "openid").await;
    let header = jwt_part(fresh["id_token"].as_str().unwrap(), 0);
    assert_eq!(header["kid"], new_kid.as_str());
}

both_backends!(
    the_code_flow_with_an_independent_relying_party,
    refresh_tokens_rotate_and_reuse_revokes_the_family,
    a_pending_request_survives_registration_by_invitation,
    key_rotation_keeps_old_tokens_verifiable,
);
