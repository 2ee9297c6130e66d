//! `cargo xtask demo`: the README's quick start on a fresh machine.
//!
//! Builds the IdP, starts it on the embedded SQLite store (./data/idp.sqlite, mails as
//! .eml files in ./data/mail), creates the organisation EK88 with an invited superuser and
//! prints the registration link.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, ExitStatus, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::system;
use crate::util::{cargo, describe, display, repo_root, run, step, tcp_open};

const STEPS: usize = 4;
const READY_TIMEOUT: Duration = Duration::from_secs(60);
const ORGANIZATION: &str = "EK88";
const SUPERUSER_EMAIL: &str = "superuser@ek88.nl";
const LINK_PREFIX: &str = "Registration link: ";
/// The demo uses the IdP's default store (SQLite); a configured database URL is not passed on.
const DATABASE_URL_VAR: &str = "IDP_DATABASE__URL";

pub fn run_demo() -> Result<ExitCode> {
    let root = repo_root();
    let port = idp_port()?;

    step(1, STEPS, "Build the IdP and the portal", build)?;
    let bin_dir = target_dir(&root).join("debug");
    let idp = bin_dir.join(format!("idp{}", std::env::consts::EXE_SUFFIX));
    let portal = bin_dir.join(format!("portal{}", std::env::consts::EXE_SUFFIX));

    let mut server = step(2, STEPS, "Start the IdP", || start_idp(&root, &idp, port))?;
    step(3, STEPS, "Wait until the IdP is ready", || {
        wait_until_ready(&mut server, port)
    })?;
    let link = step(4, STEPS, "Create EK88 and invite its superuser", || {
        invite_superuser(&root, &idp)
    })?;
    let portal = start_portal_if_it_serves(&root, &portal, &issuer(port));

    print_banner(&link, &issuer(port), portal.is_some());

    // Ctrl-C reaches the server too (same process group); it shuts down and we pass on its status.
    let status = server
        .child
        .wait()
        .context("could not wait for the IdP server")?;
    drop(portal);
    println!("the IdP server stopped ({})", describe(status));
    Ok(exit_code(status))
}

fn idp_port() -> Result<u16> {
    match std::env::var("IDP_SERVER__PORT") {
        Ok(port) => port
            .trim()
            .parse()
            .with_context(|| format!("IDP_SERVER__PORT={port:?} is not a port number")),
        Err(_) => Ok(8080),
    }
}

fn issuer(port: u16) -> String {
    std::env::var("IDP_ISSUER").unwrap_or_else(|_| format!("http://localhost:{port}"))
}

fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

fn build() -> Result<()> {
    system::ensure_libpq()?;
    run(cargo().args(["build", "-p", "idp", "-p", "portal"]))
}

