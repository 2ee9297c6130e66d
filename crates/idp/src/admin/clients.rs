//! `idp admin client create|list|delete`: OIDC clients registered by HCC staff. The metadata rules
//! are those of RFC 7591 registration (`oidc::registration::validate_metadata`); only the CLI may
//! mark a client first-party.

use anyhow::bail;

use crate::oidc::client::{Client, GRANT_AUTHORIZATION_CODE, GRANT_REFRESH_TOKEN, Registered};
use crate::oidc::registration::{
    ClientMetadata, RegistrationRules, Via, create_client, validate_metadata,
};
use crate::state::IdpState;
use crate::storage::audit::{self, AuditRecord};
use crate::storage::{DbError, clients};

#[derive(Debug, Clone, clap::Args)]
pub struct CreateClientArgs {
    /// The name shown to HCC staff and in the audit log.
    #[arg(long)]
    pub name: String,
    /// An exact redirect URI (repeat for several): https, or http on loopback when allowed.
    #[arg(long = "redirect-uri")]
    pub redirect_uris: Vec<String>,
    /// Where RP-initiated logout may return to (repeat for several).
    #[arg(long = "post-logout-redirect-uri")]
    pub post_logout_redirect_uris: Vec<String>,
    /// The client's OIDC Back-Channel Logout endpoint.
    #[arg(long)]
    pub backchannel_logout_uri: Option<String>,
    /// A public client (no secret, PKCE required); the same as --auth-method none.
    #[arg(long)]
    pub public: bool,
    /// client_secret_basic, client_secret_post or none.
    #[arg(long, default_value = "client_secret_basic")]
    pub auth_method: String,
    /// authorization_code, refresh_token or client_credentials (repeat for several);
    /// default: authorization_code and refresh_token.
    #[arg(long = "grant-type")]
    pub grant_types: Vec<String>,
    /// Space-separated scope values the client may ask for; default: every supported scope.
    #[arg(long)]
    pub scope: Option<String>,
    /// One of HCC's own applications.
    #[arg(long)]
    pub first_party: bool,
}

impl CreateClientArgs {
    fn metadata(self) -> ClientMetadata {
        let grant_types = if self.grant_types.is_empty() {
            vec![
                GRANT_AUTHORIZATION_CODE.to_owned(),
                GRANT_REFRESH_TOKEN.to_owned(),
            ]
        } else {
            self.grant_types
        };
        ClientMetadata {
            redirect_uris: Some(self.redirect_uris),
            token_endpoint_auth_method: Some(if self.public {
                "none".to_owned()
            } else {
                self.auth_method
            }),
            grant_types: Some(grant_types),
            response_types: None,
            client_name: Some(self.name),
            post_logout_redirect_uris: Some(self.post_logout_redirect_uris),
            backchannel_logout_uri: self.backchannel_logout_uri,
            backchannel_logout_session_required: None,
            scope: self.scope,
            ..ClientMetadata::default()
        }
    }
}

/// Registers a client and prints its id and, this once, its secret.
pub async fn create(state: &IdpState, args: CreateClientArgs) -> anyhow::Result<()> {
    let first_party = args.first_party;
    let mut new = validate_metadata(
        &args.metadata(),
        RegistrationRules::from_settings(&state.settings.oidc),
    )?;
    new.first_party = first_party;
    let Registered { client, secret } = create_client(state, new, Via::Cli, None).await?;
    println!("Client {:?} registered.", client.name);
    println!("client_id: {}", client.client_id);
    match secret {
        Some(secret) => {
            println!("client_secret: {}", secret.expose());
            println!("Store the secret now: only its hash is kept, it cannot be shown again.");
        }
        None => println!("A public client: no secret; it must use PKCE."),
    }
    Ok(())
}

/// One line per client: id, name, auth method, grants, redirect URIs. Never a secret.
pub async fn list(state: &IdpState) -> anyhow::Result<()> {
    let rows = state.db.run(clients::list).await?;
    for client in rows.into_iter().map(Client::from_row) {
        println!(
            "{}\t{}\t{}\t{}\t{}",
            client.client_id,
            client.name,
            client.auth_method.as_str(),
            client.grant_types.join(","),
            client.redirect_uris.join(" "),
        );
    }
    Ok(())
}

/// Deletes a client with its codes and tokens; an unknown id is an error.
pub async fn delete(state: &IdpState, client_id: &str) -> anyhow::Result<()> {
    let id = client_id.to_owned();
    let now = state.now();
    let deleted = state
        .db
        .transaction(move |conn| {
            let Some(row) = clients::find(conn, &id)? else {
                return Ok::<_, DbError>(None);
            };
            clients::delete(conn, &id)?;
            let mut record = AuditRecord::success("client_deleted")
                .details(serde_json::json!({ "name": row.name, "via": Via::Cli.as_str() }));
            record.client_id = Some(id);
            audit::record(conn, record, now)?;
            Ok(Some(row.name))
        })
        .await?;
    match deleted {
        Some(name) => println!("Client {name:?} ({client_id}) deleted, with its codes and tokens."),
        None => bail!("no client {client_id:?}"),
    }
    Ok(())
}
