//! `idp admin …` as HCC staff run it on the server: the real binary in a process of its own on
//! the test app's database, answering with `--json` in the admin API's JSON (or in text), with
//! the same rules as the API — the last superuser stays, a mistake fails with a clear message.

use idp::domain::Role;
use reqwest::StatusCode;
use serde_json::Value;

use crate::both_backends;
use crate::driver::*;
use crate::helpers::*;

/// A time the CLI printed (RFC 3339 in UTC) as unix seconds.
fn unix(value: &Value) -> i64 {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("not a time: {value}"));
    assert!(text.ends_with('Z'), "{text} is not in UTC");
    idp::clock::parse_time(text, 0).unwrap_or_else(|| panic!("{text} is not RFC 3339"))
}

/// The items of a list answer (the CLI prints every page as one array).
fn items(answer: &Value) -> &Vec<Value> {
    answer
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {answer}"))
}

fn with_field<'a>(list: &'a Value, field: &str, value: &str) -> Option<&'a Value> {
    items(list).iter().find(|item| item[field] == value)
}

async fn client_credentials(app: &TestApp, id: &str, secret: &str) -> (StatusCode, Value) {
    let response = http()
        .post(format!("{}/token", app.address))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    json_of(response).await
}

async fn a_created_client_s_id_and_secret_work_at_the_token_endpoint(backend: Backend) {
    let app = spawn_app(backend).await;
    let cli = app.admin_cli();
    let created = cli
        .json(&[
            "client",
            "create",
            "--name",
            "Loonkoppeling",
            "--grant-type",
            "client_credentials",
        ])
        .await;
    let id = created["client_id"].as_str().expect("a client_id");
    let secret = created["client_secret"].as_str().expect("a client_secret");
    assert!(secret.len() >= 43, "{created}");
    assert_eq!(created["name"], "Loonkoppeling");
    assert_eq!(
        created["grant_types"],
        serde_json::json!(["client_credentials"])
    );
    assert_eq!(created["token_endpoint_auth_method"], "client_secret_basic");
    unix(&created["created_at"]);

    let (status, tokens) = client_credentials(&app, id, secret).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(
        jwt_part(tokens["access_token"].as_str().unwrap(), 1)["sub"],
        id
    );

    let listed = cli.json(&["client", "list"]).await;
    let entry = with_field(&listed, "client_id", id).expect("the client is listed");
    assert!(
        entry.get("client_secret").is_none(),
        "the secret is shown once"
    );
    let shown = cli.json(&["client", "show", id]).await;
    assert_eq!(shown["name"], "Loonkoppeling");

    let deleted = cli.json(&["client", "delete", id]).await;
    assert_eq!(deleted["client_id"], id);
    assert_eq!(deleted["deleted"], true);
    let listed = cli.json(&["client", "list"]).await;
    assert!(with_field(&listed, "client_id", id).is_none(), "{listed}");
    let (status, _) = client_credentials(&app, id, secret).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (code, failure) = cli.json_failure(&["client", "delete", id]).await;
    assert_eq!(code, 1);
    assert_eq!(failure["error"], "not-found");
    assert!(
        failure["detail"].as_str().unwrap().contains(id),
        "{failure}"
    );
    // The command line's actions are audited as its own.
    let events = app.admin().audit_log().await;
    let registered = events
        .iter()
        .find(|e| e.event == "client_registered")
        .expect("client_registered");
    assert!(
        registered.details.contains("\"via\":\"cli\""),
        "{registered:?}"
    );
    let deleted = events
        .iter()
        .find(|e| e.event == "client_deleted")
        .expect("client_deleted");
    assert!(deleted.details.contains("\"via\":\"cli\""), "{deleted:?}");
}

async fn a_public_client_has_no_secret(backend: Backend) {
    let app = spawn_app(backend).await;
    let created = app
        .admin_cli()
        .json(&[
            "client",
            "create",
            "--name",
            "Mobiele app",
            "--public",
            "--redirect-uri",
            "https://app.example/callback",
        ])
        .await;
    assert!(created["client_id"].is_string());
    assert!(created["client_secret"].is_null(), "{created}");
    assert_eq!(created["token_endpoint_auth_method"], "none");
    let rows = app.admin().clients().await;
    assert_eq!(rows.len(), 1);
    assert!(rows[0].secret_hash.is_none());
}

