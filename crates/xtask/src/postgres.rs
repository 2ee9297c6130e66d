//! PostgreSQL for the tests: an existing server, or a throwaway cluster in a temp dir.

use std::fs;
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::util::{
    apt_install, find_executable, is_executable, is_root, run, run_quiet, succeeds, unix_seconds,
};

/// The server the tests run against. Dropping it stops and deletes a throwaway cluster.
pub enum Server {
    /// A server we did not start (from the environment, or one listening on 5432).
    Existing(String),
    Throwaway(Throwaway),
}

impl Server {
    /// An admin URL: the tests create (and drop) their own databases on this server.
    pub fn url(&self) -> String {
        match self {
            Server::Existing(url) => url.clone(),
            Server::Throwaway(cluster) => cluster.url(),
        }
    }
}

/// Picks the server: `IDP_TEST_PG_URL` or `DATABASE_URL`, else one on 127.0.0.1:5432,
/// else a throwaway cluster.
pub fn provide() -> Result<Server> {
    for var in ["IDP_TEST_PG_URL", "DATABASE_URL"] {
        if let Ok(url) = std::env::var(var) {
            println!("using PostgreSQL from {var}: {}", redact(&url));
            check_connection(&url).with_context(|| {
                format!(
                    "cannot connect to PostgreSQL at {} (from {var})",
                    redact(&url)
                )
            })?;
            return Ok(Server::Existing(url));
        }
    }

    let local = SocketAddr::from((Ipv4Addr::LOCALHOST, 5432));
    if crate::util::tcp_open(local, Duration::from_secs(1)) {
        let url = "postgres://postgres@127.0.0.1:5432/postgres".to_string();
        match check_connection(&url) {
            Ok(()) => {
                println!("using the PostgreSQL server on 127.0.0.1:5432: {url}");
                return Ok(Server::Existing(url));
            }
            Err(err) => println!(
                "a server listens on 127.0.0.1:5432 but {url} does not work ({err:#}); \
                 starting a throwaway cluster instead (set DATABASE_URL to use that server)"
            ),
        }
    } else {
        println!("no DATABASE_URL and nothing on 127.0.0.1:5432: starting a throwaway cluster");
    }
    let cluster = Throwaway::start()?;
    check_connection(&cluster.url())
        .context("the throwaway cluster does not accept connections")?;
    Ok(Server::Throwaway(cluster))
}

/// `select 1` through psql, if psql is installed (otherwise assume the URL works).
fn check_connection(url: &str) -> Result<()> {
    let Some(psql) = find_psql() else {
        println!("(psql not found: cannot check the connection up front)");
        return Ok(());
    };
    let out = query(&psql, url, "select 1")?;
    if out.trim() != "1" {
        bail!("`select 1` returned {out:?}");
    }
    Ok(())
}

/// Best effort: drops the databases whose name starts with `prefix` (left behind by
/// tests that failed before dropping their own). Never fails; needs psql.
pub fn drop_leftover_databases(url: &str, prefix: &str) {
    let Some(psql) = find_psql() else {
        println!("psql not found: not checking for leftover test databases");
        return;
    };
    let listing = format!("select datname from pg_database where datname like '{prefix}%'");
    let names = match query(&psql, url, &listing) {
        Ok(out) => out,
        Err(err) => {
            println!("note: could not list leftover test databases: {err:#}");
            return;
        }
    };
    for name in names
        .lines()
        .map(str::trim)
        .filter(|n| n.starts_with(prefix))
    {
        let drop = format!(
            "DROP DATABASE \"{}\" WITH (FORCE)",
            name.replace('"', "\"\"")
        );
        match query(&psql, url, &drop) {
            Ok(_) => println!("dropped leftover test database {name}"),
            Err(err) => println!("note: could not drop leftover database {name}: {err:#}"),
        }
    }
}

/// Runs one statement with psql and returns its unaligned, tuples-only output.
fn query(psql: &Path, url: &str, sql: &str) -> Result<String> {
    let output = Command::new(psql)
        .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
        .arg(format!("--dbname={url}"))
        .args(["-c", sql])
        .env("PGCONNECT_TIMEOUT", "5")
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("could not run {}", psql.display()))?;
    if !output.status.success() {
        bail!(
            "psql -c {sql:?} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Hides the password of a `postgres://user:password@host/db` URL.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let Some((userinfo, host)) = rest.rsplit_once('@') else {
        return url.to_string();
    };
    match userinfo.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

pub fn find_psql() -> Option<PathBuf> {
    find_executable("psql")
        .or_else(|| find_in_versioned_dirs(&["psql"]).map(|dir| dir.join("psql")))
}

/// The server tools: `initdb` and `pg_ctl` from PATH, else from the highest
/// `/usr/lib/postgresql/<version>/bin`.
struct ServerTools {
    initdb: PathBuf,
    pg_ctl: PathBuf,
}

fn find_server_tools() -> Option<ServerTools> {
    if let (Some(initdb), Some(pg_ctl)) = (find_executable("initdb"), find_executable("pg_ctl")) {
        return Some(ServerTools { initdb, pg_ctl });
    }
    let dir = find_in_versioned_dirs(&["initdb", "pg_ctl"])?;
    Some(ServerTools {
        initdb: dir.join("initdb"),
        pg_ctl: dir.join("pg_ctl"),
    })
}

/// The `/usr/lib/postgresql/<version>/bin` with the highest version holding all `programs`.
fn find_in_versioned_dirs(programs: &[&str]) -> Option<PathBuf> {
    let mut dirs: Vec<(Vec<u32>, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let version = entry
                .file_name()
                .to_str()?
                .split('.')
                .map(|part| part.parse::<u32>().ok())
                .collect::<Option<Vec<u32>>>()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, bin)| programs.iter().all(|p| is_executable(&bin.join(p))))
        .collect();
    dirs.sort();
    dirs.pop().map(|(_, bin)| bin)
}

