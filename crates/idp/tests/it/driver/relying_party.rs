//! The relying party: a client registered at the IdP (HCC's own portal unless said otherwise)
//! and its back end talking to the protocol endpoints — the authorization URL, the code
//! exchange, refresh, introspection, revocation and userinfo — and RFC 7591 registration.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use idp::domain::RedirectUri;
use idp::oidc::client::{AuthMethod, ClientDisplay, NewClient};
use reqwest::{Response, StatusCode};
use serde_json::Value;

use super::browser::{Browser, location, query_param};
use super::people::{Person, onboarded_person};
use crate::helpers::{Node, Options, TestApp};

pub const REDIRECT: &str = "https://portal.example/callback";
pub const BYE: &str = "https://portal.example/bye";
/// The PKCE verifier of every code flow that uses one; its challenge is `s256(VERIFIER)`.
pub const VERIFIER: &str = "a-very-long-code-verifier-of-at-least-43-characters-123456";
pub const CODE: &[&str] = &["authorization_code"];
pub const CODE_AND_REFRESH: &[&str] = &["authorization_code", "refresh_token"];
/// The initial access token of apps that allow dynamic registration.
pub const IAT: &str = "test-iat";
pub const LOGO: &str = "https://cdn.rooster.example/logo.png";

/// How a request to the token, revocation or introspection endpoint authenticates the client.
#[derive(Debug, Clone, Copy)]
pub enum ClientAuth {
    Basic,
    Post,
    /// As a public client: the client_id only.
    IdOnly,
    Nothing,
}

#[derive(Clone)]
pub struct RelyingParty {
    pub id: String,
    pub secret: Option<String>,
    auth: ClientAuth,
    http: reqwest::Client,
    address: String,
}

impl TestApp {
    /// HCC's own portal (first-party), authenticating with `method`, for `grants`.
    pub async fn client(&self, method: AuthMethod, grants: &[&str]) -> RelyingParty {
        self.register_client(NewClient {
            grant_types: grants.iter().map(|g| g.to_string()).collect(),
            auth_method: method,
            ..portal()
        })
        .await
    }

    /// The portal with client_secret_post and refresh tokens.
    pub async fn refresh_client(&self) -> RelyingParty {
        self.client(AuthMethod::ClientSecretPost, CODE_AND_REFRESH)
            .await
    }

    /// A client registered by someone other than HCC staff: "Roosterplanner".
    pub async fn third_party_client(&self) -> RelyingParty {
        self.register_client(NewClient {
            name: "Roosterplanner".into(),
            post_logout_redirect_uris: vec![],
            grant_types: CODE_AND_REFRESH.iter().map(|g| g.to_string()).collect(),
            first_party: false,
            display: ClientDisplay {
                client_uri: Some("https://rooster.example/".into()),
                logo_uri: Some(LOGO.into()),
                policy_uri: Some("https://rooster.example/privacy".into()),
                tos_uri: None,
                contacts: vec![],
            },
            ..portal()
        })
        .await
    }

    /// The portal (client_secret_post) with a back-channel logout URI.
    pub async fn backchannel_client(&self, uri: String) -> RelyingParty {
        self.register_client(NewClient {
            backchannel_logout_uri: Some(uri),
            auth_method: AuthMethod::ClientSecretPost,
            ..portal()
        })
        .await
    }

    async fn register_client(&self, new: NewClient) -> RelyingParty {
        let auth = match new.auth_method {
            AuthMethod::ClientSecretBasic => ClientAuth::Basic,
            AuthMethod::ClientSecretPost => ClientAuth::Post,
            AuthMethod::None => ClientAuth::IdOnly,
        };
        let now = self.state.now();
        let registered = self
            .state
            .db
            .run(move |c| idp::oidc::client::register(c, new, now))
            .await
            .unwrap();
        RelyingParty {
            id: registered.client.client_id,
            secret: registered.secret.map(|s| s.expose().to_owned()),
            auth,
            http: crate::helpers::http(),
            address: self.address.clone(),
        }
    }

    /// An absolute URL on the IdP with exactly these query parameters.
    pub fn url(&self, path: &str, params: &[(&str, &str)]) -> String {
        let mut url = url::Url::parse(&format!("{}{path}", self.address)).unwrap();
        for (k, v) in params {
            url.query_pairs_mut().append_pair(k, v);
        }
        url.to_string()
    }
}

/// Marco, onboarded and signed in at the portal (client_secret_post, with refresh tokens) in
/// a browser that keeps his SSO session: where the token tests start.
pub struct SignedIn {
    pub person: Person,
    pub rp: RelyingParty,
    pub browser: Browser,
    /// The token response for "openid email offline_access".
    pub tokens: Value,
}

