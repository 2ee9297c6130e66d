//! The person signed in to the portal in this request: their session, their claims, and their
//! access token — refreshed with the refresh token when it has expired, and the session ended
//! when the IdP refuses the refresh (OIDC Core §12).

use std::sync::Arc;

use actix_web::HttpRequest;
use actix_web::web::Data;
use secrecy::ExposeSecret;

use super::page::{Page, PageError, SESSION_COOKIE};
use crate::admin_api::ApiFailure;
use crate::error::PortalError;
use crate::oidc::OidcError;
use crate::oidc::login::{self, Person};
use crate::sessions::{Flash, FlashKind, Session};
use crate::state::PortalState;

/// Refresh this long before the access token's end, so a call never carries a dying token.
const REFRESH_MARGIN_SECONDS: i64 = 30;

pub struct SignedIn {
    pub page: Page,
    session: Arc<Session>,
    cookie: String,
}

impl SignedIn {
    /// The session of the request; without one, the way back to the landing page.
    pub async fn of(req: &HttpRequest, state: &Data<PortalState>) -> Result<Self, PageError> {
        let page = Page::new(req, state);
        let cookie = req
            .cookie(&state.settings.cookie_name(SESSION_COOKIE))
            .map(|c| c.value().to_owned())
            .ok_or_else(|| page.error(PortalError::SignedOut))?;
        let session = state
            .sessions
            .find(&cookie, state.now())
            .ok_or_else(|| page.error(PortalError::SignedOut))?;
        let signed_in = Self {
            page,
            session,
            cookie,
        };
        signed_in.access_token(false).await?;
        Ok(signed_in)
    }

    pub fn state(&self) -> &Data<PortalState> {
        &self.page.state
    }

    pub async fn person(&self) -> Person {
        self.session.data.lock().await.person.clone()
    }

    /// The raw ID token (the `id_token_hint` of the logout).
    pub async fn id_token(&self) -> String {
        self.session.data.lock().await.id_token.clone()
    }

    /// The message to show once, taken.
    pub async fn take_flash(&self) -> Option<Flash> {
        self.session.data.lock().await.flash.take()
    }

    pub async fn flash(&self, kind: FlashKind, text: String) {
        self.session.data.lock().await.flash = Some(Flash { kind, text });
    }

    /// Ends the portal session (the IdP session is the logout's business).
    pub fn end(&self) {
        self.state().sessions.end(&self.cookie);
    }

    async fn access_token(&self, force_refresh: bool) -> Result<String, PageError> {
        let state = self.state();
        let mut data = self.session.data.lock().await;
        let now = state.now();
        if force_refresh || data.tokens.access_expires_at - REFRESH_MARGIN_SECONDS <= now {
            let Some(refresh_token) = data.tokens.refresh_token.clone() else {
                drop(data);
                self.end();
                return Err(self.page.error(PortalError::SessionEnded(
                    "the access token expired and there is no refresh token".into(),
                )));
            };
            match login::refresh(
                &state.provider,
                &state.http,
                &refresh_token,
                &data.person,
                now,
            )
            .await
            {
                Ok(fresh) => {
                    data.person = fresh.person;
                    data.id_token = fresh.id_token;
                    data.tokens = fresh.tokens;
                }
                Err(OidcError::Unavailable(why)) => {
                    return Err(self.page.error(PortalError::Unavailable(why)));
                }
                Err(e) => {
                    drop(data);
                    self.end();
                    return Err(self.page.error(PortalError::SessionEnded(e.to_string())));
                }
            }
        }
        Ok(data.tokens.access_token.expose_secret().to_owned())
    }

    /// Calls the admin API with the person's access token; a refused token is refreshed once,
    /// and refused again ends the session. The outer error is the page's; the inner one a rule
    /// of the IdP the handler puts in words.
    pub async fn api<T, F, Fut>(&self, call: F) -> Result<Result<T, ApiFailure>, PageError>
    where
        F: Fn(String) -> Fut,
        Fut: std::future::Future<Output = Result<T, ApiFailure>>,
    {
        match call(self.access_token(false).await?).await {
            Err(ApiFailure::Unauthorized) => match call(self.access_token(true).await?).await {
                Err(ApiFailure::Unauthorized) => {
                    self.end();
                    Err(self.page.error(PortalError::SessionEnded(
                        "the admin API refuses the refreshed token".into(),
                    )))
                }
                other => Ok(other),
            },
            other => Ok(other),
        }
    }

    /// As [`Self::api`], where every refusal is an error page.
    pub async fn api_or_page<T, F, Fut>(&self, call: F) -> Result<T, PageError>
    where
        F: Fn(String) -> Fut,
        Fut: std::future::Future<Output = Result<T, ApiFailure>>,
    {
        self.api(call).await?.map_err(|e| self.page.error(e))
    }
}

/// Whether the person may manage users: superusers of their organisation and HCC staff.
pub fn may_manage(person: &Person) -> bool {
    matches!(person.role.as_deref(), Some("superuser" | "hcc-staff"))
}

pub fn is_staff(person: &Person) -> bool {
    person.role.as_deref() == Some("hcc-staff")
}
