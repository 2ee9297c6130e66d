//! Small helpers shared by the commands: step headers, running commands, finding programs.

use std::ffi::OsStr;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// The workspace root (this crate lives in `<root>/crates/xtask`).
pub fn repo_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .ancestors()
        .nth(2)
        .map_or_else(|| manifest_dir.to_path_buf(), Path::to_path_buf)
}

/// A `cargo` command (the cargo that runs us, if known) running in the repo root.
pub fn cargo() -> Command {
    let program = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(program);
    cmd.current_dir(repo_root());
    cmd
}

/// Runs one numbered step: prints a header before and the duration after.
/// An error is annotated with the step so the failing step is obvious.
pub fn step<T>(n: usize, total: usize, title: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    println!("\n==> [{n}/{total}] {title}");
    let started = Instant::now();
    let result = f().with_context(|| format!("step {n}/{total} failed: {title}"));
    if result.is_ok() {
        println!(
            "--> [{n}/{total}] ok ({})",
            format_duration(started.elapsed())
        );
    }
    result
}

pub fn skip_step(n: usize, total: usize, title: &str, reason: &str) {
    println!("\n==> [{n}/{total}] {title}: skipped ({reason})");
}

pub fn format_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        let whole = d.as_secs();
        format!("{}m {:02}s", whole / 60, whole % 60)
    }
}

/// The command line as a human would type it (for logs and error messages).
pub fn display(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(quote)
        .collect::<Vec<_>>()
        .join(" ")
}

fn quote(arg: &OsStr) -> String {
    let s = arg.to_string_lossy();
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c))
    {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

pub fn describe(status: ExitStatus) -> String {
    match status.code() {
        Some(code) => format!("exit code {code}"),
        None => format!("{status}"),
    }
}

/// Runs a command with inherited stdio, echoing it first; fails unless it succeeds.
pub fn run(cmd: &mut Command) -> Result<()> {
    let shown = display(cmd);
    println!("$ {shown}");
    let status = cmd
        .status()
        .with_context(|| format!("could not start `{shown}`"))?;
    if !status.success() {
        bail!("`{shown}` failed ({})", describe(status));
    }
    Ok(())
}

/// Runs a command with captured output, echoing only the command line;
/// on failure the error carries the command's output.
pub fn run_quiet(cmd: &mut Command) -> Result<Output> {
    let shown = display(cmd);
    println!("$ {shown}");
    let output = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("could not start `{shown}`"))?;
    if !output.status.success() {
        bail!(
            "`{shown}` failed ({})\n{}{}",
            describe(output.status),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(output)
}

/// True if the command starts and exits successfully (output discarded).
pub fn succeeds(cmd: &mut Command) -> bool {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Looks a program up on PATH.
pub fn find_executable(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX)))
        .find(|candidate| is_executable(candidate))
}

pub fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        path.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

/// Whether we run as root (`id -u` prints 0).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Installs Debian packages with apt-get (directly as root, else through sudo).
/// `why` says what the packages are for, for the error message.
pub fn apt_install(packages: &[&str], why: &str) -> Result<()> {
    let list = packages.join(" ");
    let manual = format!("install {list} (Debian/Ubuntu: `apt-get install {list}`) and retry");
    if find_executable("apt-get").is_none() {
        bail!("{why} is missing and apt-get is not available: {manual}");
    }
    let apt = |args: &[&str]| -> Result<Command> {
        let mut cmd = if is_root() {
            let mut cmd = Command::new("apt-get");
            cmd.env("DEBIAN_FRONTEND", "noninteractive");
            cmd
        } else if let Some(sudo) = find_executable("sudo") {
            let mut cmd = Command::new(sudo);
            cmd.args(["DEBIAN_FRONTEND=noninteractive", "apt-get"]);
            cmd
        } else {
            bail!("{why} is missing, we are not root and sudo is not available: {manual}");
        };
        cmd.args(args);
        Ok(cmd)
    };
    run(&mut apt(&["update"])?).with_context(|| format!("apt-get update failed; {manual}"))?;
    let mut install = apt(&["install", "-y", "--no-install-recommends"])?;
    install.args(packages);
    run(&mut install).with_context(|| format!("installing {list} failed; {manual}"))
}

/// True if something accepts TCP connections on `addr` within `timeout`.
pub fn tcp_open(addr: SocketAddr, timeout: Duration) -> bool {
    TcpStream::connect_timeout(&addr, timeout).is_ok()
}

/// Seconds since the Unix epoch (0 if the clock is before 1970).
pub fn unix_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