async fn organisations_are_created_listed_shown_and_renamed(backend: Backend) {
    let app = spawn_app(backend).await;
    let cli = app.admin_cli();
    let created = cli.json(&["org", "create", "EK88"]).await;
    assert_eq!(created["name"], "EK88");
    assert_eq!(created["created"], true);
    let id = created["id"].as_str().expect("an id").to_owned();
    assert!((unix(&created["created_at"]) - app.state.now()).abs() < 120);

    let again = cli.json(&["org", "create", "ek88", "--if-missing"]).await;
    assert_eq!(again["id"], id.as_str());
    assert_eq!(again["created"], false);
    let (code, failure) = cli.json_failure(&["org", "create", "EK88"]).await;
    assert_eq!(code, 1);
    assert_eq!(failure["error"], "conflict");
    assert!(
        failure["detail"]
            .as_str()
            .unwrap()
            .contains("exists already")
    );

    cli.json(&["org", "create", "Ajax"]).await;
    let listed = cli.json(&["org", "list"]).await;
    assert_eq!(items(&listed).len(), 2, "{listed}");
    assert!(with_field(&listed, "id", &id).is_some_and(|o| o["name"] == "EK88"));

    let renamed = cli.json(&["org", "rename", "EK88", "EK88 Verzuim"]).await;
    assert_eq!(renamed["id"], id.as_str());
    assert_eq!(renamed["name"], "EK88 Verzuim");
    let shown = cli.json(&["org", "show", &id]).await;
    assert_eq!(shown["name"], "EK88 Verzuim");
    let (_, failure) = cli.json_failure(&["org", "rename", &id, "Ajax"]).await;
    assert_eq!(failure["error"], "conflict");
    assert!(app.admin().logged("organisation_created", "success").await);
    assert!(app.admin().logged("organisation_renamed", "success").await);

    // Without --json the text stays: one line per organisation.
    let text = cli.run(&["org", "list"]).await;
    assert!(text.succeeded(), "{text:?}");
    assert!(
        text.stdout.contains(&format!("{id}\tEK88 Verzuim")),
        "{text:?}"
    );
    assert!(serde_json::from_str::<Value>(&text.stdout).is_err());
}

async fn an_invitation_is_pending_for_three_days_until_revoked(backend: Backend) {
    let app = spawn_app(backend).await;
    let cli = app.admin_cli();
    cli.json(&["org", "create", "EK88"]).await;
    let invited = cli
        .json(&[
            "invite",
            "--organization",
            "EK88",
            "--email",
            "marco@ek88.nl",
            "--first-name",
            "Marco",
            "--role",
            "superuser",
        ])
        .await;
    assert_eq!(invited["email"], "marco@ek88.nl");
    assert_eq!(invited["role"], "superuser");
    assert_eq!(invited["status"], "pending");
    assert!(
        invited.get("link").is_none(),
        "the link only with --print-link"
    );
    let expires = unix(&invited["expires_at"]);
    assert!(
        (expires - app.state.now() - 72 * 3600).abs() < 120,
        "{invited}"
    );
    let id = invited["id"].as_str().unwrap().to_owned();
    // The CLI hands the mail to the transport itself.
    let mail = app.mailbox().nth("marco@ek88.nl", 1).await;
    assert!(mail.link().contains("/invitation/"));

    let listed = cli
        .json(&["invitation", "list", "--organization", "EK88"])
        .await;
    assert_eq!(items(&listed).len(), 1, "{listed}");
    let entry = with_field(&listed, "id", &id).expect("the invitation is listed");
    assert_eq!(entry["status"], "pending");
    assert_eq!(unix(&entry["expires_at"]), expires);

    let revoked = cli.json(&["invitation", "revoke", &id]).await;
    assert_eq!(revoked["id"], id.as_str());
    assert_eq!(revoked["status"], "revoked");
    let listed = cli
        .json(&["invitation", "list", "--organization", "EK88"])
        .await;
    assert_eq!(with_field(&listed, "id", &id).unwrap()["status"], "revoked");
    let response = http().get(mail.link()).send().await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::GONE,
        "a revoked link is dead"
    );
    let (code, failure) = cli.json_failure(&["invitation", "revoke", &id]).await;
    assert_eq!(code, 1);
    assert_eq!(failure["error"], "conflict");
    assert!(
        failure["detail"].as_str().unwrap().contains("revoked"),
        "{failure}"
    );
    assert!(app.admin().logged("invitation_revoked", "success").await);
}

