//! The admin API (`/admin/api/v1`, docs/admin-api.md): who may call it, what superusers and
//! HCC staff may do, and tenant isolation — every endpoint and method, with ids guessed, copied
//! from another organisation, and of deleted rows, answers 404 exactly like a missing id.

use idp::domain::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::driver::*;
use crate::helpers::*;

/// EK88 with its superuser (and their API), and a member.
struct Ek88 {
    org: String,
    superuser: Person,
    api: AdminApi,
    member: Person,
}

async fn ek88(app: &TestApp) -> Ek88 {
    let org = app.admin().create_organisation("EK88").await;
    let (superuser, api) = app
        .administrator(&org, "hoofd@ek88.nl", Role::Superuser)
        .await;
    let member = seed_person(app, &org, "medewerker@ek88.nl", Role::Member).await;
    Ek88 {
        org,
        superuser,
        api,
        member,
    }
}

/// HCC staff (in the organisation HCC) and their API.
async fn staff(app: &TestApp) -> AdminApi {
    let hcc = app.admin().create_organisation("HCC").await;
    app.administrator(&hcc, "staf@humancapitalcare.nl", Role::HccStaff)
        .await
        .1
}

async fn user_id(app: &TestApp, email: &str) -> String {
    app.admin().user(email).await.id
}

fn assert_problem(status: StatusCode, body: &Value, expected: StatusCode, kind: &str) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["type"], format!("urn:hcc:problem:{kind}"), "{body}");
    assert_eq!(body["status"], expected.as_u16());
    assert!(
        body["title"].is_string() && body["detail"].is_string(),
        "{body}"
    );
}

// Who may call it.
async fn a_request_without_a_token_is_401(backend: Backend) {
    let app = spawn_app(backend).await;
    let (status, body) = app.admin_api_anonymous().get("/organisations").await;
    assert_problem(status, &body, StatusCode::UNAUTHORIZED, "invalid-token");
}

async fn a_token_without_the_admin_scope_is_403(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.admin().create_organisation("EK88").await;
    let superuser = seed_person(&app, &org, "hoofd@ek88.nl", Role::Superuser).await;
    let api = app.admin_api_with_scope(&superuser, "openid email").await;
    let (status, body) = api.get("/organisations").await;
    assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
}

async fn a_member_never_gets_the_admin_scope(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.admin().create_organisation("EK88").await;
    let (_, api) = app.administrator(&org, "lid@ek88.nl", Role::Member).await;
    let (status, body) = api.get(&format!("/organisations/{org}/users")).await;
    assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
}

async fn a_third_party_client_never_gets_the_admin_scope(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = app.admin().create_organisation("EK88").await;
    let superuser = seed_person(&app, &org, "hoofd@ek88.nl", Role::Superuser).await;
    let rp = app.third_party_client().await;
    let browser = app.browser();
    let next = browser
        .authorize(&rp.pkce_authorize_url("openid admin", &[]), &superuser)
        .await;
    assert_eq!(next, "/consent");
    let page = browser.page("/consent").await;
    assert!(
        !page.contains("admin"),
        "the consent page asks nothing about admin"
    );
    let response = browser
        .submit("/consent", "/consent", &[("decision", "allow")])
        .await;
    let code = query_param(&location(&response), "code").unwrap();
    let (_, tokens) = rp.exchange_pkce(&code).await;
    assert_eq!(tokens["scope"], "openid", "{tokens}");
}