/// A PostgreSQL cluster in a fresh temp dir, trust auth, listening on 127.0.0.1 on a free
/// port. Dropping it stops the server and deletes the directory.
///
/// `pg_ctl` puts the server in a session of its own, so a Ctrl-C that kills us (Drop does
/// not run then) would leave it running. A watchdog process cleans up in that case.
pub struct Throwaway {
    dir: PathBuf,
    pg_ctl: PathBuf,
    /// PostgreSQL refuses to run as root: then everything runs as the `postgres` user.
    as_postgres: bool,
    port: u16,
    watchdog: Option<Child>,
}

impl Throwaway {
    pub fn start() -> Result<Throwaway> {
        let tools = match find_server_tools() {
            Some(tools) => tools,
            None => {
                println!(
                    "initdb/pg_ctl not found (PATH, /usr/lib/postgresql/*/bin): installing postgresql"
                );
                apt_install(&["postgresql"], "the PostgreSQL server (initdb, pg_ctl)")?;
                find_server_tools().context(
                    "postgresql was installed but initdb/pg_ctl are still not found \
                     on PATH or in /usr/lib/postgresql/*/bin",
                )?
            }
        };
        let as_postgres = is_root();
        if as_postgres {
            ensure_postgres_user()?;
            if find_executable("runuser").is_none() {
                bail!("running as root but `runuser` (util-linux) is missing: install util-linux");
            }
        }

        let dir = std::env::temp_dir().join(format!(
            "xtask-pg-{}-{}",
            unix_seconds(),
            std::process::id()
        ));
        fs::create_dir(&dir).with_context(|| format!("could not create {}", dir.display()))?;
        // From here on, Drop cleans up whatever exists.
        let mut cluster = Throwaway {
            dir,
            pg_ctl: tools.pg_ctl,
            as_postgres,
            port: 0,
            watchdog: None,
        };
        println!("throwaway cluster in {}", cluster.dir.display());
        cluster.watchdog = Some(cluster.spawn_watchdog()?);
        if as_postgres {
            cluster.hand_over_to_postgres_user()?;
        }
        cluster.initdb(&tools.initdb)?;
        cluster.start_server()?;
        println!("throwaway PostgreSQL is up: {}", cluster.url());
        Ok(cluster)
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn log_file(&self) -> PathBuf {
        self.dir.join("postgres.log")
    }

    /// A command for a PostgreSQL tool, run as the `postgres` user when we are root.
    fn command(&self, program: &Path) -> Command {
        let mut cmd = if self.as_postgres {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(program);
            cmd
        } else {
            Command::new(program)
        };
        // The caller's directory may not be readable for the postgres user.
        cmd.current_dir(&self.dir);
        cmd
    }

    /// Starts `xtask pg-watchdog` (see [`watchdog`]) with a pipe as its stdin. Only we hold
    /// the pipe's write end (std opens pipes close-on-exec), so when we exit, however we
    /// exit, the watchdog reads EOF. Its own process group keeps the terminal's Ctrl-C away.
    fn spawn_watchdog(&self) -> Result<Child> {
        let exe = std::env::current_exe().context("cannot locate the xtask binary")?;
        let mut cmd = Command::new(exe);
        cmd.arg("pg-watchdog")
            .arg(&self.dir)
            .arg(&self.pg_ctl)
            .arg(if self.as_postgres {
                "as-postgres"
            } else {
                "as-caller"
            })
            .stdin(Stdio::piped());
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            cmd.process_group(0);
        }
        cmd.spawn()
            .context("could not start the watchdog for the throwaway cluster")
    }

    fn hand_over_to_postgres_user(&self) -> Result<()> {
        run(Command::new("chown")
            .args(["-R", "postgres"])
            .arg(&self.dir))?;
        let writable = succeeds(
            Command::new("runuser")
                .args(["-u", "postgres", "--", "test", "-w"])
                .arg(&self.dir),
        );
        if !writable {
            bail!(
                "the postgres user cannot write to {} (is a parent directory private?); \
                 set TMPDIR to a directory it can reach, e.g. TMPDIR=/tmp",
                self.dir.display()
            );
        }
        Ok(())
    }

