//! Load: a few hundred people log in (password and one-time code, the whole code flow) and
//! refresh at once against PostgreSQL. The server degrades by queueing, not by failing: no
//! 5xx, nothing lost, doubled or half-written, and every request answered. The p50/p99 are
//! printed (`--no-capture`). `cargo xtask soak` runs the long version (`soak`, ignored here):
//! logins and refreshes for minutes while the database's connections are killed again and
//! again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use idp::clock::Clock;
use idp::domain::totp::step_at;

use crate::driver::*;
use crate::helpers::*;

/// The production pool and two HTTP workers, as on a small node. The whole crowd comes from
/// 127.0.0.1, so the per-address limit on authorization requests waiting for a login is raised
/// as for an office of thousands behind one address.
async fn loaded_app() -> TestApp {
    spawn_app_with(
        Backend::Postgres,
        Options::settings(|s| {
            s.server.workers = 2;
            s.database.pool_size = 10;
            s.throttle.parked_requests_per_ip_per_hour = 1_000_000;
        }),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_people_log_in_and_refresh_at_once_without_an_error() {
    const PEOPLE: usize = 200;
    const REFRESHES: usize = 2;
    let app = loaded_app().await;
    let rp = Arc::new(app.refresh_client().await);
    let people = Arc::new(seed_people(&app, PEOPLE).await);
    let tally = Tally::default();

    let started = Instant::now();
    let step = step_at(app.clock.now());
    let failed = all_log_in(&rp, &people, step, REFRESHES, &tally).await;
    println!("{}", tally.report("load", started.elapsed()));
    assert!(
        failed.is_empty(),
        "{} failed: {:?}",
        failed.len(),
        &failed[..failed.len().min(5)]
    );
    assert_eq!(tally.count(500..600), 0);
    // Seven requests a login (authorize, login page, password, code page, code, exchange —
    // the authorization redirect counted once) and one a refresh.
    assert_eq!(tally.requests(), PEOPLE * (6 + REFRESHES));

    // Exactly what the crowd did was written: one session, one used code and one refresh
    // family (of 1 + REFRESHES tokens, one live) per person, one login event each.
    let url = &app.state.settings.database.url;
    let n = PEOPLE as i64;
    let count = |sql: &str| count_rows(url, sql);
    assert_eq!(
        count("SELECT count(*) AS n FROM sessions WHERE stage = 'authenticated'"),
        n
    );
    assert_eq!(
        count("SELECT count(*) AS n FROM authorization_codes WHERE used_at IS NOT NULL"),
        n
    );
    assert_eq!(
        count("SELECT count(DISTINCT family_id) AS n FROM refresh_tokens"),
        n
    );
    assert_eq!(
        count("SELECT count(*) AS n FROM refresh_tokens"),
        n * (1 + REFRESHES as i64)
    );
    assert_eq!(
        count(
            "SELECT count(*) AS n FROM audit_events WHERE event = 'login' AND outcome = 'success'"
        ),
        n
    );
    assert_eq!(half_written(url), vec![]);
}

/// `cargo xtask soak`: `IDP_SOAK_PEOPLE` (300) people log in and refresh again and again for
/// `IDP_SOAK_SECONDS` (300), each at most once per authenticator step, while every
/// `IDP_SOAK_KILL_SECONDS` (20) all of the IdP's database connections are terminated. Only
/// successes and 503s with `Retry-After` may be answered; afterwards nothing is half-written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "minutes long: run by `cargo xtask soak`"]
async fn soak() {
    let setting = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let people_count = setting("IDP_SOAK_PEOPLE", 300) as usize;
    let seconds = setting("IDP_SOAK_SECONDS", 300);
    let kill_every = setting("IDP_SOAK_KILL_SECONDS", 20);
    let app = loaded_app().await;
    let rp = Arc::new(app.refresh_client().await);
    let people = Arc::new(seed_people(&app, people_count).await);
    let tally = Tally::default();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();

    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..people.len() {
        let (rp, people, tally, clock) =
            (rp.clone(), people.clone(), tally.clone(), app.clock.clone());
        tasks.spawn(async move {
            let member = Member {
                rp: &rp,
                person: &people[i],
                tally: &tally,
            };
            let mut failures = Vec::new();
            let mut last_step = 0;
            while Instant::now() < deadline {
                // A code is accepted once: wait for the authenticator's next one.
                let step = step_at(clock.now());
                if step <= last_step {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
                let code = people[i].secret.code_at(step);
                match member.log_in(&code, "openid offline_access").await {
                    Outcome::Done(mut tokens) => {
                        last_step = step;
                        for _ in 0..3 {
                            match member.refresh(&tokens).await {
                                Outcome::Done(next) => tokens = next,
                                Outcome::Unavailable(_) => break,
                                failed => failures.push(failed),
                            }
                        }
                    }
                    Outcome::Unavailable(at) => {
                        // Refused at or after the code step, the code may have been taken
                        // (its unit of work committed before a later one met the outage): a
                        // second try with it is a replay.
                        if at == "code" || at == "exchange" {
                            last_step = step;
                        }
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    failed => {
                        last_step = step;
                        failures.push(failed);
                    }
                }
            }
            failures
        });
    }
    let database = url::Url::parse(&app.state.settings.database.url)
        .unwrap()
        .path()
        .trim_start_matches('/')
        .to_owned();
    let mut kills = 0;
    while Instant::now() + Duration::from_secs(kill_every) < deadline {
        tokio::time::sleep(Duration::from_secs(kill_every)).await;
        terminate_connections(&database);
        kills += 1;
    }
    let failures: Vec<Outcome> = tasks.join_all().await.into_iter().flatten().collect();
    println!(
        "{}; connections killed {kills} times",
        tally.report("soak", started.elapsed())
    );
    assert!(
        failures.is_empty(),
        "{} failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    assert_eq!(
        tally.count(500..600),
        tally.count(503..504),
        "only 503s while connections were killed"
    );
    assert_eq!(half_written(&app.state.settings.database.url), vec![]);
}
