//! The people in the tests: Marco van Basten of EK88 going through onboarding as the manual
//! describes it, people seeded straight into the database when only their number matters, and
//! the codes their authenticators show.

use idp::clock::{Clock, ShiftedClock};
use idp::domain::totp::{TotpSecret, step_at};
use idp::domain::{Language, Role};
use reqwest::StatusCode;

use super::mailbox::ReceivedMail;
use crate::helpers::TestApp;

/// The password everyone chooses (it meets the policy).
pub const STRONG: &str = "Zeer-Sterk-Wachtw00rd-Tulp";
/// A password that is nobody's.
pub const WRONG: &str = "Helemaal-Fout-Wachtw00rd";
pub const MARCO: &str = "marco@ek88.nl";

/// A person with an active account: e-mail, password and authenticator secret.
pub struct Person {
    pub email: String,
    pub password: String,
    pub secret: TotpSecret,
}

impl Person {
    /// The same person after changing their password.
    pub fn with_password(&self, password: &str) -> Person {
        Person {
            email: self.email.clone(),
            password: password.to_owned(),
            secret: TotpSecret::from_bytes(self.secret.as_bytes().to_vec()),
        }
    }

    /// The authenticator's code one step after the last one used (the clock moves 30 s on),
    /// so it is never a replay.
    pub fn fresh_code(&self, clock: &ShiftedClock) -> String {
        clock.advance(30);
        self.secret.code_at(step_at(clock.now()))
    }

    /// A six-digit code that none of the steps around now accepts.
    pub fn wrong_code(&self, clock: &ShiftedClock) -> String {
        let step = step_at(clock.now());
        let valid: Vec<String> = (step - 2..=step + 2)
            .map(|s| self.secret.code_at(s))
            .collect();
        ["000000", "111111", "222222", "333333", "444444", "555555"]
            .into_iter()
            .find(|c| !valid.iter().any(|v| v == c))
            .unwrap()
            .to_owned()
    }
}

/// HCC staff invite `email` to the organisation; returns the link from the invitation mail.
pub async fn invite(
    app: &TestApp,
    organisation_id: &str,
    email: &str,
    last_name: Option<&str>,
    language: Language,
) -> (String, ReceivedMail) {
    let mailbox = app.mailbox();
    let before = mailbox.mails_to(email).len();
    app.admin()
        .invite(organisation_id, email, last_name, language)
        .await
        .unwrap();
    let mail = mailbox.nth(email, before + 1).await;
    (mailbox.link(&mail), mail)
}

/// Marco van Basten invited to a new organisation EK88.
pub async fn invite_marco(app: &TestApp, language: Language) -> (String, ReceivedMail) {
    let org = app.admin().create_organisation("EK88").await;
    invite(app, &org, MARCO, Some("van Basten"), language).await
}

/// Marco, invited, registered with [`STRONG`] and his authenticator set up, in a browser of
/// his own.
pub async fn onboarded_person(app: &TestApp) -> Person {
    let (link, _) = invite_marco(app, Language::Nl).await;
    let browser = app.browser();
    let response = browser.register(&link, STRONG).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (secret, response) = browser.set_up_authenticator().await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    Person {
        email: MARCO.into(),
        password: STRONG.into(),
        secret,
    }
}

/// `count` active people of EK88 with the strong password and a confirmed authenticator,
/// written straight to the database (one argon2 hash for all).
pub async fn seed_people(app: &TestApp, count: usize) -> Vec<Person> {
    let org = app.admin().create_organisation("EK88").await;
    let hash = strong_hash(app).await;
    let mut people = Vec::with_capacity(count);
    for i in 0..count {
        let email = format!("persoon{i}@ek88.nl");
        people.push(seed_with_hash(app, &org, &email, Role::Member, &hash).await);
    }
    people
}

/// One active person of `organisation_id` with `role`, the strong password and a confirmed
/// authenticator, written straight to the database.
pub async fn seed_person(app: &TestApp, organisation_id: &str, email: &str, role: Role) -> Person {
    let hash = strong_hash(app).await;
    seed_with_hash(app, organisation_id, email, role, &hash).await
}

async fn strong_hash(app: &TestApp) -> String {
    app.state
        .hasher
        .hash(secrecy::SecretString::from(STRONG))
        .await
        .unwrap()
}

async fn seed_with_hash(
    app: &TestApp,
    organisation_id: &str,
    email: &str,
    role: Role,
    hash: &str,
) -> Person {
    let keyring = app.state.keyring.clone();
    let now = app.state.now();
    let (org, email, hash) = (
        organisation_id.to_owned(),
        email.to_owned(),
        hash.to_owned(),
    );
    app.state
        .db
        .run(move |conn| {
            let user = idp::storage::models::User {
                id: idp::storage::models::new_id(),
                organisation_id: Some(org),
                email: email.clone(),
                first_name: Some("Test".into()),
                last_name: Some(email.split('@').next().unwrap_or("x").to_owned()),
                status: idp::domain::UserStatus::Active,
                role,
                language: "nl".into(),
                created_at: now,
                updated_at: now,
                last_login_at: None,
                blocked_by_staff: false,
            };
            idp::storage::users::insert(conn, &user)?;
            idp::storage::passwords::set(conn, &user.id, &hash, now)?;
            let secret = TotpSecret::generate();
            let id = idp::storage::models::new_id();
            idp::storage::otp::insert_pending(
                conn,
                &idp::storage::models::OtpCredential {
                    secret_sealed: keyring.seal(
                        secret.as_bytes(),
                        &idp::journeys::otp_setup::seal_context(&id),
                    ),
                    id: id.clone(),
                    user_id: user.id.clone(),
                    device_name: None,
                    created_at: now,
                    confirmed_at: None,
                    last_used_step: None,
                    last_used_at: None,
                },
            )?;
            idp::storage::otp::confirm(conn, &id, &user.id, None, now)?;
            Ok::<_, idp::storage::DbError>(Person {
                email,
                password: STRONG.into(),
                secret,
            })
        })
        .await
        .unwrap()
}
