//! Faults: the database goes away and comes back. While it is unreachable the IdP says so at
//! once (503 with `Retry-After`: a page in the person's language, or the RFC's
//! `temporarily_unavailable`), readiness says not ready, and it serves again by itself when the
//! database returns.

use std::sync::Arc;
use std::time::{Duration, Instant};

use idp::domain::Language;
use reqwest::StatusCode;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::driver::*;
use crate::helpers::*;

/// A TCP proxy in front of PostgreSQL that can take the database away: while down it cuts every
/// connection it carries and closes new ones at once, as a restarted or unreachable server
/// does.
struct PgProxy {
    port: u16,
    up: Arc<watch::Sender<bool>>,
    task: tokio::task::JoinHandle<()>,
}

impl PgProxy {
    async fn start(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(watch::channel(true).0);
        let state = up.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !*state.borrow() {
                    drop(client);
                    continue;
                }
                let mut down = state.subscribe();
                let target = target.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = down.wait_for(|up| !*up) => {}
                    }
                });
            }
        });
        Self { port, up, task }
    }

    fn down(&self) {
        self.up.send_replace(false);
    }

    fn up(&self) {
        self.up.send_replace(true);
    }
}

impl Drop for PgProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An app whose database connections all pass through `proxy`.
async fn app_behind(proxy: &PgProxy) -> TestApp {
    let port = proxy.port;
    spawn_app_with(
        Backend::Postgres,
        Options::settings(move |s| {
            let mut url = url::Url::parse(&s.database.url).unwrap();
            url.set_port(Some(port)).unwrap();
            s.database.url = url.to_string();
            s.database.checkout_timeout_ms = 1_000;
        }),
    )
    .await
}

