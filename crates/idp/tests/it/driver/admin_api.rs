//! The admin API as the portal (or a script of HCC staff) calls it: JSON requests under
//! `/admin/api/v1` with a person's own access token, answers as (status, JSON).

use idp::domain::Role;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::people::{Person, seed_person};
use super::relying_party::RelyingParty;
use crate::helpers::TestApp;

/// The admin API, called with `token` (or none).
pub struct AdminApi {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl TestApp {
    /// The admin API without a token.
    pub fn admin_api_anonymous(&self) -> AdminApi {
        AdminApi {
            base: format!("{}/admin/api/v1", self.address),
            token: None,
            http: crate::helpers::http(),
        }
    }

    /// `person` signed in at the portal for "openid admin": the API with their access token.
    pub async fn admin_api_of(&self, person: &Person) -> AdminApi {
        self.admin_api_with_scope(person, "openid admin").await
    }

    /// As [`Self::admin_api_of`] with another scope.
    pub async fn admin_api_with_scope(&self, person: &Person, scope: &str) -> AdminApi {
        let rp = self.refresh_client().await;
        self.admin_api_through(&rp, person, scope).await
    }

    /// The API with the access token `rp` obtained for `person`.
    pub async fn admin_api_through(
        &self,
        rp: &RelyingParty,
        person: &Person,
        scope: &str,
    ) -> AdminApi {
        let tokens = rp.sign_in(&self.browser(), person, scope).await;
        AdminApi {
            token: tokens["access_token"].as_str().map(str::to_owned),
            ..self.admin_api_anonymous()
        }
    }

    /// A new active person of `organisation_id` with `role`, and the API with their token.
    pub async fn administrator(
        &self,
        organisation_id: &str,
        email: &str,
        role: Role,
    ) -> (Person, AdminApi) {
        let person = seed_person(self, organisation_id, email, role).await;
        let api = self.admin_api_of(&person).await;
        (person, api)
    }
}

impl AdminApi {
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        Self::answer(request).await
    }

    /// A POST of `body` as it is, with `content_type`.
    pub async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: &str,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .body(body.to_owned());
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        Self::answer(request).await
    }

    /// The answer as JSON; problems must be `application/problem+json`.
    async fn answer(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let response = request.send().await.unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let text = response.text().await.unwrap();
        if status.is_client_error() || status.is_server_error() {
            assert_eq!(content_type, "application/problem+json", "{status}: {text}");
        }
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{status} not JSON ({e}): {text}"))
        };
        (status, json)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, None).await
    }

    /// Every item of a paged list, following `next_cursor`.
    pub async fn all(&self, path: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut next = path.to_owned();
        loop {
            let (status, page) = self.get(&next).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            items.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_str() {
                Some(cursor) => {
                    let separator = if path.contains('?') { '&' } else { '?' };
                    next = format!("{path}{separator}cursor={cursor}");
                }
                None => return items,
            }
        }
    }
}
