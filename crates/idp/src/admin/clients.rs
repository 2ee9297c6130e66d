//! `idp admin client create|list|show|delete`: OIDC clients registered by HCC staff, through the
//! admin API's journey functions. The metadata rules are those of RFC 7591 registration
//! (`oidc::registration::validate_metadata`); only staff may mark a client first-party.

use clap::Subcommand;
use serde::Serialize;

use crate::admin::cli::staff;
use crate::admin::output::{CliError, Output};
use crate::journeys::JourneyError;
use crate::journeys::administration;
use crate::oidc::client::{Client, GRANT_AUTHORIZATION_CODE, GRANT_REFRESH_TOKEN, Registered};
use crate::oidc::registration::ClientMetadata;
use crate::state::IdpState;
use crate::web::admin_api::wire::{ClientJson, CreatedClient};

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client; prints its client_id and, once, its secret.
    Create(CreateClientArgs),
    /// List clients (never their secrets).
    List,
    /// Show one client (never its secret).
    Show { client_id: String },
    /// Delete a client with its codes and tokens.
    Delete { client_id: String },
}

/// Runs one `idp admin client …` command.
pub async fn run(state: &IdpState, command: ClientCommand, out: Output) -> anyhow::Result<()> {
    match command {
        ClientCommand::Create(args) => create(state, args, out).await,
        ClientCommand::List => list(state, out).await,
        ClientCommand::Show { client_id } => show(state, &client_id, out).await,
        ClientCommand::Delete { client_id } => delete(state, &client_id, out).await,
    }
}

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
pub async fn create(state: &IdpState, args: CreateClientArgs, out: Output) -> anyhow::Result<()> {
    let first_party = args.first_party;
    let Registered { client, secret } =
        administration::create_client(state, &staff(), &args.metadata(), first_party).await?;
    let answer = CreatedClient {
        client: client.clone().into(),
        client_secret: secret.map(|s| s.expose().to_owned()),
    };
    out.answer(&answer, || {
        print_created(&client, answer.client_secret.as_deref())
    })
}

fn print_created(client: &Client, secret: Option<&str>) {
    println!("Client {:?} registered.", client.name);
    println!("client_id: {}", client.client_id);
    match secret {
        Some(secret) => {
            println!("client_secret: {secret}");
            println!("Store the secret now: only its hash is kept, it cannot be shown again.");
        }
        None => println!("A public client: no secret; it must use PKCE."),
    }
}

/// One line per client: id, name, auth method, grants, redirect URIs. Never a secret.
pub async fn list(state: &IdpState, out: Output) -> anyhow::Result<()> {
    let clients = administration::clients(state, &staff()).await?;
    let lines: Vec<String> = clients.iter().map(row).collect();
    let json: Vec<ClientJson> = clients.into_iter().map(Into::into).collect();
    out.answer(&json, || lines.iter().for_each(|l| println!("{l}")))
}

fn row(client: &Client) -> String {
    format!(
        "{}\t{}\t{}\t{}\t{}",
        client.client_id,
        client.name,
        client.auth_method.as_str(),
        client.grant_types.join(","),
        client.redirect_uris.join(" "),
    )
}

/// A client id that names no client, said as the operator typed it.
fn unknown(client_id: &str) -> impl FnOnce(JourneyError) -> anyhow::Error {
    move |e| match e {
        JourneyError::NotFound => CliError::NotFound(format!("no client {client_id:?}")).into(),
        other => other.into(),
    }
}

async fn show(state: &IdpState, client_id: &str, out: Output) -> anyhow::Result<()> {
    let client = administration::client(state, &staff(), client_id)
        .await
        .map_err(unknown(client_id))?;
    let line = row(&client);
    out.answer(&ClientJson::from(client), || println!("{line}"))
}

/// What `client delete --json` prints.
#[derive(Debug, Serialize)]
struct Deleted<'a> {
    client_id: &'a str,
    deleted: bool,
}

/// Deletes a client with its codes and tokens; an unknown id is an error.
pub async fn delete(state: &IdpState, client_id: &str, out: Output) -> anyhow::Result<()> {
    let client = administration::client(state, &staff(), client_id)
        .await
        .map_err(unknown(client_id))?;
    administration::delete_client(state, &staff(), client_id)
        .await
        .map_err(unknown(client_id))?;
    let answer = Deleted {
        client_id,
        deleted: true,
    };
    out.answer(&answer, || {
        println!(
            "Client {:?} ({client_id}) deleted, with its codes and tokens.",
            client.name
        )
    })
}
