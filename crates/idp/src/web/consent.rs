//! GET/POST /consent: the person allows or denies a third-party client (oidc::consent). The
//! page names the client, shows what it registered about itself (its logo, fetched by the
//! browser from the one origin the page's CSP allows, and links to its site, privacy policy and
//! terms) and the scopes in plain words. **Toestaan** answers the waiting request with a code;
//! **Weigeren** answers it with `access_denied` (RFC 6749 §4.1.2.1), with `state` and `iss`.

use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_SECURITY_POLICY, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::flow;
use super::page::{Page, PageError};
use crate::domain::Scope;
use crate::error::Fault;
use crate::journeys::JourneyError;
use crate::oidc::authorize::{AuthorizationRequest, ErrorRedirect};
use crate::oidc::client::Client;
use crate::oidc::{code, consent};
use crate::sessions::ClientInfo;
use crate::sessions::Stage;
use crate::state::IdpState;
use crate::storage::models::Session;

#[derive(Deserialize)]
pub struct ConsentForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    decision: String,
}

/// A link the client registered, as the page shows it.
#[derive(Serialize)]
struct ClientLink {
    href: String,
    text: String,
}

/// What the page needs: the session, the parked request and its client.
struct Pending {
    session: Session,
    cookie: String,
    client: Client,
    request: AuthorizationRequest,
}

async fn pending(req: &HttpRequest, state: &IdpState) -> Result<Option<Pending>, Fault> {
    let Some(session) = flow::current_session(req, state)
        .await?
        .filter(|s| s.stage == Stage::Authenticated)
    else {
        return Ok(None);
    };
    let Some(cookie) = flow::auth_request_cookie_value(req, state) else {
        return Ok(None);
    };
    Ok(code::parked_with_client(state, &cookie)
        .await?
        .map(|(client, request)| Pending {
            session,
            cookie,
            client,
            request,
        }))
}

fn nothing_waiting(page: &Page) -> Result<HttpResponse, PageError> {
    page.message(
        StatusCode::BAD_REQUEST,
        "consent_nothing_title",
        &["consent_nothing_body"],
        Some(("/login", "to_login")),
    )
}

pub async fn show(req: HttpRequest, state: web::Data<IdpState>) -> Result<HttpResponse, PageError> {
    let found = pending(&req, &state).await;
    let hint = found
        .as_ref()
        .ok()
        .and_then(|p| p.as_ref())
        .and_then(|p| p.request.language());
    let page = Page::new(&req, &state, hint);
    match found.map_err(|e| page.error(e))? {
        Some(pending) => render(&page, &pending),
        None => nothing_waiting(&page),
    }
}

fn render(page: &Page, pending: &Pending) -> Result<HttpResponse, PageError> {
    let client = &pending.client;
    let name = client.name.as_str();
    let scopes: Vec<String> = Scope::parse_stored(&pending.request.scope)
        .values()
        .iter()
        .map(|s| page.text(&format!("scope_{s}")))
        .collect();
    let display = &client.display;
    let links: Vec<ClientLink> = [
        (&display.client_uri, "consent_link_site"),
        (&display.policy_uri, "consent_link_policy"),
        (&display.tos_uri, "consent_link_terms"),
    ]
    .into_iter()
    .filter_map(|(uri, key)| {
        uri.as_ref().map(|href| ClientLink {
            href: href.clone(),
            text: page.text(key),
        })
    })
    .collect();
    let logo = display
        .logo_uri
        .as_deref()
        .and_then(|u| url::Url::parse(u).ok())
        .filter(|u| u.scheme() == "https");
    let mut ctx = page.context(&page.text("consent_title"));
    ctx.insert("client_name", name);
    ctx.insert(
        "intro",
        &page.text("consent_intro").replace("{client}", name),
    );
    ctx.insert("scopes", &scopes);
    ctx.insert("links", &links);
    ctx.insert("logo_uri", &logo.as_ref().map_or("", |u| u.as_str()));
    ctx.insert(
        "logo_alt",
        &page.text("consent_logo_alt").replace("{client}", name),
    );
    let mut response = page.render(StatusCode::OK, "pages/consent.html", &ctx)?;
    if let Some(logo) = logo
        && let Ok(csp) = HeaderValue::from_str(&super::content_security_policy(Some(
            &logo.origin().ascii_serialization(),
        )))
    {
        response.headers_mut().insert(CONTENT_SECURITY_POLICY, csp);
    }
    Ok(response)
}

pub async fn submit(
    req: HttpRequest,
    state: web::Data<IdpState>,
    form: web::Form<ConsentForm>,
    client: ClientInfo,
) -> Result<HttpResponse, PageError> {
    let page = Page::new(&req, &state, None);
    page.check_csrf(&req, &form.csrf_token)?;
    let Some(pending) = pending(&req, &state).await.map_err(|e| page.error(e))? else {
        return nothing_waiting(&page);
    };
    let ip = client.ip_address.clone();
    let user_id = pending.session.user_id.clone();
    match form.decision.as_str() {
        "allow" => {
            consent::grant(&state, &user_id, &pending.request, ip)
                .await
                .map_err(|e| page.error(e))?;
            let location = code::issue(
                &state,
                &pending.request,
                &pending.session,
                Some(&pending.cookie),
            )
            .await
            .map_err(|e| page.error(e))?;
            match location {
                Some(location) => Ok(page
                    .redirect(&location)
                    .cookie(flow::expired(&state, flow::AUTH_REQUEST_COOKIE))
                    .finish()),
                None => nothing_waiting(&page),
            }
        }
        "deny" => {
            if !code::discard(&state, &pending.cookie)
                .await
                .map_err(|e| page.error(e))?
            {
                return nothing_waiting(&page);
            }
            consent::denied(&state, &user_id, &pending.request, ip)
                .await
                .map_err(|e| page.error(e))?;
            let refusal = ErrorRedirect {
                redirect_uri: pending.request.redirect(),
                error: "access_denied",
                description: "the person did not allow the request".to_owned(),
                state: pending.request.state.clone(),
            };
            Ok(page
                .redirect(&refusal.location(&state.settings.issuer))
                .cookie(flow::expired(&state, flow::AUTH_REQUEST_COOKIE))
                .finish())
        }
        _ => Err(page.error(JourneyError::BadRequest("no decision".into()))),
    }
}
