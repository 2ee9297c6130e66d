//! Organisations (employers such as EK88).

use diesel::prelude::*;

use super::models::{Organisation, new_id};
use super::schema::organisations::dsl as o;
use super::{DbConnection, DbError};
use crate::clock::UnixTime;
use crate::domain::OrganisationName;

pub fn insert(
    conn: &mut DbConnection,
    name: &OrganisationName,
    now: UnixTime,
) -> Result<Organisation, DbError> {
    let row = Organisation {
        id: new_id(),
        name: name.as_str().to_owned(),
        name_key: name.key(),
        created_at: now,
    };
    diesel::insert_into(o::organisations)
        .values(&row)
        .execute(conn)?;
    Ok(row)
}

pub fn find_by_name(
    conn: &mut DbConnection,
    name: &OrganisationName,
) -> Result<Option<Organisation>, DbError> {
    Ok(o::organisations
        .filter(o::name_key.eq(name.key()))
        .select(Organisation::as_select())
        .first(conn)
        .optional()?)
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<Organisation>, DbError> {
    Ok(o::organisations
        .find(id)
        .select(Organisation::as_select())
        .first(conn)
        .optional()?)
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<Organisation>, DbError> {
    Ok(o::organisations
        .order(o::name_key.asc())
        .select(Organisation::as_select())
        .load(conn)?)
}

pub fn rename(conn: &mut DbConnection, id: &str, name: &OrganisationName) -> Result<bool, DbError> {
    Ok(diesel::update(o::organisations.find(id))
        .set((o::name.eq(name.as_str()), o::name_key.eq(name.key())))
        .execute(conn)?
        == 1)
}

/// Holds the organisation's row until the transaction ends, so that changes to its people that
/// depend on each other (the last superuser) happen one after the other, on both backends.
pub fn lock(conn: &mut DbConnection, id: &str) -> Result<bool, DbError> {
    Ok(diesel::update(o::organisations.find(id))
        .set(o::name.eq(o::name))
        .execute(conn)?
        == 1)
}

/// The organisation `id` if within `reach` (`None`: every organisation; else only that one):
/// both are conditions of the one query.
pub fn find_within(
    conn: &mut DbConnection,
    reach: Option<&str>,
    id: &str,
) -> Result<Option<Organisation>, DbError> {
    let mut query = o::organisations
        .find(id.to_owned())
        .select(Organisation::as_select())
        .into_boxed();
    if let Some(own) = reach {
        query = query.filter(o::id.eq(own.to_owned()));
    }
    Ok(query.first(conn).optional()?)
}
