//! Brute-force protection over HTTP: delays after a few wrong passwords (and their release),
//! the same answers for unknown addresses, parallel failures all counted, separate counters for
//! the password and the code stage (a wrong password never locks the code step), the code
//! stage's temporary lock, and the mail rate limit.

use idp::clock::Clock;
use idp::domain::Language;
use idp::journeys::JourneyError;
use idp::journeys::account::Actor;
use idp::throttle::Subject;
use reqwest::StatusCode;

use crate::both_backends;
use crate::driver::*;
use crate::helpers::*;

const THROTTLED: &str = "Te veel mislukte pogingen";

async fn counter(app: &TestApp, key: String) -> Option<idp::storage::throttle::Counter> {
    app.admin().throttle_counter(&key).await
}

fn password_key(address: &str) -> String {
    Subject::password_account(address).key().to_owned()
}

/// One password attempt in a fresh browser: the status and the error summary's text, with the
/// typed address taken out (the page shows it back).
async fn attempt(app: &TestApp, address: &str, password: &str) -> (StatusCode, String) {
    let response = app.browser().log_in_password(address, password).await;
    let status = response.status();
    let html = response.text().await.unwrap();
    (status, alert(&html).replace(address, "<address>"))
}

async fn wrong_passwords_are_throttled_and_released(backend: Backend) {
    let app = spawn_app(backend).await;
    onboarded_person(&app).await;
    for n in 1..=5 {
        let (status, alert) = attempt(&app, MARCO, WRONG).await;
        assert_eq!(status, StatusCode::OK, "attempt {n}");
        assert!(
            alert.contains("Ongeldig e-mailadres of wachtwoord."),
            "{alert}"
        );
    }
    assert_eq!(
        counter(&app, password_key(MARCO)).await.unwrap().failures,
        5
    );

    // The sixth attempt waits, whether its password is wrong or right.
    for password in [WRONG, STRONG] {
        let (status, alert) = attempt(&app, MARCO, password).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{password}");
        assert!(alert.contains(THROTTLED), "{alert}");
        assert!(alert.contains(char::is_numeric), "says how long: {alert}");
    }
    assert_eq!(
        counter(&app, password_key(MARCO)).await.unwrap().failures,
        5,
        "a refused attempt is not checked, so not counted"
    );

    // After the delay the right password is taken again, and the count starts over.
    app.clock.advance(3);
    let response = app.browser().log_in_password(MARCO, STRONG).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/login/otp");
    assert!(counter(&app, password_key(MARCO)).await.is_none());

    let rows = app.admin().audit_log().await;
    assert!(
        rows.iter().any(|r| r.event == "login"
            && r.outcome == "failure"
            && r.details.contains("throttled"))
    );
}

async fn unknown_addresses_are_throttled_the_same_way(backend: Backend) {
    let app = spawn_app(backend).await;
    onboarded_person(&app).await;
    let unknown = "niemand@ek88.nl";
    let mut known_answers = Vec::new();
    let mut unknown_answers = Vec::new();
    for password in [WRONG, WRONG, WRONG, WRONG, WRONG, WRONG, STRONG] {
        known_answers.push(attempt(&app, MARCO, password).await);
        unknown_answers.push(attempt(&app, unknown, password).await);
    }
    let statuses: Vec<u16> = known_answers.iter().map(|(s, _)| s.as_u16()).collect();
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429, 429]);
    // The wait in seconds may differ by the time between the two; the rest is the same.
    let strip = |answers: &[(StatusCode, String)]| -> Vec<(StatusCode, String)> {
        answers
            .iter()
            .map(|(s, a)| (*s, a.chars().filter(|c| !c.is_ascii_digit()).collect()))
            .collect()
    };
    assert_eq!(strip(&known_answers), strip(&unknown_answers));
    assert_eq!(
        counter(&app, password_key(unknown)).await.unwrap().failures,
        5
    );
}

