//! Storage through Diesel: one model over PostgreSQL (production) and embedded SQLite (the
//! zero-setup default). Repository functions take a `&mut DbConnection` so callers can group
//! them in one transaction; `Db::run` moves the blocking work off the async executor.

pub mod audit;
pub mod authorization;
pub mod clients;
pub mod connection;
pub mod consents;
pub mod gauges;
pub mod housekeeping;
pub mod invitations;
pub mod logout_notices;
pub mod models;
pub mod organisations;
pub mod otp;
pub mod outbox;
pub mod password_resets;
pub mod passwords;
#[macro_use]
pub mod queue;
pub mod recovery_codes;
pub mod schema;
pub mod security_keys;
pub mod sessions;
pub mod signing_keys;
pub mod throttle;
pub mod types;
pub mod users;

pub use connection::{Backend, Db, DbConnection, DbError, write_transaction};
