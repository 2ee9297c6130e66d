//! What tokens say: ID token claims (OIDC Core §2, §5.1), JWT access token claims (RFC 9068),
//! and the person's claims by scope (profile, email, and HCC's organisation scope).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::Scope;
use crate::domain::scope::{EMAIL, ORGANISATION, PROFILE};
use crate::state::IdpState;
use crate::storage::models::User;
use crate::storage::{DbConnection, DbError, users};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrganisationClaim {
    pub id: String,
    pub name: String,
}

/// Claims about the person, released by scope.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UserClaims {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organisation: Option<OrganisationClaim>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

impl UserClaims {
    pub fn for_scope(user: &User, organisation: Option<OrganisationClaim>, scope: &Scope) -> Self {
        let mut claims = UserClaims::default();
        if scope.contains(EMAIL) {
            claims.email = Some(user.email.clone());
            // The address was proven by following the invitation link sent to it.
            claims.email_verified = Some(true);
        }
        if scope.contains(PROFILE) {
            claims.given_name = user.first_name.clone();
            claims.family_name = user.last_name.clone();
            let full = [user.first_name.as_deref(), user.last_name.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            claims.name = (!full.is_empty()).then_some(full);
        }
        if scope.contains(ORGANISATION) {
            claims.organisation = organisation;
            claims.role = Some(user.role.public_name().to_owned());
        }
        claims
    }
}

/// The person tokens are issued for, with their organisation: what the claims and the admin
/// scope are decided from.
pub struct Person {
    pub user: User,
    pub organisation: Option<OrganisationClaim>,
}

impl Person {
    /// The person and their organisation, in one round trip.
    pub fn load(conn: &mut DbConnection, user_id: &str) -> Result<Option<Self>, DbError> {
        Ok(
            users::find_with_organisation(conn, user_id)?.map(|(user, organisation)| Person {
                user,
                organisation: organisation.map(|o| OrganisationClaim {
                    id: o.id,
                    name: o.name,
                }),
            }),
        )
    }

    pub fn claims(&self, scope: &Scope) -> UserClaims {
        UserClaims::for_scope(&self.user, self.organisation.clone(), scope)
    }
}

/// Loads the person and the claims the scope releases.
pub fn load_user_claims(
    conn: &mut DbConnection,
    user_id: &str,
    scope: &Scope,
) -> Result<Option<(User, UserClaims)>, DbError> {
    Ok(Person::load(conn, user_id)?.map(|person| {
        let claims = person.claims(scope);
        (person.user, claims)
    }))
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub auth_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    pub acr: String,
    pub amr: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    pub azp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    #[serde(flatten)]
    pub user: UserClaims,
}

/// RFC 9068 §2.2.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub client_id: String,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

/// OIDC Core §3.1.3.6: base64url of the left half of SHA-256 of the access token.
pub fn at_hash(access_token: &str) -> String {
    let digest = Sha256::digest(access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

/// The `sid` claim of a session: derived from the session's key, so it names the session
/// without revealing anything that would let someone present it.
pub fn sid(state: &IdpState, session_id_hash: &str) -> String {
    state.keyring.mac("sid/v1", session_id_hash.as_bytes())
}

pub fn amr_list(amr: &str) -> Vec<String> {
    amr.split(' ')
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .collect()
}