async fn an_invitation_is_resent_with_a_new_link(backend: Backend) {
    let app = spawn_app(backend).await;
    let cli = app.admin_cli();
    cli.json(&["org", "create", "EK88"]).await;
    let first = cli
        .json(&[
            "invite",
            "--organization",
            "EK88",
            "--email",
            "marco@ek88.nl",
        ])
        .await;
    let first_id = first["id"].as_str().unwrap();
    let resent = cli
        .json(&["invitation", "resend", first_id, "--print-link"])
        .await;
    assert_ne!(resent["id"], first_id);
    assert_eq!(resent["status"], "pending");
    let link = resent["link"].as_str().expect("--print-link adds the link");
    assert!(link.starts_with(&app.address), "{link}");
    let listed = cli
        .json(&["invitation", "list", "--organization", "EK88"])
        .await;
    assert_eq!(
        with_field(&listed, "id", first_id).unwrap()["status"],
        "revoked"
    );
    assert_eq!(
        with_field(&listed, "id", resent["id"].as_str().unwrap()).unwrap()["status"],
        "pending"
    );
    let mail = app.mailbox().nth("marco@ek88.nl", 2).await;
    assert_eq!(mail.link(), link);
}

async fn the_first_hcc_staff_member_is_invited_into_hcc(backend: Backend) {
    let app = spawn_app(backend).await;
    let cli = app.admin_cli();
    let invite = [
        "invite",
        "--organization",
        "HCC",
        "--role",
        "hcc-staff",
        "--email",
        "anna@humancapitalcare.nl",
        "--first-name",
        "Anna",
        "--last-name",
        "de Vries",
        "--print-link",
    ];
    // The organisation is not made on the fly: the operator is told how.
    let (code, failure) = cli.json_failure(&invite).await;
    assert_eq!(code, 1);
    assert_eq!(failure["error"], "not-found");
    assert!(
        failure["detail"]
            .as_str()
            .unwrap()
            .contains("idp admin org create")
    );

    cli.json(&["org", "create", "HCC"]).await;
    let invited = cli.json(&invite).await;
    assert_eq!(invited["role"], "hcc-staff");
    assert_eq!(invited["status"], "pending");
    let link = invited["link"].as_str().expect("the link");
    let page = http().get(link).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK, "the registration page opens");
    assert_eq!(
        app.mailbox()
            .nth("anna@humancapitalcare.nl", 1)
            .await
            .link(),
        link
    );

    let person = cli
        .json(&["user", "show", "anna@humancapitalcare.nl"])
        .await;
    assert_eq!(person["role"], "hcc-staff");
    assert_eq!(person["status"], "invited");
    assert_eq!(person["first_name"], "Anna");
    assert_eq!(person["last_name"], "de Vries");
    let listed = cli
        .json(&["invitation", "list", "--organization", "HCC"])
        .await;
    assert_eq!(items(&listed).len(), 1);
    assert_eq!(items(&listed)[0]["role"], "hcc-staff");
}

/// EK88 with one active superuser and one member; the organisation's id.
async fn ek88(app: &TestApp) -> String {
    let org = app.admin().create_organisation("EK88").await;
    seed_person(app, &org, "hoofd@ek88.nl", Role::Superuser).await;
    seed_person(app, &org, "medewerker@ek88.nl", Role::Member).await;
    org
}

