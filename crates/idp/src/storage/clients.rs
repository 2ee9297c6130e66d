//! Registered OIDC clients (relying parties and service clients).

use diesel::prelude::*;

use super::models::ClientRow;
use super::schema::clients::dsl as c;
use super::{DbConnection, DbError};

pub fn insert(conn: &mut DbConnection, client: &ClientRow) -> Result<(), DbError> {
    diesel::insert_into(c::clients)
        .values(client)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, client_id: &str) -> Result<Option<ClientRow>, DbError> {
    Ok(c::clients
        .find(client_id)
        .select(ClientRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<ClientRow>, DbError> {
    Ok(c::clients
        .order(c::created_at.asc())
        .select(ClientRow::as_select())
        .load(conn)?)
}

/// Deletes the client with its codes and tokens (foreign keys cascade). True if it existed.
pub fn delete(conn: &mut DbConnection, client_id: &str) -> Result<bool, DbError> {
    Ok(diesel::delete(c::clients.find(client_id)).execute(conn)? == 1)
}

pub fn find_many(conn: &mut DbConnection, ids: &[String]) -> Result<Vec<ClientRow>, DbError> {
    Ok(c::clients
        .filter(c::client_id.eq_any(ids))
        .select(ClientRow::as_select())
        .load(conn)?)
}
