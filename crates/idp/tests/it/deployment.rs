//! The deployment files agree with each other and with the code: each service of
//! docker-compose.yml runs an image or a Dockerfile target that exists; its environment,
//! interpolated as compose does, loads into the IdP's or the portal's settings with the values
//! it sets, and sets no name that no setting takes (figment ignores those silently); the health
//! checks run the binaries' own `health` command, as the Dockerfile's HEALTHCHECK does; and
//! `idp health` tells a ready server from one that is not.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hcc_ops::env::EnvVars;
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::helpers::*;

// ---- the files ------------------------------------------------------------------------------

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(name: &str) -> String {
    let path = repository().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The parts of a compose file these checks read; anything else in it is left alone.
#[derive(Debug, Deserialize)]
struct Compose {
    services: BTreeMap<String, Service>,
    #[serde(default)]
    volumes: BTreeMap<String, Option<serde_norway::Value>>,
}

#[derive(Debug, Deserialize)]
struct Service {
    image: Option<String>,
    build: Option<Build>,
    restart: Option<String>,
    #[serde(default)]
    environment: BTreeMap<String, serde_norway::Value>,
    healthcheck: Option<Healthcheck>,
    #[serde(default)]
    depends_on: BTreeMap<String, Dependency>,
    #[serde(default)]
    ports: Vec<String>,
    #[serde(default)]
    volumes: Vec<String>,
    stop_grace_period: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Build {
    context: String,
    dockerfile: String,
    target: String,
}

#[derive(Debug, Deserialize)]
struct Healthcheck {
    test: Vec<String>,
    interval: String,
    timeout: String,
    start_period: Option<String>,
    retries: u32,
}

#[derive(Debug, Deserialize)]
struct Dependency {
    condition: String,
}

fn compose() -> Compose {
    serde_norway::from_str(&read("docker-compose.yml")).expect("docker-compose.yml parses")
}

fn service<'a>(compose: &'a Compose, name: &str) -> &'a Service {
    compose
        .services
        .get(name)
        .unwrap_or_else(|| panic!("docker-compose.yml has no service {name:?}"))
}

/// One `FROM … AS <name>` stage of the Dockerfile: its base and its instructions (continued
/// lines joined, comments left out).
#[derive(Debug)]
struct Stage {
    name: String,
    base: String,
    instructions: Vec<String>,
}

impl Stage {
    /// The arguments of each of the stage's `keyword` instructions.
    fn all(&self, keyword: &str) -> Vec<&str> {
        self.instructions
            .iter()
            .filter_map(|line| {
                let (word, rest) = line.split_once(' ')?;
                word.eq_ignore_ascii_case(keyword).then_some(rest.trim())
            })
            .collect()
    }

    /// The arguments of the stage's one `keyword` instruction.
    fn instruction(&self, keyword: &str) -> &str {
        match self.all(keyword).as_slice() {
            [one] => one,
            other => panic!("stage {} has {} {keyword} lines", self.name, other.len()),
        }
    }
}

fn dockerfile_stages() -> Vec<Stage> {
    let text = read("Dockerfile");
    let mut stages: Vec<Stage> = Vec::new();
    for line in instructions(&text) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["FROM", base, as_, name] if as_.eq_ignore_ascii_case("as") => stages.push(Stage {
                name: (*name).to_owned(),
                base: (*base).to_owned(),
                instructions: Vec::new(),
            }),
            _ => stages
                .last_mut()
                .expect("an instruction before the first FROM")
                .instructions
                .push(line),
        }
    }
    stages
}

/// The Dockerfile's instructions, a line ending in `\` joined to the next.
fn instructions(text: &str) -> Vec<String> {
    let mut joined = Vec::new();
    let mut current = String::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || (line.is_empty() && current.is_empty()) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(start) => current.push_str(start),
            None => {
                current.push_str(line);
                joined.push(std::mem::take(&mut current));
            }
        }
    }
    joined
}

