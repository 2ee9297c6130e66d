//! `cargo xtask soak`: the long load test with faults (`load::soak` in the IdP's tests, ignored
//! in `cargo xtask test`): a crowd logging in and refreshing for minutes on PostgreSQL while the
//! IdP's database connections are killed again and again. It prints the requests, statuses and
//! p50/p99 and fails on any answer other than a success or a 503 with `Retry-After`, or on a
//! half-written row.

use anyhow::{Context, Result, bail};

use crate::postgres;
use crate::system;
use crate::util::{cargo, run, step, unix_seconds};

const STEPS: usize = 3;

pub fn run_soak(args: &[String]) -> Result<()> {
    let mut env = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let name = match arg.as_str() {
            "--seconds" => "IDP_SOAK_SECONDS",
            "--people" => "IDP_SOAK_PEOPLE",
            "--kill-every" => "IDP_SOAK_KILL_SECONDS",
            other => bail!("unknown option `{other}` (see `cargo xtask help`)"),
        };
        let value = args
            .next()
            .with_context(|| format!("{arg} needs a number"))?;
        value
            .parse::<u64>()
            .with_context(|| format!("{arg} {value}: not a number"))?;
        env.push((name, value.clone()));
    }
    step(
        1,
        STEPS,
        "System packages (libpq for pq-sys)",
        system::ensure_libpq,
    )?;
    let server = step(2, STEPS, "PostgreSQL for the soak", postgres::provide)?;
    let prefix = format!("soak{}_{}", unix_seconds(), std::process::id());
    let result = step(3, STEPS, "Soak (load::soak)", || {
        let mut cmd = cargo();
        // --workspace: the features the test run unifies, so its build is reused.
        cmd.args(["test", "--workspace", "--test", "it", "load::soak", "--"])
            .args(["--ignored", "--exact", "--nocapture"])
            .env("IDP_TEST_PG_URL", server.url())
            .env("IDP_TEST_DB_PREFIX", &prefix)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())));
        run(&mut cmd)
    });
    if let postgres::Server::Existing(url) = &server {
        postgres::drop_leftover_databases(url, &prefix);
    }
    result
}
