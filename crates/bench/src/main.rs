//! `idp-bench`, run by `cargo xtask bench`: the limits of the work on these cores, then the IdP
//! (a release binary, its own process, on PostgreSQL) under load from the same cores, its
//! memory, its start, and the same grants with a million more people in the database. Prints
//! one table and writes it, with a chart, to docs/benchmarks.md.

mod journeys;
mod limits;
mod load;
mod process;
mod report;
mod seed;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use base64::Engine;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use idp::config::{MailTransportKind, Settings};
use tokio::sync::Mutex;

use crate::journeys::Client;
use crate::load::{Bounds, Stats};
use crate::process::IdpProcess;
use crate::report::{Report, Row};

struct Args {
    idp: PathBuf,
    pg_admin_url: String,
    out: Option<PathBuf>,
    quick: bool,
}

fn args() -> Result<Args> {
    let mut idp = None;
    let mut pg = None;
    let mut out = None;
    let mut quick = false;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--idp" => idp = it.next().map(PathBuf::from),
            "--pg" => pg = it.next(),
            "--out" => out = it.next().map(PathBuf::from),
            "--quick" => quick = true,
            other => bail!(
                "unknown argument {other}; usage: idp-bench --idp BIN --pg ADMIN_URL [--out FILE] [--quick]"
            ),
        }
    }
    Ok(Args {
        idp: idp.context("--idp <release binary> is required")?,
        pg_admin_url: pg.context("--pg <PostgreSQL admin URL> is required")?,
        out,
        quick,
    })
}

/// How long each scenario runs and how big the scale run is.
struct Plan {
    seconds: u64,
    people: usize,
    fill: usize,
    peak_logins: u64,
    settle: Duration,
}

impl Plan {
    fn of(quick: bool) -> Self {
        if quick {
            Plan {
                seconds: 1,
                people: 400,
                fill: 10_000,
                peak_logins: 60,
                settle: Duration::from_secs(2),
            }
        } else {
            Plan {
                seconds: 10,
                people: 3_000,
                fill: 1_000_000,
                peak_logins: 400,
                settle: Duration::from_secs(30),
            }
        }
    }

