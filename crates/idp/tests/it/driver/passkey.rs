//! A passkey in the tests: a software authenticator (webauthn-authenticator-rs's `SoftToken`,
//! a CTAP2 security key in memory that counts its signatures), answering as the browser at
//! `http://localhost:<port>` would (WebAuthn needs a domain name; the test app is the same
//! server on 127.0.0.1). The browser's side of the ceremonies is `static/passkey.js`'s: options
//! as JSON, the authenticator's answer posted back with the page's CSRF token.

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use webauthn_authenticator_rs::prelude::{
    CreationChallengeResponse, RequestChallengeResponse, Url,
};
use webauthn_authenticator_rs::softtoken::SoftToken;
use webauthn_authenticator_rs::{AuthenticatorBackend, WebauthnAuthenticator};

use super::browser::Browser;
use super::html::csrf_token;
use crate::helpers::TestApp;

/// A security key in memory.
pub struct SoftKey {
    token: SoftToken,
}

impl SoftKey {
    pub fn new() -> Self {
        let (token, _attestation_ca) = SoftToken::new(true).expect("a software key");
        Self { token }
    }

    /// A byte-for-byte copy of this key as it is now (a cloned authenticator): it signs with
    /// the same private key and counts from the same number.
    pub fn clone_now(&self) -> Self {
        let bytes = self.token.to_cbor().expect("the key's state");
        Self {
            token: SoftToken::from_cbor(&bytes).expect("a copy"),
        }
    }

    /// `navigator.credentials.create()` at `origin`.
    pub fn create(&mut self, origin: &str, options: Value) -> Value {
        let options: CreationChallengeResponse = serde_json::from_value(options).unwrap();
        let answer = self
            .token
            .do_registration(Url::parse(origin).unwrap(), options)
            .expect("the key answers");
        serde_json::to_value(answer).unwrap()
    }

    /// `navigator.credentials.get()` at `origin`.
    pub fn get(&mut self, origin: &str, options: Value) -> Value {
        let options: RequestChallengeResponse = serde_json::from_value(options).unwrap();
        let answer = self
            .token
            .do_authentication(Url::parse(origin).unwrap(), options)
            .expect("the key answers");
        serde_json::to_value(answer).unwrap()
    }

    /// What a page on another site would make the key sign (a phishing page that relays the
    /// challenge): the browser's own checks skipped, `origin` in the signed client data.
    pub fn get_as(&mut self, origin: &str, options: Value) -> Value {
        let options: RequestChallengeResponse = serde_json::from_value(options).unwrap();
        let answer = self
            .token
            .perform_auth(Url::parse(origin).unwrap(), options.public_key, 60_000)
            .expect("the key answers");
        serde_json::to_value(answer).unwrap()
    }

    pub fn create_as(&mut self, origin: &str, options: Value) -> Value {
        let options: CreationChallengeResponse = serde_json::from_value(options).unwrap();
        let answer = self
            .token
            .perform_register(Url::parse(origin).unwrap(), options.public_key, 60_000)
            .expect("the key answers");
        serde_json::to_value(answer).unwrap()
    }
}

impl TestApp {
    /// The origin a browser on this IdP has, for WebAuthn.
    pub fn webauthn_origin(&self) -> String {
        self.address.replace("127.0.0.1", "localhost")
    }
}

impl Browser {
    /// Posts `body` as JSON, as the page's script does.
    pub async fn post_json(&self, target: &str, body: &Value) -> Response {
        self.http()
            .post(self.url_of(target))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// The CSRF token of the page at `target`.
    pub async fn csrf_of(&self, target: &str) -> String {
        csrf_token(&self.page(target).await)
    }

    /// Options from `options_path` with the CSRF token of `page`: the JSON.
    pub async fn passkey_options(&self, page: &str, options_path: &str) -> (String, Value) {
        let csrf = self.csrf_of(page).await;
        let response = self
            .post_json(options_path, &json!({ "csrf_token": csrf }))
            .await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "options from {options_path}"
        );
        (csrf, response.json().await.unwrap())
    }

    /// **Passkey toevoegen** on the account page with `key`: the answer to the last post.
    pub async fn add_passkey(&self, app: &TestApp, key: &mut SoftKey, name: &str) -> Response {
        let (csrf, options) = self
            .passkey_options("/account", "/account/passkeys/options")
            .await;
        let credential = key.create(&app.webauthn_origin(), options);
        self.post_json(
            "/account/passkeys",
            &json!({ "csrf_token": csrf, "name": name, "credential": credential }),
        )
        .await
    }

    /// **Inloggen met passkey** at the code step (after the password step): the answer.
    pub async fn log_in_passkey(&self, app: &TestApp, key: &mut SoftKey) -> Response {
        let (csrf, options) = self
            .passkey_options("/login/otp", "/login/passkey/options")
            .await;
        let credential = key.get(&app.webauthn_origin(), options);
        self.post_json(
            "/login/passkey",
            &json!({ "csrf_token": csrf, "credential": credential }),
        )
        .await
    }
}
