//! The connection type over both backends, the pool, and the embedded migrations.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::r2d2::{Pool, PooledConnection, R2D2Connection};
use diesel::{Connection, PgConnection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");
pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    pub fn of_url(url: &str) -> Self {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
    #[error("no database connection available: {0}")]
    Pool(#[from] r2d2::Error),
    /// The database was found unreachable moments ago; refused without waiting again.
    #[error("the database is unreachable")]
    Unavailable,
    /// The connection died under the work (terminated by the server, or the server gone);
    /// whatever the work did not commit was rolled back with it.
    #[error("the database connection was lost during the work")]
    ConnectionLost,
    #[error("the database task was cancelled")]
    Cancelled,
}

impl DbError {
    /// The database could not be reached or the connection was lost: the request may succeed
    /// later (503), nothing about it was wrong.
    pub fn is_unavailable(&self) -> bool {
        use diesel::result::{DatabaseErrorKind, Error};
        match self {
            DbError::Pool(_) | DbError::Unavailable | DbError::ConnectionLost => true,
            DbError::Query(Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _))
            | DbError::Query(Error::BrokenTransactionManager) => true,
            DbError::Query(_) | DbError::Cancelled => false,
        }
    }

    pub fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            DbError::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _
            ))
        )
    }
}

/// The advisory lock key the nodes take turns on while migrating ("HCCI" in ASCII).
const MIGRATION_LOCK: i64 = 0x4843_4349;

/// How long a connection may stand idle in the pool before a checkout tests it with a round
/// trip. A connection that was returned in working order moments ago is handed out as it is
/// (HikariCP's alive-bypass window): under load that saves a `SELECT 1` per unit of work, and a
/// connection that died since then fails its first query and is discarded on return.
const VALIDATE_AFTER_IDLE: Duration = Duration::from_secs(1);

/// Opens the pool's connections for the backend the URL names, so a refused connection is
/// reported as such (the generic multi-backend manager only says the URL fits no backend), and
/// gives SQLite its per-connection settings: a busy timeout so concurrent writers wait instead
/// of failing, foreign keys switched on, and `synchronous = NORMAL` (safe under WAL).
#[derive(Debug)]
pub struct Manager {
    url: String,
    backend: Backend,
}

/// A pooled connection, when it was last returned to the pool, and whether it was found dead
/// (then the pool discards it).
pub struct Pooled {
    conn: DbConnection,
    returned: Instant,
    dead: bool,
}

impl std::ops::Deref for Pooled {
    type Target = DbConnection;
    fn deref(&self) -> &DbConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.conn
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = Pooled;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<Pooled, Self::Error> {
        use diesel::r2d2::Error;
        let conn = match self.backend {
            Backend::Postgres => DbConnection::Postgres(
                PgConnection::establish(&self.url).map_err(Error::ConnectionError)?,
            ),
            Backend::Sqlite => {
                let mut conn =
                    SqliteConnection::establish(&self.url).map_err(Error::ConnectionError)?;
                conn.batch_execute(
                    "PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
                )
                .map_err(Error::QueryError)?;
                DbConnection::Sqlite(conn)
            }
        };
        Ok(Pooled {
            conn,
            returned: Instant::now(),
            dead: false,
        })
    }

    fn is_valid(&self, pooled: &mut Pooled) -> Result<(), Self::Error> {
        if pooled.returned.elapsed() < VALIDATE_AFTER_IDLE {
            return Ok(());
        }
        pooled.conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, pooled: &mut Pooled) -> bool {
        pooled.returned = Instant::now();
        pooled.dead || std::thread::panicking() || pooled.conn.is_broken()
    }
}

pub type DbPool = Pool<Manager>;

/// A transaction that may write. On SQLite it takes the write lock at its first statement: a
/// transaction that read first and wrote later would fail at once ("database is locked") when
/// another connection had written in between, instead of waiting its turn. PostgreSQL needs no
/// such help.
pub fn write_transaction<T, E, F>(conn: &mut DbConnection, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    conn.transaction(|conn| {
        if let DbConnection::Sqlite(sqlite) = conn {
            // A write that changes nothing: SQLite's RESERVED lock, waiting per busy_timeout.
            sqlite.batch_execute("UPDATE organisations SET name = name WHERE 0")?;
        }
        work(conn)
    })
}

#[derive(Clone)]
pub struct Db {
    pool: DbPool,
    backend: Backend,
    outage: Arc<Outage>,
    /// Opens a connection outside the pool, to tell a dead connection from a dead database.
    probe: Arc<Manager>,
}

/// While a checkout finds the database unreachable, further requests are refused at once
/// (503) instead of each waiting the checkout timeout; one probe a second goes through to see
/// whether it is back. The cause is logged once when the outage starts, and its length once
/// when it ends.
#[derive(Debug, Default)]
struct Outage {
    state: Mutex<Option<OutageState>>,
}

#[derive(Debug)]
struct OutageState {
    since: Instant,
    next_probe: Instant,
}

const PROBE_INTERVAL: Duration = Duration::from_secs(1);

impl Outage {
    /// Whether a unit of work may try the database now.
    fn admits(&self) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match state.as_mut() {
            None => true,
            Some(outage) => {
                let now = Instant::now();
                if now < outage.next_probe {
                    return false;
                }
                outage.next_probe = now + PROBE_INTERVAL;
                true
            }
        }
    }

    fn unreachable(&self, cause: &dyn std::fmt::Display) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        match state.as_mut() {
            Some(outage) => outage.next_probe = now + PROBE_INTERVAL,
            None => {
                tracing::error!(error = %cause, "database unreachable; answering 503 until it is back");
                *state = Some(OutageState {
                    since: now,
                    next_probe: now + PROBE_INTERVAL,
                });
            }
        }
    }

    fn reachable(&self) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(outage) = state.take() {
            tracing::warn!(
                seconds = outage.since.elapsed().as_secs_f64(),
                "database reachable again"
            );
        }
    }

    fn is_open(&self) -> bool {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }
}

