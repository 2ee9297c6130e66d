//! `cargo xtask demo`: the README's quick start on a fresh machine.
//!
//! Builds the IdP and the portal, starts the IdP on the embedded SQLite store
//! (./data/idp.sqlite, mails as .eml files in ./data/mail), registers the portal as a
//! first-party client when it is not registered yet (its credentials kept in
//! ./data/portal-client.json), creates the organisation EK88 with an invited superuser, starts
//! the portal and prints the portal's address and the registration link.

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, ExitStatus, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::system;
use crate::util::{cargo, describe, display, repo_root, run, step, tcp_open};

const STEPS: usize = 6;
const PORTAL_PORT: u16 = 8081;
/// Where the demo keeps the portal's client credentials between runs (the secret is shown once).
const PORTAL_CLIENT_FILE: &str = "data/portal-client.json";
/// The one setting the demo changes: the IdP may deliver back-channel logout to the portal on
/// loopback (refused by default, as any private address is).
const BACKCHANNEL_LOOPBACK_VAR: &str = "IDP_OIDC__BACKCHANNEL_ALLOW_PRIVATE_NETWORKS";
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
    let client = step(
        4,
        STEPS,
        "Register the portal at the IdP if missing",
        || portal_client(&root, &idp),
    )?;
    let link = step(5, STEPS, "Create EK88 and invite its superuser", || {
        invite_superuser(&root, &idp)
    })?;
    let portal = step(6, STEPS, "Start the portal", || {
        start_portal(&root, &portal, &issuer(port), &client)
    })?;

    print_banner(link.as_deref(), &issuer(port));

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
        .env(BACKCHANNEL_LOOPBACK_VAR, "true")
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

/// `idp admin <args>` on the demo's store.
fn admin_command(root: &Path, idp: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(idp);
    cmd.arg("admin")
        .args(args)
        .current_dir(root)
        .env_remove(DATABASE_URL_VAR)
        .env(BACKCHANNEL_LOOPBACK_VAR, "true")
        .stdin(Stdio::null());
    cmd
}

/// Runs `idp admin <args> --json` and parses what it prints.
fn admin_json(root: &Path, idp: &Path, args: &[&str]) -> Result<serde_json::Value> {
    let mut cmd = admin_command(root, idp, args);
    cmd.arg("--json");
    let shown = display(&cmd);
    println!("$ {shown}");
    let output = cmd
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("could not start `{shown}`"))?;
    if !output.status.success() {
        bail!("`{shown}` failed ({})", describe(output.status));
    }
    serde_json::from_slice(&output.stdout)
        .with_context(|| format!("`{shown}` printed no JSON document"))
}

/// The portal's client id and secret.
struct PortalClient {
    id: String,
    secret: String,
}

/// The credentials kept from an earlier run when that client is still registered; otherwise a
/// new first-party client, whose credentials are kept for the next run.
fn portal_client(root: &Path, idp: &Path) -> Result<PortalClient> {
    let file = root.join(PORTAL_CLIENT_FILE);
    let kept = std::fs::read(&file)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .and_then(|v| {
            Some((
                v["client_id"].as_str()?.to_owned(),
                v["client_secret"].as_str()?.to_owned(),
            ))
        });
    if let Some((id, secret)) = kept {
        let listed = admin_json(root, idp, &["client", "list"])?;
        let registered = listed
            .as_array()
            .is_some_and(|clients| clients.iter().any(|c| c["client_id"] == id.as_str()));
        if registered {
            println!("the portal is registered already as {id}");
            return Ok(PortalClient { id, secret });
        }
    }
    let base = format!("http://localhost:{PORTAL_PORT}");
    let callback = format!("{base}/callback");
    let home = format!("{base}/");
    let backchannel = format!("{base}/backchannel-logout");
    let created = admin_json(
        root,
        idp,
        &[
            "client",
            "create",
            "--name",
            "Werkgeverportaal",
            "--redirect-uri",
            &callback,
            "--post-logout-redirect-uri",
            &home,
            "--backchannel-logout-uri",
            &backchannel,
            "--grant-type",
            "authorization_code",
            "--grant-type",
            "refresh_token",
            "--first-party",
        ],
    )?;
    let id = created["client_id"]
        .as_str()
        .context("no client_id in the answer")?;
    let secret = created["client_secret"]
        .as_str()
        .context("no client_secret in the answer")?;
    let kept = serde_json::json!({ "client_id": id, "client_secret": secret });
    write_private(&file, kept.to_string().as_bytes())?;
    println!("registered the portal as {id}; its credentials are kept in {PORTAL_CLIENT_FILE}");
    Ok(PortalClient {
        id: id.to_owned(),
        secret: secret.to_owned(),
    })
}

