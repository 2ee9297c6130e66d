//! The storage rules every journey relies on, run against both backends.

use idp::domain::{Email, OrganisationName};
use idp::storage::models::{OutboxMail, User, new_id};
use idp::storage::{DbError, organisations, outbox, users};

use crate::both_backends;
use crate::helpers::*;

fn user(email: &str) -> User {
    User {
        id: new_id(),
        organisation_id: None,
        email: Email::parse(email).unwrap().as_str().to_owned(),
        first_name: None,
        last_name: None,
        status: idp::domain::UserStatus::Invited,
        role: idp::domain::Role::HccStaff,
        language: "nl".into(),
        created_at: 1,
        updated_at: 1,
        last_login_at: None,
        blocked_by_staff: false,
    }
}

async fn names_and_addresses_are_unique_regardless_of_case(backend: Backend) {
    let app = spawn_app(backend).await;
    let result = app
        .state
        .db
        .run(|c| {
            organisations::insert(c, &OrganisationName::parse("EK88").unwrap(), 1)?;
            let again = organisations::insert(c, &OrganisationName::parse("ek88").unwrap(), 1);
            users::insert(c, &user("Marco@EK88.nl"))?;
            let twice = users::insert(c, &user("marco@ek88.NL"));
            let found = users::find_by_email(c, &Email::parse("MARCO@ek88.nl").unwrap())?;
            Ok::<_, DbError>((again, twice, found))
        })
        .await
        .unwrap();
    assert!(result.0.unwrap_err().is_unique_violation());
    assert!(result.1.unwrap_err().is_unique_violation());
    assert_eq!(result.2.unwrap().email, "marco@ek88.nl");
}

async fn an_outbox_mail_is_claimed_by_one_worker_only(backend: Backend) {
    let app = spawn_app(backend).await;
    // A mail due in the future, so the app's own worker leaves it alone until we claim it.
    let claimed = app
        .state
        .db
        .run(|c| {
            let mail = OutboxMail {
                id: new_id(),
                kind: "test".into(),
                recipient: "a@b.nl".into(),
                subject: "s".into(),
                body_text: "t".into(),
                body_html: "h".into(),
                created_at: 1,
                attempts: 0,
                next_attempt_at: 4_000_000_000,
                claimed_until: None,
                sent_at: None,
                last_error: None,
                given_up_at: None,
            };
            outbox::enqueue(c, &mail)?;
            let first = outbox::claim_due(c, 4_000_000_000, 60, 10)?;
            let second = outbox::claim_due(c, 4_000_000_001, 60, 10)?;
            let after_expiry = outbox::claim_due(c, 4_000_000_061, 60, 10)?;
            Ok::<_, DbError>((first.len(), second.len(), after_expiry.len()))
        })
        .await
        .unwrap();
    assert_eq!(
        claimed,
        (1, 0, 1),
        "claimed once; claimable again only when the claim expired"
    );
}

both_backends!(
    names_and_addresses_are_unique_regardless_of_case,
    an_outbox_mail_is_claimed_by_one_worker_only
);

async fn housekeeping_removes_only_what_expired(backend: Backend) {
    use idp::storage::housekeeping::prune;
    let app = spawn_app(backend).await;
    let now = 4_000_000_000;
    let state = app.state.clone();
    let pruned = app
        .state
        .db
        .run(move |c| {
            let user = user("marco@ek88.nl");
            users::insert(c, &user)?;
            let (_, old) = idp::sessions::start(
                c,
                &state.settings.session,
                &user.id,
                idp::sessions::Stage::Authenticated,
                "pwd otp",
                &Default::default(),
                now - 100_000,
            )?;
            let (_, live) = idp::sessions::start(
                c,
                &state.settings.session,
                &user.id,
                idp::sessions::Stage::Authenticated,
                "pwd otp",
                &Default::default(),
                now,
            )?;
            for (session, expires_at) in [(&old, now - 1), (&live, now + 300)] {
                idp::storage::security_keys::put_ceremony(
                    c,
                    &idp::storage::models::CeremonyRow {
                        session_id_hash: session.id_hash.clone(),
                        purpose: "authenticate".into(),
                        state: "{}".into(),
                        expires_at,
                    },
                )?;
            }
            let first = prune(c, now, 3600)?;
            let again = prune(c, now, 3600)?;
            let left = idp::storage::sessions::list_for_user(c, &user.id)?;
            let ceremony =
                idp::storage::security_keys::take_ceremony(c, &live.id_hash, "authenticate", now)?;
            Ok::<_, DbError>((
                (first.sessions, first.webauthn_ceremonies),
                (again.sessions, again.webauthn_ceremonies),
                left.len(),
                old.id_hash != live.id_hash,
                ceremony.is_some(),
            ))
        })
        .await
        .unwrap();
    assert_eq!(pruned, ((1, 1), (0, 0), 1, true, true));
}

both_backends!(housekeeping_removes_only_what_expired);