    fn bounds(&self, concurrency: usize) -> Bounds {
        Bounds {
            concurrency,
            duration: Duration::from_secs(self.seconds),
            max_count: u64::MAX,
        }
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = args()?;
    idp::keys::install_crypto_provider();
    let database = Database::create(&args.pg_admin_url)?;
    let result = bench(&args, &database.url).await;
    drop(database);
    let report = result?;
    let table = report.markdown();
    println!("{table}");
    if let Some(out) = &args.out {
        let chart = out.with_extension("svg");
        let chart_name = chart
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        std::fs::write(&chart, report.chart())
            .with_context(|| format!("could not write {}", chart.display()))?;
        std::fs::write(out, report.document(&chart_name))
            .with_context(|| format!("could not write {}", out.display()))?;
        println!("written to {} and {}", out.display(), chart.display());
    }
    Ok(())
}

async fn bench(args: &Args, database_url: &str) -> Result<Report> {
    let plan = Plan::of(args.quick);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let data = std::env::temp_dir().join(format!("idp-bench-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(data.join("mail"))?;
    let key = base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>());
    let mut report = Report::new(cores, plan.seconds);

    eprintln!("limits: argon2id, RS256 …");
    let hashes = limits::argon2_per_second(cores, Duration::from_secs(plan.seconds.max(2)));

    let idp = IdpProcess::start(&args.idp, database_url, &key, &data).await?;
    report.ready_ms = idp.ready_after.as_secs_f64() * 1000.0;
    tokio::time::sleep(Duration::from_secs(1)).await;
    report.rss_idle_kib = idp.rss_kib();

    let state = in_process_state(database_url, &key, &idp.base).await?;
    let signatures = limits::signatures_per_second(
        state.keys.clone(),
        cores,
        Duration::from_secs(plan.seconds.max(2)),
    );
    report.limit("argon2id hashes/s (m=19 MiB, t=2, p=1)", hashes);
    report.limit("RS256 signatures/s (the IdP's key manager)", signatures);

    let http = journeys::shared_http();
    let discovery_url = format!("{}/.well-known/openid-configuration", idp.base);
    let discovery_body = http
        .get(&discovery_url)
        .send()
        .await?
        .bytes()
        .await?
        .to_vec();
    let bare = limits::bare_handler(discovery_body, cores, plan.bounds(10)).await?;
    report.limit(
        "bare actix-web handler req/s (discovery bytes)",
        bare.per_second,
    );

    eprintln!("seeding {} people …", plan.people);
    let seeded = Arc::new(seed::seed(&state, database_url, plan.people).await?);
    let next_person = Arc::new(AtomicUsize::new(0));

    eprintln!("discovery, JWKS …");
    let s = get_scenario(&discovery_url, plan.bounds(10)).await;
    report.row(Row::new("discovery GET", s).against(bare.per_second, 0.8));
    let s = get_scenario(&format!("{}/jwks", idp.base), plan.bounds(10)).await;
    report.row(Row::new("JWKS GET", s).against(bare.per_second, 0.8));

    eprintln!("client_credentials …");
    let s = client_credentials(&idp.base, &seeded.service, plan.bounds(10)).await;
    report.row(Row::new("client_credentials grants", s).against(signatures, 0.7));

    eprintln!("logins …");
    let s = logins(&idp.base, &seeded, &next_person, plan.bounds(10)).await;
    let login_small = s.p50_ms;
    report.row(Row::new("code-flow logins (password + code, 6 requests)", s).against(hashes, 0.9));

    eprintln!("refresh …");
    let chains = refresh_chains(&idp.base, &seeded, &next_person, 10).await?;
    let s = refresh(&idp.base, &seeded.portal, chains.clone(), plan.bounds(10)).await;
    let refresh_small = s.p50_ms;
    report.row(
        Row::new("refresh_token grants (10 rotating chains)", s).against(signatures / 2.0, 0.7),
    );

    let access = chains_access_token(&idp.base, &seeded, &next_person).await?;
    eprintln!("userinfo, introspection …");
    let s = userinfo(&idp.base, &access, plan.bounds(10)).await;
    report.row(Row::new("userinfo GET", s));
    let s = introspection(&idp.base, &seeded.portal, &access, plan.bounds(10)).await;
    report.row(Row::new("introspection", s));

    eprintln!(
        "memory under {} concurrent logins …",
        plan.peak_logins.min(200)
    );
    idp.start_sampling();
    let s = logins(
        &idp.base,
        &seeded,
        &next_person,
        Bounds {
            concurrency: 200,
            duration: Duration::from_secs(120),
            max_count: plan.peak_logins,
        },
    )
    .await;
    report.rss_peak_kib = idp.stop_sampling();
    report.peak_logins = s;
    tokio::time::sleep(plan.settle).await;
    report.rss_after_kib = idp.rss_kib();
    report.settle_seconds = plan.settle.as_secs();

    eprintln!("scale: {} more people and refresh tokens …", plan.fill);
    report.small_people = plan.people;
    report.large_people = plan.people + plan.fill;
    seed::fill(&state, database_url, &seeded, plan.fill)?;
    let few = Bounds {
        concurrency: 10,
        duration: Duration::from_secs(plan.seconds),
        max_count: 300,
    };
    let s = logins(&idp.base, &seeded, &next_person, few).await;
    report.scale("login p50", login_small, s.p50_ms, s.errors);
    let s = refresh(&idp.base, &seeded.portal, chains, plan.bounds(10)).await;
    report.scale("refresh p50", refresh_small, s.p50_ms, s.errors);
    drop(idp);
    let _ = std::fs::remove_dir_all(&data);
    Ok(report)
}

/// The IdP's services in this process, on the same database and key (seeding, signatures).
async fn in_process_state(
    database_url: &str,
    key: &str,
    issuer: &str,
) -> Result<idp::state::IdpState> {
    let mut settings = Settings::defaults()?;
    settings.issuer = issuer.to_owned();
    settings.database.url = database_url.to_owned();
    settings.database.pool_size = 4;
    settings.secrets.encryption_key = Some(key.to_owned().into());
    settings.mail.transport = MailTransportKind::File;
    let db = idp::storage::Db::connect(database_url, 4, Duration::from_secs(10))?;
    let clock: idp::clock::SharedClock = Arc::new(idp::clock::SystemClock);
    idp::state::IdpState::build(settings, db, clock).await
}

async fn get_scenario(url: &str, bounds: Bounds) -> Stats {
    let url = url.to_owned();
    load::run(bounds, move |_| {
        let url = url.clone();
        async move { journeys::get_ok(&journeys::shared_http(), &url).await }
    })
    .await
}

async fn client_credentials(base: &str, service: &Client, bounds: Bounds) -> Stats {
    let (base, service) = (base.to_owned(), service.clone());
    load::run(bounds, move |_| {
        let (base, service) = (base.clone(), service.clone());
        async move {
            journeys::token(&base, &service, &[("grant_type", "client_credentials")])
                .await
                .map(drop)
        }
    })
    .await
}

/// Whole logins, each by the next person not yet used (a person logs in once per run, so no
/// code is ever used twice).
async fn logins(
    base: &str,
    seeded: &Arc<seed::Seeded>,
    next: &Arc<AtomicUsize>,
    bounds: Bounds,
) -> Stats {
    let (base, seeded, next) = (base.to_owned(), seeded.clone(), next.clone());
    load::run(bounds, move |_| {
        let (base, seeded, next) = (base.clone(), seeded.clone(), next.clone());
        async move {
            let i = next.fetch_add(1, Ordering::SeqCst);
            let person = seeded
                .people
                .get(i)
                .ok_or("every seeded person has logged in")?;
            journeys::login(&base, &seeded.portal, person, "openid")
                .await
                .map(drop)
        }
    })
    .await
}

type Chains = Arc<Vec<Mutex<String>>>;

async fn refresh_chains(
    base: &str,
    seeded: &seed::Seeded,
    next: &AtomicUsize,
    count: usize,
) -> Result<Chains> {
    let mut chains = Vec::with_capacity(count);
    for _ in 0..count {
        let i = next.fetch_add(1, Ordering::SeqCst);
        let person = seeded.people.get(i).context("not enough people")?;
        let tokens = journeys::login(base, &seeded.portal, person, "openid offline_access")
            .await
            .map_err(anyhow::Error::msg)?;
        let refresh = tokens["refresh_token"]
            .as_str()
            .context("no refresh token")?;
        chains.push(Mutex::new(refresh.to_owned()));
    }
    Ok(Arc::new(chains))
}

async fn chains_access_token(
    base: &str,
    seeded: &seed::Seeded,
    next: &AtomicUsize,
) -> Result<String> {
    let i = next.fetch_add(1, Ordering::SeqCst);
    let person = seeded.people.get(i).context("not enough people")?;
    let tokens = journeys::login(base, &seeded.portal, person, "openid email")
        .await
        .map_err(anyhow::Error::msg)?;
    Ok(tokens["access_token"]
        .as_str()
        .context("no access token")?
        .to_owned())
}

async fn refresh(base: &str, portal: &Client, chains: Chains, bounds: Bounds) -> Stats {
    let (base, portal) = (base.to_owned(), portal.clone());
    load::run(bounds, move |i| {
        let (base, portal, chains) = (base.clone(), portal.clone(), chains.clone());
        async move {
            let index = usize::try_from(i).unwrap_or(0) % chains.len();
            let mut chain = chains[index].lock().await;
            let tokens = journeys::token(
                &base,
                &portal,
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", chain.as_str()),
                ],
            )
            .await?;
            *chain = tokens["refresh_token"]
                .as_str()
                .ok_or("no rotated refresh token")?
                .to_owned();
            Ok(())
        }
    })
    .await
}

async fn userinfo(base: &str, access: &str, bounds: Bounds) -> Stats {
    let (url, access) = (format!("{base}/userinfo"), access.to_owned());
    load::run(bounds, move |_| {
        let (url, access) = (url.clone(), access.clone());
        async move {
            let response = journeys::shared_http()
                .get(&url)
                .bearer_auth(&access)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let status = response.status();
            response.bytes().await.map_err(|e| e.to_string())?;
            if status.is_success() {
                Ok(())
            } else {
                Err(format!("userinfo: {status}"))
            }
        }
    })
    .await
}

async fn introspection(base: &str, portal: &Client, access: &str, bounds: Bounds) -> Stats {
    let (url, portal, access) = (
        format!("{base}/introspect"),
        portal.clone(),
        access.to_owned(),
    );
    load::run(bounds, move |_| {
        let (url, portal, access) = (url.clone(), portal.clone(), access.clone());
        async move {
            let body = journeys::post_json(
                &journeys::shared_http(),
                &url,
                &portal,
                &[("token", &access)],
            )
            .await?;
            if body["active"] == true {
                Ok(())
            } else {
                Err(format!("inactive: {body}"))
            }
        }
    })
    .await
}

/// A fresh PostgreSQL database for one run, dropped at the end.
struct Database {
    admin: String,
    name: String,
    url: String,
}

impl Database {
    fn create(admin: &str) -> Result<Self> {
        let name = format!("idp_bench_{}", uuid::Uuid::new_v4().simple());
        let mut conn =
            PgConnection::establish(admin).with_context(|| format!("PostgreSQL at {admin}"))?;
        conn.batch_execute(&format!("CREATE DATABASE \"{name}\""))?;
        let mut url = url::Url::parse(admin)?;
        url.set_path(&name);
        Ok(Self {
            admin: admin.to_owned(),
            url: url.to_string(),
            name,
        })
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Ok(mut conn) = PgConnection::establish(&self.admin) {
            let _ = conn.batch_execute(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ));
        }
    }
}
