//! `cargo xtask bench`: release binaries of the IdP and of the bench (crates/bench), PostgreSQL
//! found or started the way `cargo xtask test` does, then the bench itself, which prints one
//! table and writes docs/benchmarks.md (and its chart, docs/benchmarks.svg). `--quick` is a
//! smoke run of a few seconds that writes nothing.

use anyhow::Result;

use crate::util::{cargo, repo_root, run, step};
use crate::{postgres, system};

const STEPS: usize = 3;

pub fn run_bench(args: &[String]) -> Result<()> {
    let quick = args.iter().any(|a| a == "--quick");
    if let Some(other) = args.iter().find(|a| *a != "--quick") {
        anyhow::bail!("unknown argument {other}; usage: cargo xtask bench [--quick]");
    }
    let root = repo_root();
    step(1, STEPS, "Build the IdP and the bench (release)", || {
        system::ensure_libpq()?;
        run(cargo().args(["build", "--release", "-p", "idp", "-p", "bench"]))
    })?;
    let server = step(2, STEPS, "PostgreSQL for the bench", postgres::provide)?;
    step(3, STEPS, "Run the bench", || {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map_or_else(|| root.join("target"), |dir| root.join(dir))
            .join("release");
        let mut cmd = std::process::Command::new(target.join("idp-bench"));
        cmd.current_dir(&root)
            .arg("--idp")
            .arg(target.join("idp"))
            .args(["--pg", &server.url()]);
        if quick {
            cmd.arg("--quick");
        } else {
            cmd.args(["--out", "docs/benchmarks.md"]);
        }
        run(&mut cmd)
    })?;
    drop(server);
    Ok(())
}