async fn people_are_listed_and_roles_change_but_the_last_superuser_stays(backend: Backend) {
    let app = spawn_app(backend).await;
    ek88(&app).await;
    let cli = app.admin_cli();
    let people = cli.json(&["user", "list", "--organization", "EK88"]).await;
    assert_eq!(items(&people).len(), 2, "{people}");
    let boss = with_field(&people, "email", "hoofd@ek88.nl").expect("the superuser");
    assert_eq!(boss["role"], "superuser");
    assert_eq!(boss["status"], "active");
    assert_eq!(boss["authenticator"], true);
    assert!(boss["last_login_at"].is_null());
    assert_eq!(boss["blocked_by_staff"], false);

    // The last active superuser is neither demoted nor blocked, with --json or without.
    let (code, failure) = cli
        .json_failure(&["user", "set-role", "hoofd@ek88.nl", "member"])
        .await;
    assert_eq!(code, 1);
    assert_eq!(failure["error"], "last-superuser");
    assert!(
        failure["detail"]
            .as_str()
            .unwrap()
            .contains("last active superuser"),
        "{failure}"
    );
    let text = cli
        .run(&["user", "set-role", "hoofd@ek88.nl", "member"])
        .await;
    assert_eq!(text.code, Some(1));
    assert!(text.stderr.contains("last active superuser"), "{text:?}");
    assert_eq!(text.stdout, "");
    let (_, failure) = cli
        .json_failure(&["user", "disable", "hoofd@ek88.nl"])
        .await;
    assert_eq!(failure["error"], "last-superuser");
    let boss = cli.json(&["user", "show", "hoofd@ek88.nl"]).await;
    assert_eq!(boss["role"], "superuser");
    assert_eq!(boss["status"], "active");

    // With a second superuser the first may step down.
    let promoted = cli
        .json(&["user", "set-role", "medewerker@ek88.nl", "superuser"])
        .await;
    assert_eq!(promoted["role"], "superuser");
    let demoted = cli
        .json(&["user", "set-role", "hoofd@ek88.nl", "member"])
        .await;
    assert_eq!(demoted["role"], "member");
    let (_, failure) = cli
        .json_failure(&["user", "set-role", "hoofd@ek88.nl", "hcc-staff"])
        .await;
    assert_eq!(failure["error"], "invalid");

    let changes = cli
        .json(&["audit", "--organization", "EK88", "--type", "role_changed"])
        .await;
    assert_eq!(items(&changes).len(), 2, "{changes}");
    let step_down = with_field(&changes, "user_email", "hoofd@ek88.nl").expect("hoofd's change");
    assert_eq!(step_down["details"]["from"], "superuser");
    assert_eq!(step_down["details"]["to"], "member");
    assert!(
        step_down["by"].is_null(),
        "the command line acts for no account"
    );
}

async fn a_person_is_disabled_enabled_reset_and_logged_out(backend: Backend) {
    let app = spawn_app(backend).await;
    ek88(&app).await;
    let cli = app.admin_cli();
    let disabled = cli.json(&["user", "disable", "medewerker@ek88.nl"]).await;
    assert_eq!(disabled["status"], "disabled");
    assert_eq!(disabled["blocked_by_staff"], true);
    let enabled = cli.json(&["user", "enable", "medewerker@ek88.nl"]).await;
    assert_eq!(enabled["status"], "active");
    let reset = cli
        .json(&["user", "reset-authenticator", "medewerker@ek88.nl"])
        .await;
    assert_eq!(reset["authenticator"], false);
    let logged_out = cli.json(&["user", "logout", "medewerker@ek88.nl"]).await;
    assert_eq!(logged_out["email"], "medewerker@ek88.nl");
    assert_eq!(logged_out["sessions_ended"], 0);
    let sessions = cli.json(&["user", "sessions", "medewerker@ek88.nl"]).await;
    assert!(items(&sessions).is_empty());
    for event in [
        "user_disabled",
        "user_enabled",
        "otp_reset",
        "logged_out_everywhere",
    ] {
        assert!(app.admin().logged(event, "success").await, "{event}");
    }
    let (_, failure) = cli.json_failure(&["user", "show", "niemand@ek88.nl"]).await;
    assert_eq!(failure["error"], "not-found");
}

async fn the_audit_log_is_filtered_by_person_type_and_time(backend: Backend) {
    let app = spawn_app(backend).await;
    let cli = app.admin_cli();
    cli.json(&["org", "create", "EK88"]).await;
    cli.json(&["org", "create", "Ajax"]).await;
    for (org, email) in [("EK88", "marco@ek88.nl"), ("Ajax", "johan@ajax.nl")] {
        cli.json(&["invite", "--organization", org, "--email", email])
            .await;
    }
    let everything = cli.json(&["audit", "--type", "invitation_created"]).await;
    assert_eq!(items(&everything).len(), 2, "{everything}");
    let ek88 = cli
        .json(&[
            "audit",
            "--organization",
            "EK88",
            "--type",
            "invitation_created",
        ])
        .await;
    assert_eq!(items(&ek88).len(), 1, "{ek88}");
    assert_eq!(items(&ek88)[0]["user_email"], "marco@ek88.nl");
    unix(&items(&ek88)[0]["occurred_at"]);
    let johan = cli.json(&["audit", "--user", "johan@ajax.nl"]).await;
    assert!(!items(&johan).is_empty());
    assert!(
        items(&johan)
            .iter()
            .all(|e| e["user_email"] == "johan@ajax.nl"),
        "{johan}"
    );
    let before = cli
        .json(&["audit", "--since", "2000-01-01", "--until", "2001-01-01"])
        .await;
    assert!(items(&before).is_empty(), "{before}");

    // Exported as JSON lines: one event a line, the same events, oldest first.
    let run = cli
        .run(&[
            "audit",
            "--jsonl",
            "--type",
            "invitation_created",
            "--since",
            "1d",
        ])
        .await;
    assert!(run.succeeded(), "{run:?}");
    let lines: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line one JSON object"))
        .collect();
    assert_eq!(lines.len(), 2, "{}", run.stdout);
    let mut emails: Vec<&str> = lines
        .iter()
        .filter_map(|l| l["user_email"].as_str())
        .collect();
    emails.sort();
    assert_eq!(emails, ["johan@ajax.nl", "marco@ek88.nl"]);
    assert!(unix(&lines[0]["occurred_at"]) <= unix(&lines[1]["occurred_at"]));
}