async fn parallel_wrong_passwords_are_all_counted(backend: Backend) {
    let app = spawn_app(backend).await;
    onboarded_person(&app).await;
    // Every attacker browser has its form ready before any of them posts.
    let statuses = wrong_passwords_at_once(&app, 8, |_| MARCO.into()).await;
    // Each attempt reserves its count before the password is checked: five (the free attempts)
    // are checked, the other three are refused unchecked — a burst cannot slip past the limit.
    let checked = count_of(&statuses, StatusCode::OK);
    let refused = count_of(&statuses, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!((checked, refused), (5, 3), "{statuses:?}");
    let counted = counter(&app, password_key(MARCO)).await.unwrap();
    assert_eq!(
        counted.failures, 5,
        "every checked failure counts; none is lost"
    );
    // 5 failures: 2 s to wait.
    let (status, alert) = attempt(&app, MARCO, STRONG).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(alert.contains(THROTTLED));
    let failures = app
        .admin()
        .audit_log()
        .await
        .into_iter()
        .filter(|r| r.event == "login" && r.outcome == "failure")
        .filter(|r| r.details.contains("wrong_password"))
        .count();
    assert_eq!(failures, 5);
}

async fn a_wrong_password_never_locks_the_code_step(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    // Seven wrong passwords, waiting out each delay so that every one is checked and counted.
    for n in 1..=7 {
        if n > 5 {
            app.clock.advance(1 << (n - 5));
        }
        let (status, _) = attempt(&app, MARCO, WRONG).await;
        assert_eq!(status, StatusCode::OK, "attempt {n}");
    }
    let counted = counter(&app, password_key(MARCO)).await.unwrap();
    assert_eq!(counted.failures, 7);
    assert!(
        counted.locked_until.is_none(),
        "the password stage never locks"
    );

    app.clock.advance(9);
    let browser = app.browser();
    let response = browser.log_in_password(MARCO, STRONG).await;
    assert_eq!(location(&response), "/login/otp");
    let marco = app.admin().user(MARCO).await.id;
    assert!(
        counter(&app, Subject::otp_account(&marco).key().to_owned())
            .await
            .is_none(),
        "nothing counted against the code step"
    );
    let response = browser.log_in_code(&person.fresh_code(&app.clock)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/welcome");
}

async fn wrong_codes_lock_the_code_step_but_not_the_password_step(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let marco = app.admin().user(MARCO).await.id;
    let otp_key = Subject::otp_account(&marco).key().to_owned();
    let device = app.browser();
    assert_eq!(
        location(&device.log_in_password(MARCO, STRONG).await),
        "/login/otp"
    );
    for failures in 0..10 {
        if failures >= 3 {
            if failures == 3 {
                // Three free attempts; the fourth comes too soon.
                let response = device.log_in_code(&person.wrong_code(&app.clock)).await;
                assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
                let html = response.text().await.unwrap();
                assert!(alert(&html).contains(THROTTLED));
            }
            // 2 s after the third failure, doubling with each further one.
            app.clock.advance(1 << (failures - 2));
        }
        let response = device.log_in_code(&person.wrong_code(&app.clock)).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "wrong code {}",
            failures + 1
        );
    }
    let counted = counter(&app, otp_key.clone()).await.unwrap();
    assert_eq!(counted.failures, 10);
    let until = counted.locked_until.expect("the code step is locked");
    assert!(until >= app.clock.now() + 15 * 60 - 5, "for 15 minutes");

    // Locked: even the right code is refused, long after the last delay ran out.
    app.clock.advance(600);
    let response = device.log_in_code(&person.fresh_code(&app.clock)).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let html = response.text().await.unwrap();
    assert!(alert(&html).contains(THROTTLED));
    let rows = app.admin().audit_log().await;
    assert!(
        rows.iter()
            .any(|r| r.event == "otp_locked" && r.user_id.as_deref() == Some(marco.as_str()))
    );

    // The password stage is not locked by it: another browser passes the password step and
    // then meets the locked code step.
    let other = app.browser();
    let response = other.log_in_password(MARCO, STRONG).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/login/otp");
    let response = other.log_in_code(&person.fresh_code(&app.clock)).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);

    // After the 15 minutes the right code works again.
    app.clock.advance(5 * 60);
    let response = other.log_in_code(&person.fresh_code(&app.clock)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/welcome");
    assert!(counter(&app, otp_key).await.is_none());
    assert!(app.admin().logged("login", "success").await);
}

/// How many forgot-password requests were refused for `reason`, once the background work that
/// handles them is done.
async fn refusals(app: &TestApp, reason: &str) -> usize {
    app.background_done().await;
    app.admin()
        .audit_log()
        .await
        .iter()
        .filter(|r| r.event == "password_reset_requested" && r.outcome == "failure")
        .filter(|r| r.details.contains(reason))
        .count()
}

async fn forgot_password_mails_are_rate_limited_per_address(backend: Backend) {
    let app = spawn_app(backend).await;
    onboarded_person(&app).await;
    let mailbox = app.mailbox();
    let before = mailbox.settled_count(MARCO).await; // the invitation
    let browser = app.browser();
    for n in 1..=5 {
        let response = browser.forgot_password(MARCO, "nl").await;
        assert_eq!(response.status(), StatusCode::OK);
        mailbox.wait_for(MARCO, before + n).await;
    }
    // The sixth within the hour: the same page, but no mail.
    let response = browser.forgot_password(MARCO, "nl").await;
    assert_eq!(response.status(), StatusCode::OK, "the page never tells");
    assert_eq!(refusals(&app, "rate_limited").await, 1);
    assert_eq!(
        mailbox.queued_for(MARCO).await.len(),
        before + 5,
        "at most five an hour"
    );
    assert_eq!(mailbox.mails_to(MARCO).len(), before + 5);

    // An hour later mail flows again.
    app.clock.advance(3601);
    browser.forgot_password(MARCO, "nl").await;
    mailbox.wait_for(MARCO, before + 6).await;
}

async fn forgot_password_mails_are_rate_limited_per_client_address(backend: Backend) {
    let app = spawn_app(backend).await;
    onboarded_person(&app).await;
    let mailbox = app.mailbox();
    let before = mailbox.settled_count(MARCO).await; // the invitation
    // Twenty requests from this client address for addresses without an account…
    let browser = app.browser();
    for n in 0..20 {
        let address = format!("niemand{n}@ek88.nl");
        let response = browser.forgot_password(&address, "nl").await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    assert_eq!(refusals(&app, "unknown_address").await, 20);
    // …and the next one gets no mail, even for a real account that asked nothing yet.
    let response = browser.forgot_password(MARCO, "nl").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(refusals(&app, "rate_limited").await, 1);
    assert_eq!(mailbox.queued_for(MARCO).await.len(), before);
    assert_eq!(mailbox.mails_to(MARCO).len(), before);
}

/// With the password known, a burst of guesses at the code step is the real threat: only the
/// free attempts are checked, however many arrive at once.
async fn a_burst_of_codes_cannot_pass_the_limit(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    let device = app.browser();
    assert_eq!(
        location(&device.log_in_password(MARCO, STRONG).await),
        "/login/otp"
    );
    let csrf = csrf_token(&device.page("/login/otp").await);
    let wrong = person.wrong_code(&app.clock);
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let (device, csrf, wrong) = (device.clone(), csrf.clone(), wrong.clone());
            tokio::spawn(async move {
                let form = [("csrf_token", csrf.as_str()), ("otp_code", wrong.as_str())];
                device.post("/login/otp", &form).await.status()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    let checked = count_of(&statuses, StatusCode::UNPROCESSABLE_ENTITY);
    let refused = count_of(&statuses, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!((checked, refused), (3, 9), "{statuses:?}");
    let marco = app.admin().user(MARCO).await.id;
    let counted = counter(&app, Subject::otp_account(&marco).key().to_owned())
        .await
        .unwrap();
    assert_eq!(counted.failures, 3);
}

const RUUD: &str = "ruud@ek88.nl";

/// A superuser of EK88 (their organisation's id and the inviting admin) who has already sent
/// Ruud five invitations this hour.
async fn five_invitations_from_a_superuser(app: &TestApp) -> (String, Admin<'_>) {
    let org = app.admin().create_organisation("EK88").await;
    let superuser = idp::storage::models::User {
        id: idp::storage::models::new_id(),
        organisation_id: Some(org.clone()),
        email: "superuser@ek88.nl".into(),
        first_name: None,
        last_name: None,
        status: idp::domain::UserStatus::Active,
        role: idp::domain::Role::Superuser,
        language: "nl".into(),
        created_at: 1,
        updated_at: 1,
        last_login_at: None,
        blocked_by_staff: false,
    };
    let superuser_id = superuser.id.clone();
    app.state
        .db
        .run(move |c| idp::storage::users::insert(c, &superuser))
        .await
        .unwrap();
    let superuser = app.admin_as(Actor::Superuser {
        user_id: superuser_id,
        organisation_id: org.clone(),
    });
    for _ in 0..5 {
        superuser
            .invite(&org, RUUD, None, Language::Nl)
            .await
            .unwrap();
    }
    (org, superuser)
}

/// A superuser's invitations count against the same hourly per-address mail limit.
async fn invitation_mails_from_superusers_are_rate_limited(backend: Backend) {
    let app = spawn_app(backend).await;
    let (org, superuser) = five_invitations_from_a_superuser(&app).await;
    assert!(matches!(
        superuser.invite(&org, RUUD, None, Language::Nl).await,
        Err(JourneyError::MailLimit)
    ));
}

async fn invitation_mails_from_hcc_staff_are_not_rate_limited(backend: Backend) {
    let app = spawn_app(backend).await;
    let (org, _) = five_invitations_from_a_superuser(&app).await;
    let staff = app.admin();
    staff.invite(&org, RUUD, None, Language::Nl).await.unwrap();
}

both_backends!(
    invitation_mails_from_superusers_are_rate_limited,
    invitation_mails_from_hcc_staff_are_not_rate_limited,
    a_burst_of_codes_cannot_pass_the_limit,
    wrong_passwords_are_throttled_and_released,
    unknown_addresses_are_throttled_the_same_way,
    parallel_wrong_passwords_are_all_counted,
    a_wrong_password_never_locks_the_code_step,
    wrong_codes_lock_the_code_step_but_not_the_password_step,
    forgot_password_mails_are_rate_limited_per_address,
    forgot_password_mails_are_rate_limited_per_client_address,
);