/// The circuit (`Outage`) logs the cause of an outage once; r2d2 would log every failed
/// connection attempt.
#[derive(Debug)]
struct QuietErrors;

impl r2d2::HandleError<diesel::r2d2::Error> for QuietErrors {
    fn handle_error(&self, error: diesel::r2d2::Error) {
        tracing::debug!(error = %error, "database connection attempt failed");
    }
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("backend", &self.backend)
            .finish()
    }
}

impl Db {
    /// Opens the pool. For SQLite, `url` is a file path (its folder is created). A request
    /// waits at most `checkout_timeout` for a connection.
    pub fn connect(url: &str, pool_size: u32, checkout_timeout: Duration) -> anyhow::Result<Self> {
        let backend = Backend::of_url(url);
        if backend == Backend::Sqlite
            && let Some(parent) = std::path::Path::new(url).parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent)?;
        }
        if backend == Backend::Postgres {
            // The pool reports a failed connection only vaguely; say what is wrong up front.
            PgConnection::establish(url)?;
        }
        if backend == Backend::Sqlite {
            // WAL is a property of the database file: switch it on once, before the pool opens
            // its connections side by side.
            let mut conn = SqliteConnection::establish(url)?;
            conn.batch_execute("PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL;")?;
        }
        // libpq waits for an unreachable host as long as the operating system does; a request
        // should not (the URL's own connect_timeout wins).
        let url = &match backend {
            Backend::Postgres if !url.contains("connect_timeout=") => format!(
                "{url}{}connect_timeout={}",
                if url.contains('?') { '&' } else { '?' },
                checkout_timeout.as_secs().max(2)
            ),
            _ => url.to_owned(),
        };
        let pool = Pool::builder()
            .max_size(pool_size.max(1))
            .min_idle(Some(1))
            .connection_timeout(checkout_timeout.max(Duration::from_millis(100)))
            .error_handler(Box::new(QuietErrors))
            .build(Manager {
                url: url.to_owned(),
                backend,
            })?;
        Ok(Self {
            pool,
            backend,
            outage: Arc::default(),
            probe: Arc::new(Manager {
                url: url.to_owned(),
                backend,
            }),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn get(&self) -> Result<PooledConnection<Manager>, DbError> {
        Ok(self.pool.get()?)
    }

    /// Runs blocking Diesel work on the blocking thread pool.
    pub async fn run<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        if !self.outage.admits() {
            return Err(E::from(DbError::Unavailable));
        }
        let (pool, outage, probe) = (self.pool.clone(), self.outage.clone(), self.probe.clone());
        tokio::task::spawn_blocking(move || {
            // Whether the database itself is away, rather than one connection or the pool's
            // capacity: a fresh connection outside the pool tells, and says why.
            let tell = || {
                if let Err(e) = r2d2::ManageConnection::connect(&*probe) {
                    outage.unreachable(&e);
                }
            };
            let mut conn = match pool.get() {
                Ok(conn) => conn,
                Err(e) => {
                    tell();
                    return Err(E::from(DbError::Pool(e)));
                }
            };
            outage.reachable();
            let result = work(&mut conn);
            // A failure may have been the connection's (killed by the server, or the server
            // gone): a dead connection is discarded, and the outage starts now rather than at
            // the next checkout's timeout.
            // The work's own error is then only the symptom: it is answered as an outage
            // (503, try again), not as a fault of the request.
            if result.is_err() && conn.conn.ping().is_err() {
                conn.dead = true;
                tell();
                return Err(E::from(DbError::ConnectionLost));
            }
            result
        })
        .await
        .map_err(|_| E::from(DbError::Cancelled))?
    }

    /// The pool's connections and how many of them are idle.
    pub fn pool_state(&self) -> r2d2::State {
        self.pool.state()
    }

    /// Whether the database was found unreachable and has not been reached since.
    pub fn is_unreachable(&self) -> bool {
        self.outage.is_open()
    }

    /// Runs `work` in one transaction on the blocking pool.
    pub async fn transaction<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + From<diesel::result::Error> + Send + 'static,
    {
        self.run(move |conn| write_transaction(conn, work)).await
    }

    /// Applies the embedded migrations of this backend. Returns how many ran. Nodes started
    /// together on one PostgreSQL database take turns (a session advisory lock): the first
    /// applies what is pending, the others then find nothing left to do.
    pub fn migrate(&self) -> anyhow::Result<usize> {
        let mut conn = self.get()?;
        let applied = match &mut **conn {
            DbConnection::Postgres(c) => {
                c.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))?;
                let applied = c
                    .run_pending_migrations(POSTGRES_MIGRATIONS)
                    .map(|m| m.len());
                c.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))?;
                applied.map_err(|e| anyhow::anyhow!("migration failed: {e}"))?
            }
            DbConnection::Sqlite(c) => c
                .run_pending_migrations(SQLITE_MIGRATIONS)
                .map_err(|e| anyhow::anyhow!("migration failed: {e}"))?
                .len(),
        };
        Ok(applied)
    }

    /// A cheap round trip for the readiness probe.
    pub async fn ping(&self) -> Result<(), DbError> {
        self.run(|conn| {
            conn.batch_execute("SELECT 1")?;
            Ok::<_, DbError>(())
        })
        .await
    }
}