impl TestApp {
    pub async fn signed_in(&self) -> SignedIn {
        let person = onboarded_person(self).await;
        let rp = self.refresh_client().await;
        let browser = self.browser();
        let tokens = rp
            .sign_in(&browser, &person, "openid email offline_access")
            .await;
        SignedIn {
            person,
            rp,
            browser,
            tokens,
        }
    }
}

/// "Werkgeverportaal": first-party, a code client with client_secret_basic.
fn portal() -> NewClient {
    NewClient {
        name: "Werkgeverportaal".into(),
        redirect_uris: vec![RedirectUri::parse(REDIRECT, false).unwrap()],
        post_logout_redirect_uris: vec![RedirectUri::parse(BYE, false).unwrap()],
        backchannel_logout_uri: None,
        grant_types: CODE.iter().map(|g| g.to_string()).collect(),
        auth_method: AuthMethod::ClientSecretBasic,
        scope: vec![],
        first_party: true,
        application_type: Default::default(),
        display: Default::default(),
    }
}

impl RelyingParty {
    /// The IdP node this client talks to.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The same client talking to another node of the IdP.
    pub fn at(&self, node: &impl Node) -> RelyingParty {
        RelyingParty {
            address: node.address().to_owned(),
            ..self.clone()
        }
    }

    /// This client with another id or secret (an impostor, or a client that lost its secret).
    pub fn posing_as(&self, id: &str, secret: Option<&str>) -> RelyingParty {
        RelyingParty {
            id: id.to_owned(),
            secret: secret.map(str::to_owned),
            ..self.clone()
        }
    }

    /// /authorize for a code with the registered redirect URI, `scope`, `state=st-1`, and
    /// `extra` parameters.
    pub fn authorize_url(&self, scope: &str, extra: &[(&str, &str)]) -> String {
        let mut url = url::Url::parse(&format!("{}/authorize", self.address)).unwrap();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.id)
            .append_pair("redirect_uri", REDIRECT)
            .append_pair("scope", scope)
            .append_pair("state", "st-1");
        for (k, v) in extra {
            url.query_pairs_mut().append_pair(k, v);
        }
        url.to_string()
    }

    /// [`Self::authorize_url`] with the PKCE challenge of [`VERIFIER`].
    pub fn pkce_authorize_url(&self, scope: &str, extra: &[(&str, &str)]) -> String {
        let challenge = s256(VERIFIER);
        let mut params = vec![
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        params.extend_from_slice(extra);
        self.authorize_url(scope, &params)
    }

    /// Sends `person` through the login in `browser`; the code (bound to [`VERIFIER`]).
    pub async fn code(&self, browser: &Browser, person: &Person, scope: &str) -> String {
        let callback = browser
            .authorize(&self.pkce_authorize_url(scope, &[("nonce", "n-1")]), person)
            .await;
        assert!(callback.starts_with(REDIRECT), "{callback}");
        query_param(&callback, "code").expect("a code")
    }

    /// The whole code flow for `person` in `browser` (which keeps its SSO session): the token
    /// response.
    pub async fn sign_in(&self, browser: &Browser, person: &Person, scope: &str) -> Value {
        let code = self.code(browser, person, scope).await;
        let response = self
            .redeem(self.auth, &code, REDIRECT, Some(VERIFIER))
            .await;
        assert_eq!(response.headers()["cache-control"], "no-store");
        let (status, tokens) = json_of(response).await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        tokens
    }

    /// Redeems a code bound to [`VERIFIER`], with the registered redirect URI.
    pub async fn exchange_pkce(&self, code: &str) -> (StatusCode, Value) {
        json_of(self.redeem_pkce(code).await).await
    }

    /// The token endpoint's answer to [`Self::exchange_pkce`].
    pub async fn redeem_pkce(&self, code: &str) -> Response {
        self.redeem(self.auth, code, REDIRECT, Some(VERIFIER)).await
    }

    /// Redeems a code obtained without PKCE, with the registered redirect URI.
    pub async fn exchange(&self, code: &str) -> (StatusCode, Value) {
        json_of(self.redeem(self.auth, code, REDIRECT, None).await).await
    }

    /// The authorization code grant with every part chosen by the test.
    pub async fn redeem(
        &self,
        auth: ClientAuth,
        code: &str,
        redirect_uri: &str,
        verifier: Option<&str>,
    ) -> Response {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
        ];
        if let Some(v) = verifier {
            form.push(("code_verifier", v));
        }
        self.post_as(auth, "/token", &form).await
    }

    /// The refresh grant with the refresh token of `tokens`.
    pub async fn refresh(&self, tokens: &Value) -> (StatusCode, Value) {
        let token = tokens["refresh_token"].as_str().unwrap();
        let params = [("grant_type", "refresh_token"), ("refresh_token", token)];
        json_of(self.post("/token", &params).await).await
    }

    /// What introspection says about `token` (asked as this client).
    pub async fn introspect(&self, token: &str) -> Value {
        let (status, json) = json_of(self.post("/introspect", &[("token", token)]).await).await;
        assert_eq!(status, StatusCode::OK, "{json}");
        json
    }

    pub async fn revoke(&self, params: &[(&str, &str)]) -> StatusCode {
        self.post("/revoke", params).await.status()
    }

    /// Userinfo (GET) with `access_token`.
    pub async fn userinfo(&self, access_token: &str) -> Response {
        self.http
            .get(format!("{}/userinfo", self.address))
            .bearer_auth(access_token)
            .send()
            .await
            .unwrap()
    }

    /// A protocol request, authenticated as the client registered.
    pub async fn post(&self, path: &str, params: &[(&str, &str)]) -> Response {
        self.post_as(self.auth, path, params).await
    }

    /// A protocol request, authenticated as `auth` says.
    pub async fn post_as(&self, auth: ClientAuth, path: &str, params: &[(&str, &str)]) -> Response {
        let mut form: Vec<(&str, &str)> = params.to_vec();
        let mut request = self.http.post(format!("{}{path}", self.address));
        match auth {
            ClientAuth::Basic => request = request.basic_auth(&self.id, self.secret.as_ref()),
            ClientAuth::Post => {
                form.push(("client_id", self.id.as_str()));
                form.push(("client_secret", self.secret.as_deref().unwrap()));
            }
            ClientAuth::IdOnly => form.push(("client_id", self.id.as_str())),
            ClientAuth::Nothing => {}
        }
        request.form(&form).send().await.unwrap()
    }
}