fn stage<'a>(stages: &'a [Stage], name: &str) -> &'a Stage {
    stages
        .iter()
        .find(|stage| stage.name == name)
        .unwrap_or_else(|| panic!("the Dockerfile has no stage `FROM … AS {name}`"))
}

/// A HEALTHCHECK instruction: its options (`interval` → `10s`) and its exec-form command.
fn healthcheck(stage: &Stage) -> (BTreeMap<String, String>, Vec<String>) {
    let (options, command) = stage
        .instruction("HEALTHCHECK")
        .split_once("CMD")
        .expect("HEALTHCHECK … CMD […]");
    let options = options
        .split_whitespace()
        .map(|option| {
            let (name, value) = option
                .trim_start_matches("--")
                .split_once('=')
                .expect("--name=value");
            (name.replace('-', "_"), value.to_owned())
        })
        .collect();
    let command = serde_json::from_str(command.trim()).expect("CMD in exec form, a JSON array");
    (options, command)
}

fn seconds(duration: &str) -> u64 {
    duration
        .strip_suffix('s')
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{duration:?} is not a number of seconds"))
}

// ---- compose's interpolation -----------------------------------------------------------------

/// What the checks set in the shell that runs `docker compose`.
fn host() -> BTreeMap<&'static str, String> {
    BTreeMap::from([
        ("IDP_ENCRYPTION_KEY", test_key()),
        ("PORTAL_CLIENT_ID", "portal-client".to_owned()),
        ("PORTAL_CLIENT_SECRET", "portal-secret".to_owned()),
    ])
}

fn test_key() -> String {
    base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [7u8; 32])
}

