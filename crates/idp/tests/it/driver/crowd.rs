//! A crowd: many people logging in and refreshing at once, each answer counted instead of
//! asserted, so that a load or a fault can be judged afterwards by what everyone got — and the
//! rows the IdP wrote meanwhile can be checked for anything lost, doubled or half-written.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::{Connection, PgConnection, RunQueryDsl};
use idp::domain::totp::TotpStep;
use reqwest::{Response, StatusCode};
use serde_json::Value;

use super::browser::{location, query_param};
use super::html::csrf_token;
use super::people::Person;
use super::relying_party::{REDIRECT, RelyingParty};

/// How one login or refresh ended.
#[derive(Debug)]
#[expect(
    dead_code,
    reason = "the fields are read in the failure messages, through Debug"
)]
pub enum Outcome {
    /// The token response.
    Done(Value),
    /// 503 with `Retry-After`: the IdP said it could not serve now (a database outage).
    Unavailable(&'static str),
    /// Anything else: the step, its status and the start of its body.
    Failed(&'static str, StatusCode, String),
}

/// Every status the crowd was answered, and how long whole logins and refreshes took.
#[derive(Debug, Default, Clone)]
pub struct Tally(Arc<Mutex<TallyInner>>);

#[derive(Debug, Default)]
struct TallyInner {
    statuses: BTreeMap<u16, usize>,
    logins: Vec<Duration>,
    refreshes: Vec<Duration>,
}

impl Tally {
    fn answered(&self, status: StatusCode) {
        *self
            .0
            .lock()
            .unwrap()
            .statuses
            .entry(status.as_u16())
            .or_default() += 1;
    }

    /// How many answers had a status in `range` (e.g. `500..600`).
    pub fn count(&self, range: std::ops::Range<u16>) -> usize {
        let inner = self.0.lock().unwrap();
        inner
            .statuses
            .iter()
            .filter(|(s, _)| range.contains(s))
            .map(|(_, n)| n)
            .sum()
    }

    /// How many whole logins succeeded so far.
    pub fn logins(&self) -> usize {
        self.0.lock().unwrap().logins.len()
    }

    pub fn requests(&self) -> usize {
        self.count(0..1000)
    }

    /// One line for the test's output: requests by status, p50/p99 of logins and refreshes.
    pub fn report(&self, what: &str, elapsed: Duration) -> String {
        let mut inner = self.0.lock().unwrap();
        let TallyInner {
            statuses,
            logins,
            refreshes,
        } = &mut *inner;
        let requests: usize = statuses.values().sum();
        format!(
            "{what}: {requests} requests in {:.1} s ({:.0}/s), statuses {statuses:?}; \
             logins {} p50 {} p99 {}; refreshes {} p50 {} p99 {}",
            elapsed.as_secs_f64(),
            requests as f64 / elapsed.as_secs_f64(),
            logins.len(),
            percentile(logins, 50),
            percentile(logins, 99),
            refreshes.len(),
            percentile(refreshes, 50),
            percentile(refreshes, 99),
        )
    }
}

fn percentile(times: &mut [Duration], p: usize) -> String {
    if times.is_empty() {
        return "-".to_owned();
    }
    times.sort();
    let at = ((times.len() * p).div_ceil(100)).clamp(1, times.len()) - 1;
    format!("{:.0} ms", times[at].as_secs_f64() * 1000.0)
}

/// One person of the crowd, logging in to `rp` (at the node it talks to) in a browser of
/// their own.
pub struct Member<'a> {
    pub rp: &'a RelyingParty,
    pub person: &'a Person,
    pub tally: &'a Tally,
}

impl Member<'_> {
    /// The whole code flow in a new browser — password, then `otp` at the code step — and the
    /// token exchange, for `scope`.
    pub async fn log_in(&self, otp: &str, scope: &str) -> Outcome {
        let started = Instant::now();
        let outcome = self.flow(otp, scope).await;
        if matches!(outcome, Outcome::Done(_)) {
            self.tally.0.lock().unwrap().logins.push(started.elapsed());
        }
        outcome
    }

