//! Several nodes, one PostgreSQL: two IdP processes on their own ports behind one issuer behave
//! as one. A login started on one finishes on the other, tokens issued by one work once on the
//! other, races between them have exactly one winner, a key rotated on one is published by the
//! other, throttle counters add up across them, and both outbox workers together deliver each
//! mail exactly once. Nodes started together on an empty database migrate it once.

use std::collections::BTreeMap;
use std::time::Duration;

use idp::domain::Language;
use idp::oidc::client::AuthMethod;
use reqwest::StatusCode;

use crate::driver::*;
use crate::helpers::*;

#[tokio::test]
async fn a_login_started_on_one_node_finishes_on_the_other() {
    let a = spawn_app(Backend::Postgres).await;
    let b = second_node(&a).await;
    let rp = a
        .client(AuthMethod::ClientSecretBasic, CODE_AND_REFRESH)
        .await;
    let person = onboarded_person(&a).await;

    // The authorization request is parked by node A ...
    let on_a = a.browser();
    let response = on_a
        .get(&rp.authorize_url("openid offline_access", &[]))
        .await;
    assert!(response.status().is_redirection());
    let login = location(&response);
    assert!(login.starts_with("/login"), "{login}");

    // ... the password and the code are checked by node B, which answers the parked request.
    let on_b = on_a.at(&b);
    let response = on_b
        .submit(
            &login,
            "/login",
            &[("email", &person.email), ("password", &person.password)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/login/otp");
    let response = on_b.log_in_code(&person.fresh_code(&b.clock)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let back = location(&response);
    assert!(back.starts_with(REDIRECT), "{back}");
    let code = query_param(&back, "code").unwrap();

    // The code is exchanged at A; the refresh token it gave works once at B.
    let (status, tokens) = rp.exchange(&code).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let (status, rotated) = rp.at(&b).refresh(&tokens).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    assert_invalid_grant(rp.refresh(&tokens).await);
    // The reuse at A revoked the family B rotated.
    assert_invalid_grant(rp.at(&b).refresh(&rotated).await);
}

#[tokio::test]
async fn two_nodes_racing_one_refresh_token_have_exactly_one_winner() {
    let a = spawn_app(Backend::Postgres).await;
    let b = second_node(&a).await;
    let rp = a.refresh_client().await;
    let person = onboarded_person(&a).await;
    for _ in 0..5 {
        let browser = a.browser();
        let tokens = rp.sign_in(&browser, &person, "openid offline_access").await;
        let rp_b = rp.at(&b);
        let (on_a, on_b) = tokio::join!(rp.refresh(&tokens), rp_b.refresh(&tokens));
        let winners: Vec<_> = [&on_a, &on_b]
            .into_iter()
            .filter(|(status, _)| *status == StatusCode::OK)
            .collect();
        assert_eq!(winners.len(), 1, "{on_a:?} {on_b:?}");
        let loser = if on_a.0 == StatusCode::OK {
            on_b.clone()
        } else {
            on_a.clone()
        };
        assert_invalid_grant(loser);
        // The losing reuse revoked the family, the winner's new token with it.
        assert_invalid_grant(rp.refresh(&winners[0].1).await);
    }
}

#[tokio::test]
async fn two_nodes_racing_one_code_have_exactly_one_winner() {
    let a = spawn_app(Backend::Postgres).await;
    let b = second_node(&a).await;
    let person = onboarded_person(&a).await;
    for _ in 0..5 {
        // Two browsers at the code step, one on each node, send the same code at once.
        let first = a.browser();
        let second = b.browser();
        for (browser, node) in [(&first, &a), (&second, &b)] {
            let response = browser
                .log_in_password(&person.email, &person.password)
                .await;
            assert_eq!(response.status(), StatusCode::SEE_OTHER, "{}", node.address);
        }
        let code = person.fresh_code(&a.clock);
        let (one, other) = tokio::join!(first.log_in_code(&code), second.log_in_code(&code));
        let accepted = [one.status(), other.status()]
            .into_iter()
            .filter(|s| *s == StatusCode::SEE_OTHER)
            .count();
        assert_eq!(accepted, 1, "{} {}", one.status(), other.status());
    }
}

#[tokio::test]
async fn wrong_passwords_on_both_nodes_count_together() {
    let a = spawn_app(Backend::Postgres).await;
    let b = second_node(&a).await;
    let person = onboarded_person(&a).await;
    let free = a.state.settings.throttle.password_free_attempts;
    // The free attempts, spent alternately on A and B: each answered as a wrong password.
    for attempt in 0..free {
        let node = if attempt % 2 == 0 { &a } else { &b };
        let response = node
            .browser()
            .log_in_password(&person.email, "Wrong-Password-1234!")
            .await;
        assert_eq!(response.status(), StatusCode::OK, "attempt {attempt}");
    }
    // Then the account waits, on either node, even with the right password: the counter is
    // shared.
    for node in [&a, &b] {
        let response = node
            .browser()
            .log_in_password(&person.email, &person.password)
            .await;
        assert_eq!(
            response.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "{}",
            node.address
        );
    }
}

#[tokio::test]
async fn a_key_rotated_on_one_node_is_published_by_the_other() {
    let a = spawn_app(Backend::Postgres).await;
    let b = second_node(&a).await;
    let kids = |body: serde_json::Value| -> Vec<String> {
        body["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect()
    };
    let jwks = |node: &TestApp| reqwest::get(format!("{}/jwks", node.address));
    let before = kids(jwks(&b).await.unwrap().json().await.unwrap());
    let new_kid = a.state.keys.rotate().await.unwrap();
    assert!(!before.contains(&new_kid));
    // Within keys.refresh_seconds (1 s here), with room for a busy machine.
    let refresh = b.state.settings.keys.refresh_seconds;
    let mut published = Vec::new();
    for _ in 0..(refresh * 10 + 50) {
        published = kids(jwks(&b).await.unwrap().json().await.unwrap());
        if published.contains(&new_kid) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(published.contains(&new_kid), "{published:?}");
    // The old key stays published for tokens it signed.
    assert!(published.iter().any(|kid| before.contains(kid)));
    assert_eq!(b.state.keys.active_kid(), new_kid);
}

#[tokio::test]
async fn both_outbox_workers_deliver_every_mail_exactly_once() {
    let a = spawn_app(Backend::Postgres).await;
    let b = second_node(&a).await;
    let org = a.admin().create_organisation("EK88").await;
    let addresses: Vec<String> = (0..20).map(|i| format!("collega{i}@ek88.nl")).collect();
    // Half queued by node A, half by node B; both workers are running.
    for (i, address) in addresses.iter().enumerate() {
        let node = if i % 2 == 0 { &a } else { &b };
        node.admin()
            .invite(&org, address, None, Language::Nl)
            .await
            .unwrap();
    }
    for address in &addresses {
        a.smtp.wait_for(address, 1).await;
    }
    // Give both workers time to send anything twice, then count.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut per_address = BTreeMap::new();
    for address in &addresses {
        per_address.insert(address.clone(), a.smtp.mails_to(address).len());
    }
    assert!(per_address.values().all(|n| *n == 1), "{per_address:?}");
}

#[tokio::test]
async fn nodes_started_together_on_an_empty_database_migrate_it_once() {
    let db = TestDatabase::create(Backend::Postgres);
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(3));
    let nodes: Vec<_> = (0..3)
        .map(|_| {
            let (url, barrier) = (db.url.clone(), barrier.clone());
            std::thread::spawn(move || {
                let db = idp::storage::connection::Db::connect(&url, 1, Duration::from_secs(5))?;
                barrier.wait();
                db.migrate()
            })
        })
        .collect();
    let applied: Vec<usize> = nodes
        .into_iter()
        .map(|node| {
            node.join()
                .unwrap()
                .expect("every node migrates or finds it done")
        })
        .collect();
    let migrations = std::fs::read_dir(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../migrations/postgres"
    ))
    .unwrap()
    .count();
    // One node applied them all; the others found nothing pending.
    assert_eq!(applied.iter().sum::<usize>(), migrations, "{applied:?}");
    assert_eq!(applied.iter().filter(|&&n| n > 0).count(), 1, "{applied:?}");
}