/// Kills the process when dropped while it still runs (error paths, the portal at the end).
struct ChildGuard {
    name: &'static str,
    child: Child,
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            println!("stopping the {}", self.name);
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn start_idp(root: &Path, idp: &Path, port: u16) -> Result<ChildGuard> {
    let data = root.join("data");
    std::fs::create_dir_all(data.join("mail"))
        .with_context(|| format!("could not create {}", data.join("mail").display()))?;
    if tcp_open(local(port), Duration::from_millis(500)) {
        bail!(
            "something already listens on 127.0.0.1:{port}; stop it (an earlier demo?) \
             or choose another port with IDP_SERVER__PORT"
        );
    }
    if std::env::var_os(DATABASE_URL_VAR).is_some() {
        println!("note: {DATABASE_URL_VAR} is ignored: the demo uses SQLite in ./data");
    }
    let mut cmd = Command::new(idp);
    cmd.arg("serve")
        .current_dir(root)
        .env_remove(DATABASE_URL_VAR)
        .stdin(Stdio::null());
    println!("$ {}", display(&cmd));
    let child = cmd
        .spawn()
        .with_context(|| format!("could not start {}", idp.display()))?;
    Ok(ChildGuard {
        name: "IdP server",
        child,
    })
}

fn local(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

fn wait_until_ready(server: &mut ChildGuard, port: u16) -> Result<()> {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if let Some(status) = server.child.try_wait()? {
            bail!(
                "the IdP server exited before it was ready ({})",
                describe(status)
            );
        }
        let last = match http_get_status(port, "/health/ready") {
            Ok(200) => {
                println!("GET http://127.0.0.1:{port}/health/ready -> 200");
                return Ok(());
            }
            Ok(code) => format!("HTTP {code}"),
            Err(err) => format!("{err:#}"),
        };
        if Instant::now() >= deadline {
            bail!(
                "the IdP was not ready within {}s (GET http://127.0.0.1:{port}/health/ready: {last})",
                READY_TIMEOUT.as_secs()
            );
        }
        sleep(Duration::from_millis(250));
    }
}

/// The status code of a plain HTTP/1.1 GET to 127.0.0.1.
fn http_get_status(port: u16, path: &str) -> Result<u16> {
    let mut stream = TcpStream::connect_timeout(&local(port), Duration::from_secs(1))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.set_write_timeout(Some(Duration::from_secs(2)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost:{port}\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    )?;
    let mut status_line = String::new();
    BufReader::new(stream).read_line(&mut status_line)?;
    // "HTTP/1.1 200 OK"
    status_line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("not an HTTP response: {status_line:?}"))
}

fn invite_superuser(root: &Path, idp: &Path) -> Result<String> {
    let admin = |args: &[&str]| {
        let mut cmd = Command::new(idp);
        cmd.arg("admin")
            .args(args)
            .current_dir(root)
            .env_remove(DATABASE_URL_VAR)
            .stdin(Stdio::null());
        cmd
    };
    run(&mut admin(&["org", "create", ORGANIZATION, "--if-missing"]))?;

    let mut invite = admin(&[
        "invite",
        "--organization",
        ORGANIZATION,
        "--email",
        SUPERUSER_EMAIL,
        "--first-name",
        "Marco",
        "--last-name",
        "van Basten",
        "--role",
        "superuser",
        "--print-link",
    ]);
    let shown = display(&invite);
    println!("$ {shown}");
    let output = invite
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("could not start `{shown}`"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    print!("{stdout}");
    if !output.status.success() {
        bail!("`{shown}` failed ({})", describe(output.status));
    }
    stdout
        .lines()
        .find_map(|line| line.trim().strip_prefix(LINK_PREFIX))
        .map(|link| link.trim().to_string())
        .with_context(|| format!("`{shown}` printed no line starting with {LINK_PREFIX:?}"))
}

/// The portal is started only once it has a `serve` subcommand (it may still be a stub).
fn start_portal_if_it_serves(root: &Path, portal: &Path, issuer: &str) -> Option<ChildGuard> {
    if !has_serve_subcommand(portal) {
        println!("portal: built, not started (it has no `serve` subcommand yet)");
        return None;
    }
    let mut cmd = Command::new(portal);
    cmd.arg("serve").current_dir(root).stdin(Stdio::null());
    if std::env::var_os("PORTAL_ISSUER").is_none() {
        cmd.env("PORTAL_ISSUER", issuer);
    }
    println!("$ {}", display(&cmd));
    match cmd.spawn() {
        Ok(child) => Some(ChildGuard {
            name: "portal",
            child,
        }),
        Err(err) => {
            println!("warning: could not start the portal: {err}");
            None
        }
    }
}

/// Whether `<bin> --help` lists a `serve` subcommand (killed if it takes over 5 s).
fn has_serve_subcommand(bin: &Path) -> bool {
    let Ok(mut child) = Command::new(bin)
        .arg("--help")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    else {
        return false;
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => sleep(Duration::from_millis(50)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
        }
    }
    let mut help = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        let _ = stdout.read_to_string(&mut help);
    }
    help.lines()
        .any(|line| line.trim_start().starts_with("serve"))
}

fn print_banner(link: &str, issuer: &str, portal_started: bool) {
    let rule = "=".repeat(72);
    println!("\n{rule}");
    println!("  HCC Identity is running.\n");
    println!("  Register the EK88 superuser ({SUPERUSER_EMAIL}) with this one-time link:");
    println!("    {link}\n");
    println!("  The invitation mail was also written to ./data/mail (an .eml file).");
    println!("  After registering, log in again at: {issuer}/login");
    println!("  Forgotten password: {issuer}/password/forgot (the mail lands in ./data/mail)");
    println!("  OpenID Connect discovery: {issuer}/.well-known/openid-configuration");
    if portal_started {
        println!("  Employer portal: http://localhost:8081");
    }
    println!("\n  Ctrl-C stops the server.");
    println!("{rule}\n");
}

fn exit_code(status: ExitStatus) -> ExitCode {
    if let Some(code) = status.code() {
        return ExitCode::from(u8::try_from(code & 0xff).unwrap_or(1));
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return ExitCode::from(u8::try_from(128 + (signal & 0x7f)).unwrap_or(1));
        }
    }
    ExitCode::FAILURE
}