async fn a_demoted_superusers_token_stops_working_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let (_, second) = app
        .administrator(&ek.org, "tweede@ek88.nl", Role::Superuser)
        .await;
    let id = user_id(&app, &ek.superuser.email).await;
    let (status, body) = second
        .patch(
            &format!("/organisations/{}/users/{id}", ek.org),
            json!({"role": "member"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = ek
        .api
        .get(&format!("/organisations/{}/users", ek.org))
        .await;
    assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
}

async fn a_blocked_superusers_token_stops_working_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let (_, second) = app
        .administrator(&ek.org, "tweede@ek88.nl", Role::Superuser)
        .await;
    let id = user_id(&app, &ek.superuser.email).await;
    let (status, _) = second
        .post(
            &format!("/organisations/{}/users/{id}/disable", ek.org),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = ek
        .api
        .get(&format!("/organisations/{}/users", ek.org))
        .await;
    assert_problem(status, &body, StatusCode::UNAUTHORIZED, "invalid-token");
}

// What a superuser does.
async fn a_superuser_lists_the_people_of_their_organisation(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let people = ek
        .api
        .all(&format!("/organisations/{}/users", ek.org))
        .await;
    let emails: Vec<&str> = people
        .iter()
        .map(|p| p["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["hoofd@ek88.nl", "medewerker@ek88.nl"]);
    let superuser = &people[0];
    assert_eq!(superuser["role"], "superuser");
    assert_eq!(superuser["status"], "active");
    assert_eq!(superuser["authenticator"], true);
    assert!(
        superuser["last_login_at"].as_str().unwrap().ends_with('Z'),
        "{superuser}"
    );
    assert!(people[1]["last_login_at"].is_null(), "never logged in");
}

async fn the_people_list_is_paged_with_a_cursor(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    for i in 0..55 {
        seed_person(&app, &ek.org, &format!("p{i:02}@ek88.nl"), Role::Member).await;
    }
    let (status, first) = ek
        .api
        .get(&format!("/organisations/{}/users", ek.org))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first["items"].as_array().unwrap().len(), 50);
    assert!(first["next_cursor"].is_string());
    let all = ek
        .api
        .all(&format!("/organisations/{}/users", ek.org))
        .await;
    assert_eq!(all.len(), 57);
    let mut ids: Vec<&str> = all.iter().map(|p| p["id"].as_str().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 57, "no person twice");
}

async fn a_cursor_that_was_never_given_is_400(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let (status, body) = ek
        .api
        .get(&format!("/organisations/{}/users?cursor=forged!", ek.org))
        .await;
    assert_problem(status, &body, StatusCode::BAD_REQUEST, "bad-request");
}

async fn a_body_that_is_not_json_is_415(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let path = format!("/organisations/{}/invitations", ek.org);
    let json = r#"{"email": "ruud@ek88.nl"}"#;
    for content_type in ["text/plain", "application/x-www-form-urlencoded"] {
        let (status, body) = ek.api.post_raw(&path, content_type, json).await;
        assert_problem(
            status,
            &body,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
        );
    }
    // JSON that is not what the route takes stays 400.
    let (status, body) = ek.api.post_raw(&path, "application/json", "{").await;
    assert_problem(status, &body, StatusCode::BAD_REQUEST, "bad-request");
    // Nothing was invited.
    assert!(app.mailbox().mails_to("ruud@ek88.nl").is_empty());
}

async fn a_superuser_invites_a_colleague_and_the_mail_arrives(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let before = app.state.now();
    let (status, invitation) = ek
        .api
        .post(
            &format!("/organisations/{}/invitations", ek.org),
            json!({"email": "ruud@ek88.nl", "first_name": "Ruud", "last_name": "Gullit", "role": "member"}),
        )
        .await;
    let after = app.state.now();
    assert_eq!(status, StatusCode::CREATED, "{invitation}");
    assert_eq!(invitation["status"], "pending");
    assert_eq!(invitation["role"], "member");
    let mail = app.mailbox().nth("ruud@ek88.nl", 1).await;
    assert!(
        mail.text().contains("Beste heer/mevrouw Gullit,"),
        "{}",
        mail.text()
    );
    // The link is valid for 3 days from the moment of the invitation.
    let expires = invitation["expires_at"].as_str().unwrap();
    let expected: Vec<String> = (before..=after)
        .map(|t| idp::clock::rfc3339(t + 72 * 3600))
        .collect();
    assert!(
        expected.iter().any(|e| e == expires),
        "{expires} not in {expected:?}"
    );
    assert!(mail.text().contains("3 dagen"));
    let listed = ek
        .api
        .all(&format!("/organisations/{}/invitations", ek.org))
        .await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["expires_at"], expires);
}

async fn an_invitation_with_an_invalid_address_is_422_at_its_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let (status, body) = ek
        .api
        .post(
            &format!("/organisations/{}/invitations", ek.org),
            json!({"email": "geen adres", "role": "member"}),
        )
        .await;
    assert_problem(status, &body, StatusCode::UNPROCESSABLE_ENTITY, "invalid");
    assert_eq!(body["errors"][0]["field"], "email");
}

async fn a_superuser_cannot_invite_hcc_staff(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let (status, body) = ek
        .api
        .post(
            &format!("/organisations/{}/invitations", ek.org),
            json!({"email": "nep@ek88.nl", "role": "hcc-staff"}),
        )
        .await;
    assert_problem(status, &body, StatusCode::UNPROCESSABLE_ENTITY, "invalid");
}

async fn a_resent_invitation_replaces_the_old_link(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let (_, first) = ek
        .api
        .post(
            &format!("/organisations/{}/invitations", ek.org),
            json!({"email": "ruud@ek88.nl", "role": "member"}),
        )
        .await;
    let (status, second) = ek
        .api
        .post(
            &format!(
                "/organisations/{}/invitations/{}/resend",
                ek.org,
                first["id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    assert_ne!(second["id"], first["id"]);
    let listed = ek
        .api
        .all(&format!("/organisations/{}/invitations", ek.org))
        .await;
    let status_of = |id: &Value| {
        listed
            .iter()
            .find(|i| i["id"] == *id)
            .map(|i| i["status"].clone())
            .unwrap()
    };
    assert_eq!(status_of(&first["id"]), "revoked");
    assert_eq!(status_of(&second["id"]), "pending");
    app.mailbox().wait_for("ruud@ek88.nl", 2).await;
}

async fn a_revoked_invitation_link_stops_working(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let (_, invitation) = ek
        .api
        .post(
            &format!("/organisations/{}/invitations", ek.org),
            json!({"email": "ruud@ek88.nl", "role": "member"}),
        )
        .await;
    let mail = app.mailbox().nth("ruud@ek88.nl", 1).await;
    let (status, _) = ek
        .api
        .delete(&format!(
            "/organisations/{}/invitations/{}",
            ek.org,
            invitation["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let response = app.browser().get(&app.mailbox().link(&mail)).await;
    assert_eq!(response.status(), StatusCode::GONE);
}

async fn a_superuser_makes_a_member_superuser(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let id = user_id(&app, &ek.member.email).await;
    let (status, person) = ek
        .api
        .patch(
            &format!("/organisations/{}/users/{id}", ek.org),
            json!({"role": "superuser"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{person}");
    assert_eq!(person["role"], "superuser");
    assert!(app.admin().logged("role_changed", "success").await);
}

async fn the_last_superuser_cannot_be_demoted(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let id = user_id(&app, &ek.superuser.email).await;
    let (status, body) = ek
        .api
        .patch(
            &format!("/organisations/{}/users/{id}", ek.org),
            json!({"role": "member"}),
        )
        .await;
    assert_problem(status, &body, StatusCode::CONFLICT, "last-superuser");
}

async fn the_last_superuser_cannot_be_blocked(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let staff = staff(&app).await;
    let id = user_id(&app, &ek.superuser.email).await;
    let (status, body) = staff
        .post(
            &format!("/organisations/{}/users/{id}/disable", ek.org),
            json!({}),
        )
        .await;
    assert_problem(status, &body, StatusCode::CONFLICT, "last-superuser");
}

async fn nobody_is_made_hcc_staff_by_a_change_of_role(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let staff = staff(&app).await;
    let id = user_id(&app, &ek.member.email).await;
    let (status, body) = staff
        .patch(
            &format!("/organisations/{}/users/{id}", ek.org),
            json!({"role": "hcc-staff"}),
        )
        .await;
    assert_problem(status, &body, StatusCode::UNPROCESSABLE_ENTITY, "invalid");
}

async fn a_blocked_person_can_be_unblocked_by_their_superuser(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let id = user_id(&app, &ek.member.email).await;
    let path = format!("/organisations/{}/users/{id}", ek.org);
    let (_, blocked) = ek.api.post(&format!("{path}/disable"), json!({})).await;
    assert_eq!(blocked["status"], "disabled");
    let notice = app.mailbox().nth(&ek.member.email, 1).await;
    assert_eq!(
        notice.header("Subject").unwrap(),
        "Uw account is geblokkeerd"
    );
    assert!(
        notice
            .text()
            .contains("hoofdgebruiker (superuser) van uw organisatie")
    );
    let (status, unblocked) = ek.api.post(&format!("{path}/enable"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(unblocked["status"], "active");
}

async fn an_account_blocked_by_hcc_stays_blocked_for_its_superuser(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let staff = staff(&app).await;
    let id = user_id(&app, &ek.member.email).await;
    let path = format!("/organisations/{}/users/{id}", ek.org);
    let (_, blocked) = staff.post(&format!("{path}/disable"), json!({})).await;
    assert_eq!(blocked["blocked_by_staff"], true);
    let (status, body) = ek.api.post(&format!("{path}/enable"), json!({})).await;
    assert_problem(status, &body, StatusCode::FORBIDDEN, "blocked-by-staff");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("HCC staff blocked"),
        "{body}"
    );
    let (status, _) = staff.post(&format!("{path}/enable"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
}

async fn a_reset_authenticator_is_set_up_anew_at_the_next_login(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let id = user_id(&app, &ek.member.email).await;
    let (status, person) = ek
        .api
        .post(
            &format!("/organisations/{}/users/{id}/reset-authenticator", ek.org),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(person["authenticator"], false);
    let notice = app.mailbox().nth(&ek.member.email, 1).await;
    assert_eq!(
        notice.header("Subject").unwrap(),
        "Uw authenticator is gereset"
    );
    assert!(!notice.text().contains("http"), "a notice carries no link");
    let response = app
        .browser()
        .log_in_password(&ek.member.email, STRONG)
        .await;
    assert_eq!(location(&response), "/otp/setup");
}

async fn logging_someone_out_everywhere_ends_their_sessions(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let rp = app.refresh_client().await;
    let browser = app.browser();
    rp.sign_in(&browser, &ek.member, "openid").await;
    assert!(browser.is_logged_in(&rp).await);
    let id = user_id(&app, &ek.member.email).await;
    let (status, _) = ek
        .api
        .post(
            &format!("/organisations/{}/users/{id}/logout", ek.org),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(!browser.is_logged_in(&rp).await);
}

async fn the_activity_is_filtered_by_person_and_type(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let member_id = user_id(&app, &ek.member.email).await;
    ek.api
        .post(
            &format!("/organisations/{}/users/{member_id}/disable", ek.org),
            json!({}),
        )
        .await;
    let events = ek
        .api
        .all(&format!(
            "/organisations/{}/audit-events?user={member_id}&type=user_disabled",
            ek.org
        ))
        .await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["user_email"], "medewerker@ek88.nl");
    assert_eq!(events[0]["by_email"], "hoofd@ek88.nl");
    let logins = ek
        .api
        .all(&format!(
            "/organisations/{}/audit-events?type=login",
            ek.org
        ))
        .await;
    assert!(!logins.is_empty() && logins.iter().all(|e| e["event"] == "login"));
}

async fn the_activity_is_paged_newest_first(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let member_id = user_id(&app, &ek.member.email).await;
    for _ in 0..60 {
        ek.api
            .post(
                &format!("/organisations/{}/users/{member_id}/logout", ek.org),
                json!({}),
            )
            .await;
    }
    let events = ek
        .api
        .all(&format!("/organisations/{}/audit-events", ek.org))
        .await;
    assert!(events.len() > 50, "more than one page: {}", events.len());
    let times: Vec<&str> = events
        .iter()
        .map(|e| e["occurred_at"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
}

// Staff only.
async fn superusers_cannot_create_organisations(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let (status, body) = ek.api.post("/organisations", json!({"name": "Ajax"})).await;
    assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
}

async fn superusers_cannot_read_the_clients(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let (status, body) = ek.api.get("/clients").await;
    assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
}

async fn superusers_cannot_rotate_keys(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let (status, body) = ek.api.post("/keys/rotate", json!({})).await;
    assert_problem(status, &body, StatusCode::FORBIDDEN, "forbidden");
}

async fn staff_create_and_rename_organisations(backend: Backend) {
    let app = spawn_app(backend).await;
    let staff = staff(&app).await;
    let (status, ajax) = staff.post("/organisations", json!({"name": "Ajax"})).await;
    assert_eq!(status, StatusCode::CREATED, "{ajax}");
    let (status, taken) = staff.post("/organisations", json!({"name": "AJAX"})).await;
    assert_problem(status, &taken, StatusCode::UNPROCESSABLE_ENTITY, "invalid");
    let id = ajax["id"].as_str().unwrap();
    let (status, renamed) = staff
        .patch(&format!("/organisations/{id}"), json!({"name": "AFC Ajax"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(renamed["name"], "AFC Ajax");
    let listed = staff.all("/organisations").await;
    assert!(listed.iter().any(|o| o["name"] == "AFC Ajax"));
}

async fn staff_register_list_and_delete_clients(backend: Backend) {
    let app = spawn_app(backend).await;
    let staff = staff(&app).await;
    let (status, created) = staff
        .post(
            "/clients",
            json!({
                "client_name": "Verzuimregistratie",
                "redirect_uris": ["https://verzuim.example/callback"],
                "first_party": true,
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert!(created["client_secret"].as_str().unwrap().len() >= 43);
    let id = created["client_id"].as_str().unwrap();
    let (_, got) = staff.get(&format!("/clients/{id}")).await;
    assert_eq!(got["name"], "Verzuimregistratie");
    assert!(
        got.get("client_secret").is_none(),
        "the secret is shown once"
    );
    let (status, _) = staff.delete(&format!("/clients/{id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = staff.get(&format!("/clients/{id}")).await;
    assert_problem(status, &body, StatusCode::NOT_FOUND, "not-found");
}

async fn a_client_with_a_bad_redirect_uri_is_422(backend: Backend) {
    let app = spawn_app(backend).await;
    let staff = staff(&app).await;
    let (status, body) = staff
        .post(
            "/clients",
            json!({"client_name": "Slecht", "redirect_uris": ["http://elders.example/cb"]}),
        )
        .await;
    assert_problem(status, &body, StatusCode::UNPROCESSABLE_ENTITY, "invalid");
}

async fn staff_rotate_the_signing_key(backend: Backend) {
    let app = spawn_app(backend).await;
    let staff = staff(&app).await;
    let (status, key) = staff.post("/keys/rotate", json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    assert_eq!(key["status"], "signing");
    let keys = staff.all("/keys").await;
    assert_eq!(keys.len(), 2);
    assert_eq!(keys.iter().filter(|k| k["status"] == "signing").count(), 1);
}

async fn a_body_with_an_unknown_field_is_400(backend: Backend) {
    let app = spawn_app(backend).await;
    let staff = staff(&app).await;
    let (status, body) = staff
        .post("/organisations", json!({"name": "Ajax", "owner": "x"}))
        .await;
    assert_problem(status, &body, StatusCode::BAD_REQUEST, "bad-request");
}

// Tenant isolation, for every route.
/// The routes under an organisation, with `{org}` and `{id}` to fill in.
fn organisation_routes() -> Vec<(&'static str, &'static str)> {
    idp::web::admin_api::ROUTES
        .iter()
        .copied()
        .filter(|(_, path)| path.starts_with("/organisations/{org}"))
        .collect()
}

fn body_for(method: &str, path: &str) -> Option<Value> {
    match (method, path) {
        ("patch", "/organisations/{org}") => Some(json!({"name": "Overgenomen"})),
        ("patch", _) => Some(json!({"role": "superuser"})),
        ("post", "/organisations/{org}/invitations") => {
            Some(json!({"email": "indringer@ek88.nl", "role": "member"}))
        }
        ("post", _) => Some(json!({})),
        _ => None,
    }
}

/// Every organisation route of EK88's superuser, aimed at Ajax (its organisation id, or its
/// person's and invitation's ids under EK88), answers 404 and changes nothing.
async fn another_organisations_ids_are_not_found_on_any_route(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let ajax = app.admin().create_organisation("Ajax").await;
    let (ajax_superuser, ajax_api) = app
        .administrator(&ajax, "hoofd@ajax.nl", Role::Superuser)
        .await;
    let (_, invitation) = ajax_api
        .post(
            &format!("/organisations/{ajax}/invitations"),
            json!({"email": "speler@ajax.nl", "role": "member"}),
        )
        .await;
    let ajax_person = user_id(&app, &ajax_superuser.email).await;
    let ajax_invitation = invitation["id"].as_str().unwrap().to_owned();
    let before = ajax_api.all(&format!("/organisations/{ajax}/users")).await;
    for (method, path) in organisation_routes() {
        let id = if path.contains("/invitations/") {
            &ajax_invitation
        } else {
            &ajax_person
        };
        for org in [ajax.as_str(), ek.org.as_str()] {
            if org == ek.org && !path.contains("{id}") {
                continue; // EK88's own lists: its superuser may read them.
            }
            let (status, body) = call_route(&ek.api, method, path, org, id).await;
            assert_problem(status, &body, StatusCode::NOT_FOUND, "not-found");
        }
    }
    assert_eq!(
        ajax_api.all(&format!("/organisations/{ajax}/users")).await,
        before,
        "nothing changed"
    );
    let invitations = ajax_api
        .all(&format!("/organisations/{ajax}/invitations"))
        .await;
    assert_eq!(invitations.len(), 1, "no invitation added: {invitations:?}");
}

/// As [`call`], with the body the route takes.
async fn call_route(
    api: &AdminApi,
    method: &str,
    path: &str,
    org: &str,
    id: &str,
) -> (StatusCode, Value) {
    let filled = path.replace("{org}", org).replace("{id}", id);
    let verb = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
    api.call(verb, &filled, body_for(method, path)).await
}

async fn guessed_ids_are_not_found_on_any_route(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    let guessed = uuid::Uuid::new_v4().to_string();
    for (method, path) in organisation_routes() {
        let (status, body) = call_route(&ek.api, method, path, &guessed, &guessed).await;
        assert_problem(status, &body, StatusCode::NOT_FOUND, "not-found");
        if path.contains("{id}") {
            let (status, body) = call_route(&ek.api, method, path, &ek.org, &guessed).await;
            assert_problem(status, &body, StatusCode::NOT_FOUND, "not-found");
        }
    }
}

async fn a_deleted_clients_id_is_not_found_on_any_client_route(backend: Backend) {
    let app = spawn_app(backend).await;
    let staff = staff(&app).await;
    let (_, created) = staff
        .post(
            "/clients",
            json!({"client_name": "Weg", "redirect_uris": ["https://weg.example/cb"]}),
        )
        .await;
    let id = created["client_id"].as_str().unwrap().to_owned();
    staff.delete(&format!("/clients/{id}")).await;
    for (method, path) in idp::web::admin_api::ROUTES {
        if path.starts_with("/clients/{id}") {
            let (status, body) = call_route(&staff, method, path, "", &id).await;
            assert_problem(status, &body, StatusCode::NOT_FOUND, "not-found");
        }
    }
}

async fn a_superuser_sees_only_their_own_organisation(backend: Backend) {
    let app = spawn_app(backend).await;
    let ek = ek88(&app).await;
    app.admin().create_organisation("Ajax").await;
    let listed = ek.api.all("/organisations").await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], ek.org);
}

// The document.
async fn the_openapi_document_is_public_and_lists_exactly_the_routes_served(backend: Backend) {
    let app = spawn_app(backend).await;
    let (status, doc) = app.admin_api_anonymous().get("/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    let mut documented: Vec<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(|method| (method.clone(), path.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    documented.sort();
    let mut served: Vec<(String, String)> = idp::web::admin_api::ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    served.sort();
    assert_eq!(documented, served);
    // Each documented route is served: without a token it asks for one (not 404).
    for (method, path) in idp::web::admin_api::ROUTES {
        if *path == "/openapi.json" {
            continue;
        }
        let (status, body) = call_route(&app.admin_api_anonymous(), method, path, "x", "y").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}: {body}");
    }
    let (status, body) = app.admin_api_anonymous().get("/no/such/route").await;
    assert_problem(status, &body, StatusCode::NOT_FOUND, "not-found");
}

/// Every `$ref` in `value`.
fn references(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                found.push(r.clone());
            }
            map.values().for_each(|v| references(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, found)),
        _ => {}
    }
}

async fn every_schema_the_openapi_document_names_is_defined(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, doc) = app.admin_api_anonymous().get("/openapi.json").await;
    let mut found = Vec::new();
    references(&doc, &mut found);
    assert!(found.len() > 20, "{found:?}");
    for reference in found {
        let name = reference
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("a local schema: {reference}"));
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "{name} is defined"
        );
    }
    let problems = doc.to_string().matches("application/problem+json").count();
    assert!(problems > 20, "errors are problem+json");
}

async fn the_openapi_document_in_docs_is_the_one_served(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, served) = app.admin_api_anonymous().get("/openapi.json").await;
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/admin-api.openapi.json"
    );
    let kept: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(kept, served, "docs/admin-api.openapi.json is out of date");
}

both_backends!(
    a_request_without_a_token_is_401,
    a_token_without_the_admin_scope_is_403,
    a_member_never_gets_the_admin_scope,
    a_third_party_client_never_gets_the_admin_scope,
    a_demoted_superusers_token_stops_working_at_once,
    a_blocked_superusers_token_stops_working_at_once,
    a_superuser_lists_the_people_of_their_organisation,
    the_people_list_is_paged_with_a_cursor,
    a_cursor_that_was_never_given_is_400,
    a_body_that_is_not_json_is_415,
    a_superuser_invites_a_colleague_and_the_mail_arrives,
    an_invitation_with_an_invalid_address_is_422_at_its_field,
    a_superuser_cannot_invite_hcc_staff,
    a_resent_invitation_replaces_the_old_link,
    a_revoked_invitation_link_stops_working,
    a_superuser_makes_a_member_superuser,
    the_last_superuser_cannot_be_demoted,
    the_last_superuser_cannot_be_blocked,
    nobody_is_made_hcc_staff_by_a_change_of_role,
    a_blocked_person_can_be_unblocked_by_their_superuser,
    an_account_blocked_by_hcc_stays_blocked_for_its_superuser,
    a_reset_authenticator_is_set_up_anew_at_the_next_login,
    logging_someone_out_everywhere_ends_their_sessions,
    the_activity_is_filtered_by_person_and_type,
    the_activity_is_paged_newest_first,
    superusers_cannot_create_organisations,
    superusers_cannot_read_the_clients,
    superusers_cannot_rotate_keys,
    staff_create_and_rename_organisations,
    staff_register_list_and_delete_clients,
    a_client_with_a_bad_redirect_uri_is_422,
    staff_rotate_the_signing_key,
    a_body_with_an_unknown_field_is_400,
    another_organisations_ids_are_not_found_on_any_route,
    guessed_ids_are_not_found_on_any_route,
    a_deleted_clients_id_is_not_found_on_any_client_route,
    a_superuser_sees_only_their_own_organisation,
    the_openapi_document_is_public_and_lists_exactly_the_routes_served,
    the_openapi_document_in_docs_is_the_one_served,
    every_schema_the_openapi_document_names_is_defined,
);