/// `text` as compose interpolates it from the shell's variables `host`: `$$`, `$NAME`,
/// `${NAME}`, `${NAME:-default}`, `${NAME-default}`, `${NAME:?message}`, `${NAME?message}`. An
/// unset variable without a default is an error here (compose would put in an empty string).
fn interpolate(text: &str, host: &BTreeMap<&str, String>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(braced) = after.strip_prefix('{') {
            let end = braced.find('}').ok_or("an unclosed ${")?;
            out.push_str(&substitute(&braced[..end], host)?);
            rest = &braced[end + 1..];
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            out.push_str(&substitute(&after[..end], host)?);
            rest = &after[end..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// One `NAME`, `NAME:-default`, `NAME-default`, `NAME:?message` or `NAME?message`.
fn substitute(expression: &str, host: &BTreeMap<&str, String>) -> Result<String, String> {
    let end = expression
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(expression.len());
    let (name, operator) = expression.split_at(end);
    let value = host.get(name).map(String::as_str);
    let set_and_not_empty = value.filter(|v| !v.is_empty());
    let given = |rule: &str| operator.strip_prefix(rule);
    if let Some(default) = given(":-") {
        Ok(set_and_not_empty.unwrap_or(default).to_owned())
    } else if let Some(default) = given("-") {
        Ok(value.unwrap_or(default).to_owned())
    } else if let Some(message) = given(":?") {
        set_and_not_empty
            .map(str::to_owned)
            .ok_or(format!("{name}: {message}"))
    } else if let Some(message) = given("?") {
        value.map(str::to_owned).ok_or(format!("{name}: {message}"))
    } else if operator.is_empty() {
        value.map(str::to_owned).ok_or(format!("{name} is not set"))
    } else {
        Err(format!(
            "${{{expression}}}: an interpolation these checks do not know"
        ))
    }
}

/// A service's environment as its container gets it.
fn environment(
    service: &Service,
    host: &BTreeMap<&str, String>,
) -> Result<Vec<(String, String)>, String> {
    service
        .environment
        .iter()
        .map(|(name, value)| {
            let text = match value {
                serde_norway::Value::String(text) => text.clone(),
                serde_norway::Value::Number(n) => n.to_string(),
                serde_norway::Value::Bool(b) => b.to_string(),
                other => return Err(format!("{name}: {other:?} is not a value")),
            };
            Ok((name.clone(), interpolate(&text, host)?))
        })
        .collect()
}

/// The port a service listens on inside its container, from `"host:container"`.
fn container_port(service: &Service) -> u16 {
    let [mapping] = service.ports.as_slice() else {
        panic!("one published port: {:?}", service.ports)
    };
    let container = mapping.rsplit(':').next().unwrap();
    container.trim_end_matches("/tcp").parse().unwrap()
}

// ---- the settings ---------------------------------------------------------------------------

/// The key paths in `layers` that `T` has no setting for: with figment, a misspelt variable
/// is ignored without a word, so each is found by deserialising through `serde_ignored`.
fn not_settings<T: DeserializeOwned>(layers: figment::Figment) -> Vec<String> {
    let merged: figment::value::Value = layers.extract().expect("the layers merge");
    let mut ignored = Vec::new();
    let _: T = serde_ignored::deserialize(&merged, |path| ignored.push(path.to_string()))
        .expect("the settings load");
    ignored
}

/// The IdP's variables that choose what is read rather than being settings themselves.
const IDP_NOT_SETTINGS: [&str; 2] = ["IDP_CONFIG_DIR", "IDP_LOG_FORMAT"];

/// The IdP service's environment in the image: its working directory /app holds a copy of the
/// repository's config/ (the Dockerfile's `COPY config/ /app/config/`).
fn idp_environment(compose: &Compose) -> EnvVars {
    let mut vars = environment(service(compose, "idp"), &host()).unwrap();
    let config = repository().join("config");
    vars.push(("IDP_CONFIG_DIR".into(), config.display().to_string()));
    EnvVars::from_pairs(idp::config::ENV_PREFIX, vars)
}

fn portal_environment(compose: &Compose) -> EnvVars {
    let vars = environment(service(compose, "portal"), &host()).unwrap();
    EnvVars::from_pairs(portal::config::ENV_PREFIX, vars)
}

// ---- the checks -----------------------------------------------------------------------------

/// `docker compose config` accepts the file where Docker's compose plugin is installed (with
/// the variables the file asks the shell for); on a machine without it there is nothing to ask,
/// and the checks below read the file themselves.
#[test]
fn docker_compose_accepts_the_file_where_it_is_installed() {
    let installed = std::process::Command::new("docker")
        .args(["compose", "version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed {
        eprintln!("docker compose is not installed here: the file is checked by the tests below");
        return;
    }
    let output = std::process::Command::new("docker")
        .args([
            "compose",
            "--file",
            "docker-compose.yml",
            "config",
            "--quiet",
        ])
        .current_dir(repository())
        .envs(host())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "docker compose config: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn each_service_runs_an_image_or_a_dockerfile_target_that_exists() {
    let compose = compose();
    let stages = dockerfile_stages();
    let names: Vec<&str> = compose.services.keys().map(String::as_str).collect();
    assert_eq!(names, ["idp", "mail", "portal", "postgres"]);
    let image = |name| service(&compose, name).image.as_deref().unwrap();
    assert!(
        image("postgres").starts_with("postgres:"),
        "{}",
        image("postgres")
    );
    assert!(
        image("mail").starts_with("axllent/mailpit"),
        "{}",
        image("mail")
    );
    for name in ["idp", "portal"] {
        let build = service(&compose, name).build.as_ref().unwrap();
        assert_eq!(
            (build.context.as_str(), build.dockerfile.as_str()),
            (".", "Dockerfile")
        );
        assert_eq!(build.target, name);
        let target = stage(&stages, &build.target);
        assert_eq!(
            target.base, "runtime",
            "{name} builds on the common runtime stage"
        );
        assert_eq!(
            target.instruction("USER"),
            "hcc",
            "{name} runs as the unprivileged user"
        );
        let binary = format!("/usr/local/bin/{name}");
        assert_eq!(target.instruction("ENTRYPOINT"), format!("[\"{binary}\"]"));
        let copies = target.all("COPY");
        assert!(
            copies
                .iter()
                .any(|copy| copy.ends_with(&format!(" {binary}"))),
            "{name} copies its binary to {binary}: {copies:?}"
        );
    }
    assert_eq!(stage(&stages, "runtime").base, "debian:bookworm-slim");
    assert!(stage(&stages, "builder").base.starts_with("rust:"));
}

#[test]
fn every_service_restarts_and_only_postgres_keeps_data_in_its_named_volume() {
    let compose = compose();
    for (name, service) in &compose.services {
        assert_eq!(service.restart.as_deref(), Some("unless-stopped"), "{name}");
        let expected: &[&str] = if name == "postgres" {
            &["pgdata:/var/lib/postgresql/data"]
        } else {
            &[]
        };
        assert_eq!(service.volumes, expected, "{name}");
    }
    assert_eq!(compose.volumes.keys().collect::<Vec<_>>(), ["pgdata"]);
}

#[test]
fn the_idp_service_environment_loads_into_the_idp_settings() {
    let compose = compose();
    let settings = idp::config::Settings::from_env(idp_environment(&compose)).unwrap();
    assert_eq!(settings.profile, "dev");
    assert_eq!(settings.issuer, "http://localhost:8080");
    assert_eq!(
        settings.database_url(),
        "postgres://postgres:postgres@postgres:5432/idp",
        "the database service, with POSTGRES_PASSWORD's default"
    );
    assert_eq!(settings.server.host, "0.0.0.0");
    assert_eq!(settings.server.port, 8080);
    assert_eq!(
        container_port(service(&compose, "idp")),
        settings.server.port
    );
    assert_eq!(
        settings.mail.transport,
        idp::config::MailTransportKind::Smtp
    );
    assert_eq!(settings.mail.smtp.host, "mail", "the mail service");
    assert_eq!(settings.mail.smtp.port, 1025);
    assert_eq!(settings.mail.smtp.tls, idp::config::SmtpTls::None);
    assert_eq!(
        settings.master_key().unwrap(),
        [7u8; 32],
        "IDP_ENCRYPTION_KEY"
    );
}

#[test]
fn the_idp_service_needs_the_encryption_key_from_the_shell() {
    let compose = compose();
    let mut host = host();
    host.remove("IDP_ENCRYPTION_KEY");
    let error = environment(service(&compose, "idp"), &host).unwrap_err();
    assert!(error.starts_with("IDP_ENCRYPTION_KEY: "), "{error}");
}

#[test]
fn the_portal_service_environment_loads_into_the_portal_settings() {
    let compose = compose();
    let settings = portal::config::Settings::from_env(portal_environment(&compose)).unwrap();
    assert_eq!(settings.profile, "dev");
    assert_eq!(settings.public_url, "http://localhost:8081");
    assert_eq!(settings.server.host, "0.0.0.0");
    assert_eq!(settings.server.port, 8081);
    assert_eq!(
        container_port(service(&compose, "portal")),
        settings.server.port
    );
    let idp = idp::config::Settings::from_env(idp_environment(&compose)).unwrap();
    assert_eq!(
        settings.idp.issuer, idp.issuer,
        "tokens name the IdP's issuer"
    );
    assert_eq!(
        settings.idp_backend(),
        "http://idp:8080",
        "the idp service's port"
    );
    assert_eq!(settings.idp.client_id, "portal-client");
    assert_eq!(settings.idp.client_secret.expose_secret(), "portal-secret");
}

#[test]
fn every_variable_of_the_compose_file_is_a_setting() {
    let compose = compose();
    let ignored = not_settings::<idp::config::Settings>(idp::config::Settings::layers(
        idp_environment(&compose),
    ));
    let allowed: Vec<String> = IDP_NOT_SETTINGS
        .iter()
        .filter_map(|name| idp_environment(&compose).key_path(name))
        .collect();
    let unknown: Vec<&String> = ignored.iter().filter(|p| !allowed.contains(p)).collect();
    assert!(unknown.is_empty(), "no IdP setting takes {unknown:?}");
    let ignored = not_settings::<portal::config::Settings>(portal::config::Settings::layers(
        portal_environment(&compose),
    ));
    assert!(ignored.is_empty(), "no portal setting takes {ignored:?}");
}

#[test]
fn a_misspelt_variable_is_found() {
    let env = EnvVars::from_pairs(
        idp::config::ENV_PREFIX,
        [
            ("IDP_MAIL__SMTP__HOTS", "mail"),
            ("IDP_SERVER__PORT", "8080"),
        ],
    );
    let ignored = not_settings::<idp::config::Settings>(idp::config::Settings::layers(env));
    assert_eq!(ignored, ["mail.smtp.hots"]);
}

#[test]
fn the_health_checks_are_the_binaries_own_as_in_the_dockerfile() {
    let compose = compose();
    let stages = dockerfile_stages();
    for name in ["idp", "portal"] {
        let check = service(&compose, name).healthcheck.as_ref().unwrap();
        let binary = format!("/usr/local/bin/{name}");
        assert_eq!(check.test, ["CMD", binary.as_str(), "health"], "{name}");
        let (options, command) = healthcheck(stage(&stages, name));
        assert_eq!(
            command,
            check.test[1..],
            "{name}: the Dockerfile's HEALTHCHECK"
        );
        let in_compose = BTreeMap::from([
            ("interval".to_owned(), check.interval.clone()),
            ("timeout".to_owned(), check.timeout.clone()),
            (
                "start_period".to_owned(),
                check.start_period.clone().unwrap(),
            ),
            ("retries".to_owned(), check.retries.to_string()),
        ]);
        assert_eq!(options, in_compose, "{name}: the same timing in both files");
        assert!(
            Duration::from_secs(seconds(&check.timeout)) > hcc_ops::health::TIMEOUT,
            "{name}: the probe gives up before it is killed"
        );
    }
    for name in ["postgres", "mail"] {
        let check = service(&compose, name).healthcheck.as_ref();
        assert!(
            check.is_some_and(|c| c.test[0].starts_with("CMD")),
            "{name}"
        );
    }
    let waits_for = |name: &str| -> Vec<(String, String)> {
        let service = service(&compose, name);
        let depends = service.depends_on.iter();
        depends
            .map(|(on, d)| (on.clone(), d.condition.clone()))
            .collect()
    };
    let healthy = |on: &str| (on.to_owned(), "service_healthy".to_owned());
    assert_eq!(waits_for("idp"), [healthy("mail"), healthy("postgres")]);
    assert_eq!(waits_for("portal"), [healthy("idp")]);
}

#[test]
fn the_idp_is_given_its_shutdown_grace_before_it_is_killed() {
    let compose = compose();
    let settings = idp::config::Settings::from_env(idp_environment(&compose)).unwrap();
    let grace = service(&compose, "idp")
        .stop_grace_period
        .as_deref()
        .unwrap();
    assert!(
        seconds(grace) > settings.server.shutdown_grace_seconds,
        "{grace}"
    );
}

/// `idp health` with the port set as a deployment sets it; its exit code and stderr.
async fn idp_health(port: u16) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_idp"))
        .arg("health")
        .current_dir(dir.path())
        .env("IDP_CONFIG_DIR", dir.path())
        .env("IDP_SERVER__HOST", "0.0.0.0")
        .env("IDP_SERVER__PORT", port.to_string())
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.code(), stderr)
}

/// A server on a random port that answers every request with `answer`.
fn answering(answer: &'static str) -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut head = [0u8; 1024];
            let _ = stream.read(&mut head);
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idp_health_exits_0_only_while_the_server_is_ready() {
    let app = spawn_app(Backend::Sqlite).await;
    let port = url::Url::parse(&app.address).unwrap().port().unwrap();
    let (code, stderr) = idp_health(port).await;
    assert_eq!(code, Some(0), "{stderr}");

    let unavailable = answering("HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n");
    let (code, stderr) = idp_health(unavailable).await;
    assert_eq!(code, Some(1));
    let expected = format!("GET http://127.0.0.1:{unavailable}/health/ready answered 503");
    assert!(stderr.contains(&expected), "{stderr}");

    let nothing = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (code, stderr) = idp_health(nothing).await;
    assert_eq!(code, Some(1), "nothing listens: {stderr}");
}