pub fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(<sha2::Sha256 as sha2::Digest>::digest(verifier.as_bytes()))
}

/// The JSON of a JWT's header (0) or claims (1), unverified.
pub fn jwt_part(jwt: &str, index: usize) -> Value {
    let segment = jwt.split('.').nth(index).expect("a JWT segment");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
}

/// The status and JSON body of a protocol response.
pub async fn json_of(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let body = response.text().await.unwrap();
    let json = serde_json::from_str(&body)
        .unwrap_or_else(|e| panic!("not JSON ({e}), status {status}: {body}"));
    (status, json)
}

pub async fn assert_oauth_error(response: Response, status: StatusCode, error: &str) {
    let (got_status, json) = json_of(response).await;
    assert_eq!(got_status, status, "{json}");
    assert_eq!(json["error"], error, "{json}");
}

/// A 400 with `invalid_grant`.
pub fn assert_invalid_grant((status, json): (StatusCode, Value)) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{json}");
    assert_eq!(json["error"], "invalid_grant");
}

/// A 302 back to the client with `error`, the request's `state` (if it may be echoed) and
/// `iss` (RFC 9207), and no code.
pub fn assert_error_redirect(app: &TestApp, response: &Response, error: &str, state: Option<&str>) {
    assert_eq!(response.status(), StatusCode::FOUND, "{error}");
    let location = location(response);
    assert!(location.starts_with(&format!("{REDIRECT}?")), "{location}");
    assert_eq!(
        query_param(&location, "error").as_deref(),
        Some(error),
        "{location}"
    );
    assert_eq!(query_param(&location, "state").as_deref(), state);
    assert_eq!(
        query_param(&location, "iss").as_deref(),
        Some(app.address.as_str())
    );
    assert!(query_param(&location, "code").is_none());
}

/// Options for an app that allows dynamic registration with [`IAT`].
pub fn with_registration() -> Options {
    Options {
        initial_access_token: Some(IAT.into()),
        ..Options::default()
    }
}

/// `POST /register` with `body`, and `token` as the bearer token if given.
pub async fn post_register(app: &TestApp, token: Option<&str>, body: &Value) -> Response {
    let mut request = crate::helpers::http()
        .post(format!("{}/register", app.address))
        .json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

/// A registration with [`IAT`] that succeeds: the client's metadata.
pub async fn register_ok(app: &TestApp, body: Value) -> Value {
    let response = post_register(app, Some(IAT), &body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["cache-control"], "no-store");
    response.json().await.unwrap()
}

/// A registration with [`IAT`] that is refused: a 400 with the RFC 7591 error `code` and a
/// description (returned), and no client stored.
pub async fn register_refused(app: &TestApp, body: &Value, code: &str) -> String {
    let response = post_register(app, Some(IAT), body).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"], code, "{error}");
    assert!(app.admin().clients().await.is_empty());
    error["error_description"]
        .as_str()
        .expect("an error_description")
        .to_owned()
}
