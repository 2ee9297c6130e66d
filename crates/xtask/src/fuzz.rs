//! `cargo xtask fuzz [--seconds N] [TARGET...]`: the cargo-fuzz targets of crates/idp/fuzz, each
//! for N seconds (60 unless told), installing cargo-fuzz when it is missing; nightly is needed.
//! libFuzzer starts from the kept corpus (crates/idp/fuzz/corpus/<target>, read only) and writes
//! what it finds to a scratch corpus in crates/idp/fuzz/target/fuzz-corpus/<target>. A crash
//! stops the run with the path of its input.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::util::{cargo, repo_root, run, step, succeeds};

const DEFAULT_SECONDS: u64 = 60;
const USAGE: &str = "usage: cargo xtask fuzz [--seconds N] [TARGET...]";

pub fn run_fuzz(args: &[String]) -> Result<()> {
    let (seconds, mut targets) = parse(args)?;
    let dir = repo_root().join("crates/idp/fuzz");
    let known = list_targets(&dir)?;
    if targets.is_empty() {
        targets.clone_from(&known);
    } else if let Some(unknown) = targets.iter().find(|t| !known.contains(t)) {
        bail!(
            "unknown fuzz target {unknown}; the targets are: {}",
            known.join(" ")
        );
    }
    let total = targets.len() + 1;
    step(1, total, "cargo-fuzz and the nightly toolchain", || {
        ensure_tools(&dir)
    })?;
    for (i, target) in targets.iter().enumerate() {
        let title = format!("fuzz {target} for {seconds}s");
        step(i + 2, total, &title, || fuzz_one(&dir, target, seconds))?;
    }
    Ok(())
}

fn parse(args: &[String]) -> Result<(u64, Vec<String>)> {
    let mut seconds = DEFAULT_SECONDS;
    let mut targets = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "--seconds" {
            let value = args.next().context(USAGE)?;
            seconds =
                value.parse().ok().filter(|&s| s > 0).with_context(|| {
                    format!("--seconds {value}: not a positive number; {USAGE}")
                })?;
        } else if arg.starts_with('-') {
            bail!("unknown option {arg}; {USAGE}");
        } else {
            targets.push(arg.clone());
        }
    }
    Ok((seconds, targets))
}

/// The targets: one file each in fuzz_targets/, named as its `[[bin]]` in the fuzz crate.
fn list_targets(dir: &Path) -> Result<Vec<String>> {
    let sources = dir.join("fuzz_targets");
    let mut targets: Vec<String> = std::fs::read_dir(&sources)
        .with_context(|| format!("reading {}", sources.display()))?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter_map(|name| name.strip_suffix(".rs").map(str::to_owned))
        .collect();
    targets.sort();
    Ok(targets)
}

/// `cargo +nightly …` through rustup's proxy on PATH (`cargo()` is the toolchain's own cargo,
/// which does not read `+toolchain`). Without the variables `cargo run` set for xtask itself:
/// build scripts that watch them (ring's) would otherwise be rebuilt at every switch between
/// `cargo xtask fuzz` and a plain `cargo fuzz`.
fn nightly_cargo(dir: &Path) -> Command {
    let mut cmd = Command::new("cargo");
    cmd.current_dir(dir).arg("+nightly");
    for (name, _) in std::env::vars_os() {
        if let Some(name) = name.to_str()
            && (name.starts_with("CARGO_PKG_")
                || name.starts_with("CARGO_MANIFEST_")
                || matches!(name, "CARGO_CRATE_NAME" | "CARGO_BIN_NAME"))
        {
            cmd.env_remove(name);
        }
    }
    cmd
}

fn ensure_tools(dir: &Path) -> Result<()> {
    if !succeeds(nightly_cargo(dir).arg("--version")) {
        bail!(
            "cargo-fuzz needs the nightly toolchain (for -Zsanitizer), which is not installed: \
             run `rustup toolchain install nightly` and retry"
        );
    }
    if succeeds(cargo().args(["fuzz", "--version"])) {
        println!("cargo-fuzz found");
        return Ok(());
    }
    println!("cargo-fuzz not found: installing it");
    run(cargo().args(["install", "cargo-fuzz", "--locked"]))
}

fn fuzz_one(dir: &Path, target: &str, seconds: u64) -> Result<()> {
    let seeds = dir.join("corpus").join(target);
    let scratch = dir.join("target/fuzz-corpus").join(target);
    // Where cargo-fuzz has libFuzzer write crashing inputs.
    let artifacts = dir.join("artifacts").join(target);
    std::fs::create_dir_all(&scratch).with_context(|| format!("creating {}", scratch.display()))?;
    let before = crash_files(&artifacts);
    // -a: debug assertions and overflow checks, which a release build would leave out.
    // libFuzzer writes new inputs to the first corpus directory and crashes to artifacts/;
    // -timeout makes a hanging input a crash too, so every run ends.
    let result = run(nightly_cargo(dir)
        .args(["fuzz", "run", "-a", target])
        .arg(&scratch)
        .arg(&seeds)
        .arg("--")
        .arg(format!("-max_total_time={seconds}"))
        .arg("-timeout=30"));
    let found: Vec<PathBuf> = crash_files(&artifacts)
        .into_iter()
        .filter(|path| !before.contains(path))
        .collect();
    match (result, found.as_slice()) {
        (Ok(()), []) => Ok(()),
        (_, [first, ..]) => bail!(
            "fuzz target {target} crashed on {input}; replay it in crates/idp/fuzz with \
             `cargo +nightly fuzz run {target} {input}`, fix it with a regression test and \
             add the input to corpus/{target}/",
            input = first.display()
        ),
        (Err(err), []) => Err(err),
    }
}

fn crash_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|entry| Some(entry.ok()?.path()))
                .collect()
        })
        .unwrap_or_default()
}