fn retry_after(response: &reqwest::Response) -> Option<u64> {
    response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

async fn ready(app: &TestApp) -> StatusCode {
    reqwest::get(format!("{}/health/ready", app.address))
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn while_the_database_is_unreachable_answers_are_503_at_once_and_it_recovers() {
    let proxy = PgProxy::start(pg_target()).await;
    let app = app_behind(&proxy).await;
    let rp = app.refresh_client().await;
    let person = onboarded_person(&app).await;
    let browser = app.browser();
    let tokens = rp.sign_in(&browser, &person, "openid offline_access").await;
    assert_eq!(ready(&app).await, StatusCode::OK);

    proxy.down();

    // Readiness notices within the checkout timeout, and from then on at once.
    let started = Instant::now();
    assert_eq!(ready(&app).await, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let started = Instant::now();
    assert_eq!(ready(&app).await, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );

    // A protocol endpoint: RFC 6749's temporarily_unavailable, 503, Retry-After.
    let started = Instant::now();
    let response = rp
        .post(
            "/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ],
        )
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(retry_after(&response).is_some_and(|s| s > 0));
    let (_, body) = json_of(response).await;
    assert_eq!(body["error"], "temporarily_unavailable", "{body}");

    // A page: 503 in the person's language, with Retry-After and a way back.
    let response = app
        .browser()
        .get(&rp.authorize_url("openid", &[("ui_locales", "nl")]))
        .await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(retry_after(&response).is_some_and(|s| s > 0));
    let html = response.text().await.unwrap();
    assert!(html.contains("tijdelijk niet beschikbaar"), "{html}");

    // The database returns: the same process serves again within seconds, without a restart,
    // and the refresh token refused meanwhile still works (nothing was half-written).
    proxy.up();
    let started = Instant::now();
    while ready(&app).await != StatusCode::OK {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "not ready again within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, refreshed) = rp.refresh(&tokens).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    let browser = app.browser();
    rp.sign_in(&browser, &person, "openid").await;
}

#[tokio::test]
async fn connections_killed_by_the_server_are_replaced_without_an_error_page() {
    let app = spawn_app(Backend::Postgres).await;
    let rp = app.refresh_client().await;
    let person = onboarded_person(&app).await;
    let browser = app.browser();
    let mut tokens = rp.sign_in(&browser, &person, "openid offline_access").await;
    // Every connection of this database is terminated by the server, as an administrator's
    // pg_terminate_backend or a failover does.
    let database = url::Url::parse(&app.state.settings.database.url)
        .unwrap()
        .path()
        .trim_start_matches('/')
        .to_owned();
    terminate_connections(&database);
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    for _ in 0..5 {
        let (status, body) = rp.refresh(&tokens).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        tokens = body;
    }
    assert_eq!(ready(&app).await, StatusCode::OK);
}

#[tokio::test]
async fn reservations_an_outage_left_unsettled_are_given_back_when_the_database_returns() {
    use idp::throttle::{Reservations, Subject};

    let proxy = PgProxy::start(pg_target()).await;
    let app = app_behind(&proxy).await;
    let settings = app.state.settings.throttle.clone();
    let subjects = Subject::password_attempt(MARCO, None, Some("192.0.2.7"));
    let account = subjects[0].key().to_owned();

    // An attempt reserves its account counter ...
    let reservations = Reservations::new(&app.state.db);
    let held = reservations.held().clone();
    let now = app.state.now();
    let reserving = subjects.clone();
    app.state
        .db
        .run(move |conn| idp::throttle::begin(conn, &settings, &reserving, now, &held))
        .await
        .unwrap();
    let reserved = app.admin().throttle_counter(&account).await.unwrap();
    assert_eq!(reserved.failures, 1);

    // ... then the database goes away before the password is checked, and the attempt ends
    // unsettled (its request answered 503).
    proxy.down();
    drop(reservations);
    tokio::time::sleep(Duration::from_secs(3)).await;
    proxy.up();

    // Once the database answers, the reservation is given back: the outage counts against
    // nobody.
    let started = Instant::now();
    loop {
        let key = account.clone();
        let counter = app
            .state
            .db
            .run(move |c| idp::storage::throttle::find(c, &key))
            .await;
        // Refused while the IdP has not yet seen the database return.
        if counter.is_ok_and(|c| c.is_some_and(|c| c.failures == 0)) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "not given back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A browser's GET of the login page: its cookies and the form's CSRF token.
async fn login_form(address: &str) -> (reqwest::Client, String) {
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let html = browser
        .get(format!("{address}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    (browser, csrf_token(&html))
}

#[tokio::test]
async fn sigterm_lets_the_requests_in_flight_finish_and_exits_0() {
    let idp = IdpProcess::start(Backend::Sqlite, "text").await;
    let mut forms = Vec::new();
    for _ in 0..10 {
        forms.push(login_form(&idp.address).await);
    }
    // Ten password checks under way (each an argon2 verification, queued on the hashers)...
    let mut in_flight = Vec::new();
    for (i, (browser, token)) in forms.into_iter().enumerate() {
        let url = format!("{}/login", idp.address);
        in_flight.push(tokio::spawn(async move {
            browser
                .post(url)
                .form(&[
                    ("csrf_token", token),
                    ("email", format!("niemand{i}@ek88.nl")),
                    ("password", "Wrong-Password-1234!".to_owned()),
                ])
                .send()
                .await
                .map(|r| r.status())
        }));
    }
    // (Time for the posts to reach the server on a busy machine: a request still being
    // written when the stop closes its idle keep-alive connection is not in flight yet.)
    tokio::time::sleep(Duration::from_millis(100)).await;
    // ... when the node is told to stop.
    let (code, log) = idp.terminate(Duration::from_secs(40)).await;
    for request in in_flight {
        let answered = request.await.unwrap();
        assert_eq!(
            answered.as_ref().ok(),
            Some(&StatusCode::OK),
            "a request in flight was cut off: {answered:?}\n{log}"
        );
    }
    assert_eq!(code, Some(0), "{log}");
}

async fn password_checks_beyond_the_queue_limit_are_refused_at_once_with_503(backend: Backend) {
    let app = spawn_app_with(
        backend,
        Options::settings(|s| {
            s.password.hash_concurrency = 1;
            s.password.hash_queue_limit = 1;
        }),
    )
    .await;
    // Twelve password checks at once for one hasher with room for one more in its queue (each
    // address unknown: still one argon2 verification each).
    let mut attempts = tokio::task::JoinSet::new();
    for i in 0..12 {
        let browser = app.browser();
        attempts.spawn(async move {
            let response = browser
                .submit(
                    "/login",
                    "/login",
                    &[
                        ("email", &format!("niemand{i}@ek88.nl")),
                        ("password", "Wrong-Password-1234!"),
                    ],
                )
                .await;
            let status = response.status();
            let retry = response.headers().contains_key("retry-after");
            let html = response.text().await.unwrap();
            (status, retry, html)
        });
    }
    let (mut checked, mut refused) = (0, 0);
    while let Some(answer) = attempts.join_next().await {
        let (status, retry, html) = answer.unwrap();
        match status {
            StatusCode::OK => checked += 1,
            StatusCode::SERVICE_UNAVAILABLE => {
                assert!(retry, "503 without Retry-After");
                assert!(html.contains("tijdelijk niet beschikbaar"), "{html}");
                refused += 1;
            }
            other => panic!("{other}: {html}"),
        }
    }
    assert!(
        checked >= 2,
        "the hasher and its queue were used: {checked}"
    );
    assert!(refused >= 1, "the queue overflowed: {refused} refused");
    // Refused attempts count against nobody: the address can still log in at once.
    let person = onboarded_person(&app).await;
    let response = app
        .browser()
        .log_in_password(&person.email, &person.password)
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

crate::both_backends!(password_checks_beyond_the_queue_limit_are_refused_at_once_with_503);

async fn a_relying_party_that_never_answers_does_not_delay_the_logout(backend: Backend) {
    let app = spawn_app(backend).await;
    let person = onboarded_person(&app).await;
    // A back-channel logout receiver that accepts the connection and never answers.
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/bc", silent.local_addr().unwrap());
    let _held = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let rp = app.backchannel_client(url).await;
    let callback = app
        .browser()
        .authorize(&rp.authorize_url("openid", &[]), &person)
        .await;
    assert!(query_param(&callback, "code").is_some());

    // The sessions end at once: the notice is queued, not sent while the person waits.
    let started = Instant::now();
    let ended = app.admin().end_sessions(&person.email).await.unwrap();
    assert!(ended >= 1, "{ended}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );

    // The delivery gives up on the silent receiver after its own deadline and is retried later.
    let notices = notices_once(&app, |notices| {
        !notices.is_empty() && notices.iter().all(|n| n.attempts > 0)
    })
    .await;
    assert!(notices[0].delivered_at.is_none());
    assert!(notices[0].last_error.is_some(), "{notices:?}");
}

crate::both_backends!(a_relying_party_that_never_answers_does_not_delay_the_logout);

/// A crowd of `count` seeded people and the portal, on an app whose database is at `url`
/// (`None`: its own on the shared server) with the production pool.
async fn crowd_app(
    url: Option<String>,
    count: usize,
) -> (TestApp, Arc<RelyingParty>, Arc<Vec<Person>>) {
    let app = spawn_app_with(
        Backend::Postgres,
        Options::settings(move |s| {
            if let Some(url) = url {
                s.database.url = url;
            }
            s.server.workers = 2;
            s.database.pool_size = 10;
            s.database.checkout_timeout_ms = 1_000;
        }),
    )
    .await;
    let rp = Arc::new(app.refresh_client().await);
    let people = Arc::new(seed_people(&app, count).await);
    (app, rp, people)
}

/// After a fault during a crowd's logins: only successes and 503s with `Retry-After` were
/// answered, nothing is half-written, and a second round (the next authenticator step, every
/// person again) succeeds for everyone.
async fn judge_the_fault(
    app: &TestApp,
    rp: &Arc<RelyingParty>,
    people: &Arc<Vec<Person>>,
    during: Vec<Outcome>,
    tally: &Tally,
) {
    let refused = during
        .iter()
        .filter(|o| matches!(o, Outcome::Unavailable(_)))
        .count();
    let failed: Vec<_> = during
        .iter()
        .filter(|o| !matches!(o, Outcome::Unavailable(_)))
        .collect();
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(tally.count(500..600), tally.count(503..504));
    let url = &app.state.settings.database.url;
    assert_eq!(half_written(url), vec![]);
    println!(
        "{} logins of {} refused with 503, {} 503 answers in all",
        refused,
        people.len(),
        tally.count(503..504)
    );

    app.clock.advance(30);
    let again = Tally::default();
    let step = idp::domain::totp::step_at(idp::clock::Clock::now(&app.clock));
    let failed = all_log_in(rp, people, step, 1, &again).await;
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(half_written(url), vec![]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_killed_during_a_login_load_answer_503_or_succeed_and_lose_nothing() {
    let (app, rp, people) = crowd_app(None, 60).await;
    let database = url::Url::parse(&app.state.settings.database.url)
        .unwrap()
        .path()
        .trim_start_matches('/')
        .to_owned();
    let tally = Tally::default();
    let step = idp::domain::totp::step_at(idp::clock::Clock::now(&app.clock));
    let crowd = {
        let (rp, people, tally) = (rp.clone(), people.clone(), tally.clone());
        tokio::spawn(async move { all_log_in(&rp, &people, step, 1, &tally).await })
    };
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        terminate_connections(&database);
    }
    let during = crowd.await.unwrap();
    judge_the_fault(&app, &rp, &people, during, &tally).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarted_during_a_login_load_is_survived_without_a_restart_of_the_idp() {
    let server = Arc::new(PrivatePostgres::start());
    let (app, rp, people) = crowd_app(Some(server.url()), 60).await;
    let tally = Tally::default();
    let step = idp::domain::totp::step_at(idp::clock::Clock::now(&app.clock));
    let crowd = {
        let (rp, people, tally) = (rp.clone(), people.clone(), tally.clone());
        tokio::spawn(async move { all_log_in(&rp, &people, step, 1, &tally).await })
    };
    // Stopped once the first logins are through: the rest are under way or waiting.
    while tally.logins() < 5 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let restarting = server.clone();
    tokio::task::spawn_blocking(move || restarting.stop())
        .await
        .unwrap();
    assert_eq!(ready(&app).await, StatusCode::SERVICE_UNAVAILABLE);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let restarting = server.clone();
    tokio::task::spawn_blocking(move || restarting.start_again())
        .await
        .unwrap();
    let back = Instant::now();
    while ready(&app).await != StatusCode::OK {
        assert!(back.elapsed() < Duration::from_secs(10), "not ready again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "ready again {} ms after PostgreSQL was back",
        back.elapsed().as_millis()
    );
    let during = crowd.await.unwrap();
    judge_the_fault(&app, &rp, &people, during, &tally).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_registration_each_invitation_is_usable_or_its_account_complete() {
    const COUNT: usize = 16;
    let app = spawn_app(Backend::Postgres).await;
    let org = app.admin().create_organisation("EK88").await;
    let mut links = Vec::new();
    for i in 0..COUNT {
        let email = format!("nieuw{i}@ek88.nl");
        let (link, _) = invite(&app, &org, &email, Some("Nieuw"), Language::Nl).await;
        links.push(link);
    }
    let node = IdpProcess::beside(&app).await;
    // Every registration form open on the node, then all sent at once, and the node killed
    // as the first answers arrive, while the others are under way (each is an argon2 hash and
    // a transaction).
    let first_answers = Arc::new(tokio::sync::Notify::new());
    let mut sending = tokio::task::JoinSet::new();
    for link in &links {
        let first = first_answers.clone();
        let browser = app.browser().at(&node);
        let link = link.replacen(&app.address, &node.address, 1);
        let csrf = csrf_token(&browser.page(&link).await);
        sending.spawn(async move {
            let fields = [
                ("csrf_token", csrf.as_str()),
                ("password", STRONG),
                ("password_confirm", STRONG),
                ("first_name", "Nieuw"),
                ("last_name", "Collega"),
            ];
            let answer = browser.try_post(&link, &fields).await.map(|r| r.status());
            first.notify_one();
            answer
        });
    }
    first_answers.notified().await;
    node.stop().await;
    let answered = sending
        .join_all()
        .await
        .into_iter()
        .filter(|r| r.as_ref().is_ok_and(|s| *s == StatusCode::SEE_OTHER))
        .count();
    let url = &app.state.settings.database.url;
    assert_eq!(half_written(url), vec![]);

    // On the node that is left: a registration the kill cut off can be done again; a finished
    // one is finished (its link is used).
    // A COMMIT the killed node sent just before it died may still be landing.
    wait_until_quiet(&app.state.settings.database.url).await;
    let mut again = 0;
    for link in &links {
        let browser = app.browser();
        if browser.get(link).await.status() == StatusCode::OK {
            let response = browser.register(link, STRONG).await;
            assert_eq!(response.status(), StatusCode::SEE_OTHER);
            again += 1;
        }
    }
    println!("killed with {answered} of {COUNT} registrations answered; {again} done again");
    assert!(again <= COUNT - answered);
    assert_eq!(
        count_rows(
            url,
            "SELECT count(*) AS n FROM users u JOIN password_credentials p ON p.user_id = u.id \
             WHERE u.status = 'pending_otp'"
        ),
        COUNT as i64
    );
    assert_eq!(half_written(url), vec![]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_token_exchange_each_code_is_unused_or_has_produced_its_tokens() {
    const COUNT: usize = 24;
    let app = spawn_app(Backend::Postgres).await;
    let rp = app.refresh_client().await;
    let people = seed_people(&app, COUNT).await;
    let step = idp::domain::totp::step_at(idp::clock::Clock::now(&app.clock));
    let mut codes = Vec::new();
    for person in &people {
        let url = rp.pkce_authorize_url("openid offline_access", &[("nonce", "n-1")]);
        let callback = app
            .browser()
            .authorize_with_code(&url, person, &person.secret.code_at(step))
            .await;
        codes.push(query_param(&callback, "code").expect("a code"));
    }
    let node = IdpProcess::beside(&app).await;
    let first_answers = Arc::new(tokio::sync::Notify::new());
    let mut exchanging = tokio::task::JoinSet::new();
    for code in &codes {
        let form = [
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.clone()),
            ("redirect_uri", REDIRECT.to_owned()),
            ("code_verifier", VERIFIER.to_owned()),
            ("client_id", rp.id.clone()),
            ("client_secret", rp.secret.clone().unwrap()),
        ];
        let request = http().post(format!("{}/token", node.address)).form(&form);
        let first = first_answers.clone();
        exchanging.spawn(async move {
            let answer = request.send().await.map(|r| r.status());
            first.notify_one();
            answer
        });
    }
    // Killed as the first answers arrive: some exchanges done, others under way.
    first_answers.notified().await;
    node.stop().await;
    wait_until_quiet(&app.state.settings.database.url).await;
    let answered = exchanging
        .join_all()
        .await
        .into_iter()
        .filter(|r| r.as_ref().is_ok_and(|s| *s == StatusCode::OK))
        .count();
    let url = &app.state.settings.database.url;
    assert_eq!(half_written(url), vec![]);

    // A code the kill cut off before its transaction committed is still unused and works
    // once; any other is used and refused.
    let mut redeemed = 0;
    for code in &codes {
        let (status, body) = rp.exchange_pkce(code).await;
        match status {
            StatusCode::OK => redeemed += 1,
            _ => assert_eq!(body["error"], "invalid_grant", "{body}"),
        }
    }
    println!("killed with {answered} of {COUNT} exchanges answered; {redeemed} redeemed after");
    assert!(redeemed <= COUNT - answered);
    assert_eq!(
        count_rows(
            url,
            "SELECT count(*) AS n FROM authorization_codes WHERE used_at IS NULL"
        ),
        0
    );
    assert_eq!(half_written(url), vec![]);
}