    fn initdb(&self, initdb: &Path) -> Result<()> {
        let mut cmd = self.command(initdb);
        cmd.arg("-D")
            .arg(self.data_dir())
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8"])
            // Independent of the caller's (possibly not generated) locale; no fsync: throwaway.
            .args(["--locale=C", "--no-sync"]);
        run_quiet(&mut cmd).context("initdb failed")?;
        Ok(())
    }

    /// `pg_ctl start` on a free port; retried on a new port if another process took it.
    fn start_server(&mut self) -> Result<()> {
        const ATTEMPTS: usize = 3;
        for attempt in 1..=ATTEMPTS {
            self.port = free_port()?;
            // A fresh log per attempt, so the error shows this attempt's output.
            let _ = fs::remove_file(self.log_file());
            let options = format!(
                "-p {} -k '{}' -c listen_addresses=127.0.0.1 -c fsync=off \
                 -c full_page_writes=off -c synchronous_commit=off -c max_connections=200",
                self.port,
                self.dir.display()
            );
            let mut cmd = self.command(&self.pg_ctl);
            cmd.arg("-D")
                .arg(self.data_dir())
                .arg("-l")
                .arg(self.log_file())
                .args(["-o", &options, "-w", "-t", "60", "start"])
                .stdin(Stdio::null());
            let result = run(&mut cmd);
            let Err(err) = result else {
                return Ok(());
            };
            let log = fs::read_to_string(self.log_file()).unwrap_or_default();
            if attempt < ATTEMPTS && log.contains("Address already in use") {
                println!(
                    "port {} was taken meanwhile; retrying on another port",
                    self.port
                );
                continue;
            }
            return Err(err).context(format!(
                "could not start the throwaway PostgreSQL; its log ({}):\n{log}",
                self.log_file().display()
            ));
        }
        bail!("could not find a free port for PostgreSQL")
    }
}

impl Drop for Throwaway {
    fn drop(&mut self) {
        if self.data_dir().join("postmaster.pid").exists() {
            println!(
                "stopping the throwaway PostgreSQL in {}",
                self.dir.display()
            );
            let mut cmd = self.command(&self.pg_ctl);
            cmd.arg("-D")
                .arg(self.data_dir())
                .args(["-m", "immediate", "-w", "stop"])
                .stdin(Stdio::null())
                .stdout(Stdio::null());
            match cmd.status() {
                Ok(status) if status.success() => {}
                Ok(status) => eprintln!("warning: pg_ctl stop failed ({status})"),
                Err(err) => eprintln!("warning: could not run pg_ctl stop: {err}"),
            }
        }
        if self.dir.exists() {
            match fs::remove_dir_all(&self.dir) {
                Ok(()) => println!("deleted {}", self.dir.display()),
                Err(err) => eprintln!("warning: could not delete {}: {err}", self.dir.display()),
            }
        }
        if let Some(mut watchdog) = self.watchdog.take() {
            // Closing its stdin wakes it; with the cluster gone it just exits.
            drop(watchdog.stdin.take());
            let _ = watchdog.wait();
        }
    }
}

/// Hidden `xtask pg-watchdog <dir> <pg_ctl> <as-postgres|as-caller>`: waits until the
/// xtask that started it exits (EOF on stdin), then stops and deletes the cluster in
/// `<dir>` if it is still there, i.e. if that xtask was killed before it could.
pub fn watchdog(args: &[String]) -> Result<()> {
    let [dir, pg_ctl, mode] = args else {
        bail!("usage: xtask pg-watchdog <dir> <pg_ctl> <as-postgres|as-caller>");
    };
    // Blocks until every write end is closed; any outcome means "our xtask is gone".
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    let dir = PathBuf::from(dir);
    if dir.exists() {
        println!("\nxtask exited without cleaning up: stopping its throwaway PostgreSQL");
        drop(Throwaway {
            dir,
            pg_ctl: PathBuf::from(pg_ctl),
            as_postgres: mode == "as-postgres",
            port: 0,
            watchdog: None,
        });
    }
    Ok(())
}

fn ensure_postgres_user() -> Result<()> {
    if succeeds(Command::new("id").arg("postgres")) {
        return Ok(());
    }
    println!("creating the system user `postgres` (PostgreSQL refuses to run as root)");
    run(Command::new("useradd").args(["--system", "postgres"]))
}

/// A port that was free a moment ago (bind to port 0, read it, release it).
fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .context("could not bind 127.0.0.1:0 to find a free port")?;
    Ok(listener.local_addr()?.port())
}

/// Hidden self-test: start a throwaway cluster, `select 1` through psql, stop it.
pub fn throwaway_check() -> Result<()> {
    let cluster = Throwaway::start()?;
    let psql = find_psql().context("psql not found: cannot query the throwaway cluster")?;
    let version = query(&psql, &cluster.url(), "select version()")?;
    println!("connected: {}", version.trim());
    let one = query(&psql, &cluster.url(), "select 1")?;
    if one.trim() != "1" {
        bail!("`select 1` returned {one:?}");
    }
    println!("select 1 -> {}", one.trim());
    let dir = cluster.dir.clone();
    drop(cluster);
    if dir.exists() {
        bail!("{} still exists after stopping the cluster", dir.display());
    }
    println!("throwaway cluster check passed");
    Ok(())
}
