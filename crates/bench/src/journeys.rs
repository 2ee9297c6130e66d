//! What the load generator does against the IdP, written as a client does it: the browserless
//! code-flow login (authorize → login form with its CSRF token → password → one-time code →
//! code exchange with PKCE), the token grants, userinfo and introspection.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use idp::domain::totp::{TotpSecret, step_at};
use serde_json::Value;
use sha2::{Digest, Sha256};

pub const REDIRECT: &str = "http://127.0.0.1:9/callback";
const VERIFIER: &str = "bench-code-verifier-of-at-least-forty-three-characters-0123";

/// A confidential client (client_secret_basic).
#[derive(Clone)]
pub struct Client {
    pub id: String,
    pub secret: String,
}

/// A seeded person who can log in.
pub struct Person {
    pub email: String,
    pub password: String,
    pub secret: TotpSecret,
}

fn err(what: &str) -> impl Fn(reqwest::Error) -> String + '_ {
    move |e| format!("{what}: {e}")
}

pub async fn get_ok(http: &reqwest::Client, url: &str) -> Result<(), String> {
    let response = http.get(url).send().await.map_err(err("GET"))?;
    let status = response.status();
    response.bytes().await.map_err(err("body"))?;
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("GET {url}: {status}"))
    }
}

fn location(response: &reqwest::Response) -> Result<String, String> {
    response
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(|| format!("expected a redirect, got {}", response.status()))
}

fn csrf_of(html: &str) -> Result<String, String> {
    let marker = "name=\"csrf_token\" value=\"";
    let at = html.find(marker).ok_or("no CSRF token on the page")? + marker.len();
    let end = html[at..].find('"').ok_or("unterminated CSRF token")?;
    Ok(html[at..at + end].to_owned())
}

fn absolute(base: &str, target: &str) -> String {
    if target.starts_with("http") {
        target.to_owned()
    } else {
        format!("{base}{target}")
    }
}

/// One login's cookies. Every login is a browser of its own, but building an HTTP client per
/// login (its TLS set-up included) would spend the shared cores on the load generator; the
/// logins share one connection pool and keep their cookies here.
#[derive(Default)]
struct Browser {
    cookies: std::collections::BTreeMap<String, String>,
}

impl Browser {
    async fn send(
        &mut self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, String> {
        let header = self
            .cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ");
        let request = if header.is_empty() {
            request
        } else {
            request.header(reqwest::header::COOKIE, header)
        };
        let response = request.send().await.map_err(err("request"))?;
        for set in response.headers().get_all(reqwest::header::SET_COOKIE) {
            let Some((pair, attributes)) = set
                .to_str()
                .ok()
                .map(|s| s.split_once(';').unwrap_or((s, "")))
            else {
                continue;
            };
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            let expired = attributes.to_ascii_lowercase().contains("max-age=0");
            if expired || value.is_empty() {
                self.cookies.remove(name.trim());
            } else {
                self.cookies
                    .insert(name.trim().to_owned(), value.to_owned());
            }
        }
        Ok(response)
    }

    /// Opens the form at `page` and posts `fields` to `action` with its CSRF token.
    async fn submit(
        &mut self,
        base: &str,
        page: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> Result<reqwest::Response, String> {
        let http = shared_http();
        let html = self
            .send(http.get(absolute(base, page)))
            .await?
            .text()
            .await
            .map_err(err("form body"))?;
        let csrf = csrf_of(&html)?;
        let mut form = vec![("csrf_token", csrf.as_str())];
        form.extend_from_slice(fields);
        self.send(http.post(absolute(base, action)).form(&form))
            .await
    }
}

/// The whole login of `person` at `client` in a browser of its own; the token response.
pub async fn login(
    base: &str,
    client: &Client,
    person: &Person,
    scope: &str,
) -> Result<Value, String> {
    let mut browser = Browser::default();
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER.as_bytes()));
    let mut authorize = url::Url::parse(&format!("{base}/authorize")).map_err(|e| e.to_string())?;
    authorize
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &client.id)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", scope)
        .append_pair("state", "bench-state")
        .append_pair("nonce", "bench-nonce")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let response = browser.send(shared_http().get(authorize.as_str())).await?;
    let login_page = location(&response)?;
    let response = browser
        .submit(
            base,
            &login_page,
            "/login",
            &[("email", &person.email), ("password", &person.password)],
        )
        .await?;
    let next = location(&response)?;
    if next != "/login/otp" {
        return Err(format!("password step went to {next}"));
    }
    let now = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    )
    .unwrap_or(0);
    let code = person.secret.code_at(step_at(now));
    let response = browser
        .submit(base, "/login/otp", "/login/otp", &[("otp_code", &code)])
        .await?;
    let back = location(&response)?;
    let code = url::Url::parse(&back)
        .ok()
        .and_then(|u| {
            u.query_pairs()
                .find(|(k, _)| k == "code")
                .map(|(_, v)| v.into_owned())
        })
        .ok_or_else(|| format!("no code in {back}"))?;
    token(
        base,
        client,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    )
    .await
}

/// A POST to the token endpoint with client_secret_basic; the JSON answer, which must be 200.
pub async fn token(base: &str, client: &Client, form: &[(&str, &str)]) -> Result<Value, String> {
    post_json(&shared_http(), &format!("{base}/token"), client, form).await
}

pub async fn post_json(
    http: &reqwest::Client,
    url: &str,
    client: &Client,
    form: &[(&str, &str)],
) -> Result<Value, String> {
    let response = http
        .post(url)
        .basic_auth(&client.id, Some(&client.secret))
        .form(form)
        .send()
        .await
        .map_err(err("token"))?;
    let status = response.status();
    let body: Value = response.json().await.map_err(err("token body"))?;
    if status.is_success() {
        Ok(body)
    } else {
        Err(format!("{url}: {status} {body}"))
    }
}

/// One connection pool for every request that needs no cookies.
pub fn shared_http() -> reqwest::Client {
    static HTTP: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    HTTP.get_or_init(|| {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(256)
            .build()
            .unwrap_or_else(|_| reqwest::Client::new())
    })
    .clone()
}