async fn keys_are_listed_and_rotated(backend: Backend) {
    let app = spawn_app(backend).await;
    let cli = app.admin_cli();
    let keys = cli.json(&["keys", "list"]).await;
    assert_eq!(items(&keys).len(), 1, "{keys}");
    assert_eq!(items(&keys)[0]["status"], "signing");
    let old = items(&keys)[0]["kid"].clone();
    let rotated = cli.json(&["keys", "rotate"]).await;
    assert_eq!(rotated["status"], "signing");
    assert_ne!(rotated["kid"], old);
    let keys = cli.json(&["keys", "list"]).await;
    assert_eq!(items(&keys).len(), 2);
    let old = items(&keys).iter().find(|k| k["kid"] == old).unwrap();
    assert_eq!(old["status"], "published");
    assert!(unix(&old["publish_until"]) > app.state.now());
}

async fn a_bad_argument_gives_a_clear_error(backend: Backend) {
    let app = spawn_app(backend).await;
    let cli = app.admin_cli();
    cli.json(&["org", "create", "EK88"]).await;
    let bad_role = [
        "invite",
        "--organization",
        "EK88",
        "--email",
        "marco@ek88.nl",
        "--role",
        "boss",
    ];
    let (code, failure) = cli.json_failure(&bad_role).await;
    assert_eq!(code, 2, "a usage error");
    assert_eq!(failure["error"], "usage");
    let detail = failure["detail"].as_str().unwrap();
    assert!(
        detail.contains("'boss'") && detail.contains("hcc-staff"),
        "{failure}"
    );
    let (code, failure) = cli
        .json_failure(&["invite", "--organization", "EK88"])
        .await;
    assert_eq!(code, 2);
    assert!(
        failure["detail"].as_str().unwrap().contains("--email"),
        "{failure}"
    );
    let text = cli.run(&bad_role).await;
    assert_eq!(text.code, Some(2));
    assert!(text.stderr.contains("invalid value 'boss'"), "{text:?}");
    assert!(
        text.stderr.contains("hcc-staff"),
        "the choices are named: {text:?}"
    );

    let (code, failure) = cli
        .json_failure(&["invite", "--organization", "EK88", "--email", "marco@"])
        .await;
    assert_eq!(code, 1);
    assert_eq!(failure["error"], "invalid-argument");
    assert!(
        failure["detail"]
            .as_str()
            .unwrap()
            .contains("not a valid e-mail address"),
        "{failure}"
    );
    let (_, failure) = cli.json_failure(&["audit", "--since", "gisteren"]).await;
    assert_eq!(failure["error"], "invalid-argument");
    assert!(failure["detail"].as_str().unwrap().contains("gisteren"));
    let (_, failure) = cli
        .json_failure(&["user", "list", "--organization", "Onbekend"])
        .await;
    assert_eq!(failure["error"], "not-found");
    // The flag also works after the subcommand; nothing was invited by the failures.
    let run = cli
        .run(&["invitation", "list", "--organization", "EK88", "--json"])
        .await;
    assert!(run.succeeded(), "{run:?}");
    let listed: Value = serde_json::from_str(&run.stdout).unwrap();
    assert!(items(&listed).is_empty(), "{listed}");
}

both_backends!(
    a_created_client_s_id_and_secret_work_at_the_token_endpoint,
    a_public_client_has_no_secret,
    organisations_are_created_listed_shown_and_renamed,
    an_invitation_is_pending_for_three_days_until_revoked,
    an_invitation_is_resent_with_a_new_link,
    the_first_hcc_staff_member_is_invited_into_hcc,
    people_are_listed_and_roles_change_but_the_last_superuser_stays,
    a_person_is_disabled_enabled_reset_and_logged_out,
    the_audit_log_is_filtered_by_person_type_and_time,
    keys_are_listed_and_rotated,
    a_bad_argument_gives_a_clear_error,
);
