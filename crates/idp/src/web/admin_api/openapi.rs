//! The admin API's OpenAPI 3.1 document, generated from the handlers' annotations (utoipa) and
//! serialised once at start-up. docs/admin-api.openapi.json is a copy kept in step by a test.

use actix_web::web::Bytes;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi as Document3, Server};
use utoipa::{Modify, OpenApi};

use super::wire::*;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "HCC Identity admin API",
        description = "Organisation administration for superusers (their own organisation) and \
                       HumanCapitalCare staff (every organisation, clients, keys). Authorise with \
                       the person's own access token carrying the `admin` scope. Errors are RFC 9457 \
                       problem details; lists are paged with `?cursor=`.",
        version = "1"
    ),
    paths(
        super::openapi_document,
        super::list_organisations,
        super::create_organisation,
        super::get_organisation,
        super::rename_organisation,
        super::list_people,
        super::get_person,
        super::change_role,
        super::disable_person,
        super::enable_person,
        super::reset_authenticator,
        super::log_out_person,
        super::list_invitations,
        super::invite,
        super::resend_invitation,
        super::revoke_invitation,
        super::list_audit_events,
        super::list_clients,
        super::create_client,
        super::get_client,
        super::delete_client,
        super::list_keys,
        super::rotate_key,
    ),
    components(schemas(
        RoleName, OrganisationJson, OrganisationList, PersonJson, PersonList, InvitationJson,
        InvitationList, AuditEventJson, AuditEventList, InviteBody, RoleBody, NameBody,
        ClientJson, ClientList, CreatedClient, ClientBody, KeyJson, KeyList, Problem,
        FieldProblem
    )),
    modifiers(&Bearer)
)]
pub struct ApiDoc;

/// The bearer token scheme, and the API's base path as its server.
struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut Document3) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format("JWT")
                        .description(Some(
                            "An access token of HCC Identity with the `admin` scope",
                        ))
                        .build(),
                ),
            );
        }
        openapi.servers = Some(vec![Server::new(super::BASE)]);
    }
}

/// The document, ready to send.
#[derive(Debug, Clone)]
pub struct Document(pub Bytes);

impl Document {
    pub fn build() -> Self {
        let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
        problems_as_problem_json(&mut doc);
        let json = serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".to_owned());
        Document(Bytes::from(json))
    }
}

/// Every response whose body is a `Problem` is `application/problem+json` (RFC 9457 §3).
fn problems_as_problem_json(doc: &mut serde_json::Value) {
    let Some(paths) = doc.get_mut("paths").and_then(|p| p.as_object_mut()) else {
        return;
    };
    for operation in paths
        .values_mut()
        .filter_map(|p| p.as_object_mut())
        .flat_map(|p| p.values_mut())
    {
        let Some(responses) = operation
            .get_mut("responses")
            .and_then(|r| r.as_object_mut())
        else {
            continue;
        };
        for response in responses.values_mut() {
            let Some(content) = response.get_mut("content").and_then(|c| c.as_object_mut()) else {
                continue;
            };
            let is_problem = content
                .get("application/json")
                .and_then(|c| c.pointer("/schema/$ref"))
                .is_some_and(|r| r == "#/components/schemas/Problem");
            if is_problem && let Some(body) = content.remove("application/json") {
                content.insert("application/problem+json".to_owned(), body);
            }
        }
    }
}