/// Writes a file only its owner can read.
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("could not write {}", path.display()))?;
    file.write_all(bytes)?;
    Ok(())
}

/// The superuser's registration link; `None` when they have registered already (an earlier
/// demo), since a registered account is never invited again.
fn invite_superuser(root: &Path, idp: &Path) -> Result<Option<String>> {
    let admin = |args: &[&str]| admin_command(root, idp, args);
    run(&mut admin(&["org", "create", ORGANIZATION, "--if-missing"]))?;
    if has_registered(root, idp, SUPERUSER_EMAIL)? {
        println!("{SUPERUSER_EMAIL} has registered already (an earlier demo): no new invitation");
        return Ok(None);
    }

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
        .map(|link| Some(link.trim().to_string()))
        .with_context(|| format!("`{shown}` printed no line starting with {LINK_PREFIX:?}"))
}

/// Whether `email` has an account past its invitation (`idp admin user show --json`).
fn has_registered(root: &Path, idp: &Path, email: &str) -> Result<bool> {
    let output = admin_command(root, idp, &["user", "show", email, "--json"])
        .stderr(Stdio::null())
        .output()
        .context("could not start `idp admin user show`")?;
    if !output.status.success() {
        return Ok(false);
    }
    let person: serde_json::Value = serde_json::from_slice(&output.stdout)
        .context("`idp admin user show --json` printed no JSON document")?;
    Ok(person["status"].as_str().is_some_and(|s| s != "invited"))
}

fn start_portal(
    root: &Path,
    portal: &Path,
    issuer: &str,
    client: &PortalClient,
) -> Result<ChildGuard> {
    if tcp_open(local(PORTAL_PORT), Duration::from_millis(500)) {
        bail!("something already listens on 127.0.0.1:{PORTAL_PORT}; stop it (an earlier demo?)");
    }
    let mut cmd = Command::new(portal);
    cmd.arg("serve")
        .current_dir(root)
        .env("PORTAL_IDP__ISSUER", issuer)
        .env("PORTAL_IDP__CLIENT_ID", &client.id)
        .env("PORTAL_IDP__CLIENT_SECRET", &client.secret)
        .env(
            "PORTAL_PUBLIC_URL",
            format!("http://localhost:{PORTAL_PORT}"),
        )
        .env("PORTAL_SERVER__PORT", PORTAL_PORT.to_string())
        .stdin(Stdio::null());
    println!(
        "$ {} (with PORTAL_IDP__CLIENT_ID and _SECRET)",
        display(&cmd)
    );
    let mut child = ChildGuard {
        name: "portal",
        child: cmd
            .spawn()
            .with_context(|| format!("could not start {}", portal.display()))?,
    };
    let deadline = Instant::now() + READY_TIMEOUT;
    while http_get_status(PORTAL_PORT, "/health/live").ok() != Some(200) {
        if let Some(status) = child.child.try_wait()? {
            bail!(
                "the portal exited before it was ready ({})",
                describe(status)
            );
        }
        if Instant::now() >= deadline {
            bail!(
                "the portal was not ready within {}s",
                READY_TIMEOUT.as_secs()
            );
        }
        sleep(Duration::from_millis(250));
    }
    Ok(child)
}

fn print_banner(link: Option<&str>, issuer: &str) {
    let rule = "=".repeat(72);
    println!("\n{rule}");
    println!("  HCC Identity and the employer portal are running.\n");
    println!("  Employer portal: http://localhost:{PORTAL_PORT}\n");
    match link {
        Some(link) => {
            println!("  Register the EK88 superuser ({SUPERUSER_EMAIL}) with this one-time link:");
            println!("    {link}\n");
            println!("  The invitation mail was also written to ./data/mail (an .eml file).");
        }
        None => {
            println!("  The EK88 superuser ({SUPERUSER_EMAIL}) has registered in an earlier demo;");
            println!("  delete ./data to start over.");
        }
    }
    println!("  After registering, log in with the green button on the portal, then invite a");
    println!("  colleague from Gebruikers beheren (their mail lands in ./data/mail too).");
    println!("  Forgotten password: {issuer}/password/forgot (the mail lands in ./data/mail)");
    println!("  OpenID Connect discovery: {issuer}/.well-known/openid-configuration");
    println!("\n  Ctrl-C stops both servers.");
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