    /// One refresh of `tokens`.
    pub async fn refresh(&self, tokens: &Value) -> Outcome {
        let started = Instant::now();
        let response = self
            .rp
            .post(
                "/token",
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
                ],
            )
            .await;
        let outcome = match self.expect("refresh", response, StatusCode::OK).await {
            Ok(response) => Outcome::Done(response.json().await.unwrap()),
            Err(outcome) => outcome,
        };
        if matches!(outcome, Outcome::Done(_)) {
            self.tally
                .0
                .lock()
                .unwrap()
                .refreshes
                .push(started.elapsed());
        }
        outcome
    }

    async fn flow(&self, otp: &str, scope: &str) -> Outcome {
        match self.steps(otp, scope).await {
            Ok(tokens) => Outcome::Done(tokens),
            Err(outcome) => outcome,
        }
    }

    async fn steps(&self, otp: &str, scope: &str) -> Result<Value, Outcome> {
        let browser = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let url = |path: &str| format!("{}{path}", self.rp.address());
        let authorize = self.rp.pkce_authorize_url(scope, &[("nonce", "n-1")]);
        let response = send(browser.get(&authorize)).await;
        let response = self
            .expect("authorize", response, StatusCode::SEE_OTHER)
            .await?;
        let login = url(&location(&response));
        let response = self
            .expect(
                "login page",
                send(browser.get(&login)).await,
                StatusCode::OK,
            )
            .await?;
        let csrf = csrf_token(&response.text().await.unwrap());
        let form = [
            ("csrf_token", csrf.as_str()),
            ("email", &self.person.email),
            ("password", &self.person.password),
        ];
        let response = send(browser.post(url("/login")).form(&form)).await;
        self.expect("password", response, StatusCode::SEE_OTHER)
            .await?;
        let response = send(browser.get(url("/login/otp"))).await;
        let response = self.expect("code page", response, StatusCode::OK).await?;
        let csrf = csrf_token(&response.text().await.unwrap());
        let form = [("csrf_token", csrf.as_str()), ("otp_code", otp)];
        let response = send(browser.post(url("/login/otp")).form(&form)).await;
        let response = self.expect("code", response, StatusCode::SEE_OTHER).await?;
        let callback = location(&response);
        if !callback.starts_with(REDIRECT) {
            return Err(Outcome::Failed("code", response.status(), callback));
        }
        let code = query_param(&callback, "code").expect("a code");
        let response = self.rp.redeem_pkce(&code).await;
        let response = self.expect("exchange", response, StatusCode::OK).await?;
        Ok(response.json().await.unwrap())
    }

    /// The response when it has `status`; otherwise what it says of the step.
    async fn expect(
        &self,
        step: &'static str,
        response: Response,
        status: StatusCode,
    ) -> Result<Response, Outcome> {
        self.tally.answered(response.status());
        if response.status() == status {
            return Ok(response);
        }
        if response.status() == StatusCode::SERVICE_UNAVAILABLE
            && response.headers().contains_key("retry-after")
        {
            return Err(Outcome::Unavailable(step));
        }
        let status = response.status();
        let mut body = response.text().await.unwrap_or_default();
        body.truncate(300);
        Err(Outcome::Failed(step, status, body))
    }
}

async fn send(request: reqwest::RequestBuilder) -> Response {
    request.send().await.expect("the IdP answers")
}

/// Every one of `people` logs in to `rp` at once, each in a browser of their own with the
/// code of authenticator step `step`, then refreshes `refreshes` times; the outcomes that were
/// not a success.
pub async fn all_log_in(
    rp: &Arc<RelyingParty>,
    people: &Arc<Vec<Person>>,
    step: TotpStep,
    refreshes: usize,
    tally: &Tally,
) -> Vec<Outcome> {
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..people.len() {
        let (rp, people, tally) = (rp.clone(), people.clone(), tally.clone());
        tasks.spawn(async move {
            let member = Member {
                rp: &rp,
                person: &people[i],
                tally: &tally,
            };
            let code = people[i].secret.code_at(step);
            let mut tokens = match member.log_in(&code, "openid offline_access").await {
                Outcome::Done(tokens) => tokens,
                other => return Some(other),
            };
            for _ in 0..refreshes {
                tokens = match member.refresh(&tokens).await {
                    Outcome::Done(tokens) => tokens,
                    other => return Some(other),
                };
            }
            None
        });
    }
    tasks.join_all().await.into_iter().flatten().collect()
}

/// Counts rows of the PostgreSQL database at `url` with `sql` (`SELECT count(*) AS n …`).
pub fn count_rows(url: &str, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = PgConnection::establish(url).unwrap();
    diesel::sql_query(sql)
        .get_result::<Count>(&mut conn)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .n
}

/// What must hold in any database the IdP wrote, whatever happened meanwhile: nothing half
/// written. Each entry: what is wrong, and how many rows show it.
pub fn half_written(url: &str) -> Vec<(&'static str, i64)> {
    let checks: [(&'static str, &str); 5] = [
        (
            "a used code without its access token",
            "SELECT count(*) AS n FROM authorization_codes \
             WHERE (used_at IS NULL) <> (access_token_jti IS NULL)",
        ),
        (
            "a used code with offline_access that started no refresh family",
            "SELECT count(*) AS n FROM authorization_codes c WHERE c.used_at IS NOT NULL \
             AND ' ' || c.scope || ' ' LIKE '% offline_access %' \
             AND NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.code_hash = c.code_hash)",
        ),
        (
            "a refresh family with more than one live token",
            "SELECT count(*) AS n FROM (SELECT family_id FROM refresh_tokens \
             WHERE rotated_at IS NULL AND revoked_at IS NULL \
             GROUP BY family_id HAVING count(*) > 1) f",
        ),
        (
            "an invited person with a password, or a registered one without",
            "SELECT count(*) AS n FROM users u \
             LEFT JOIN password_credentials p ON p.user_id = u.id \
             WHERE (u.status = 'invited') = (p.user_id IS NOT NULL)",
        ),
        (
            "an invitation used by a person still invited, or unused by a registered one",
            "SELECT count(*) AS n FROM invitations i JOIN users u ON u.id = i.user_id \
             WHERE i.revoked_at IS NULL AND (i.used_at IS NULL) <> (u.status = 'invited')",
        ),
    ];
    checks
        .into_iter()
        .map(|(what, sql)| (what, count_rows(url, sql)))
        .filter(|(_, n)| *n > 0)
        .collect()
}
