//! User accounts.

use diesel::prelude::*;

use super::models::User;
use super::schema::users::dsl as u;
use super::{DbConnection, DbError};
use crate::clock::UnixTime;
use crate::domain::{Email, UserStatus};

pub fn insert(conn: &mut DbConnection, user: &User) -> Result<(), DbError> {
    diesel::insert_into(u::users).values(user).execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<User>, DbError> {
    Ok(u::users
        .find(id)
        .select(User::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_by_email(conn: &mut DbConnection, email: &Email) -> Result<Option<User>, DbError> {
    Ok(u::users
        .filter(u::email.eq(email.as_str()))
        .select(User::as_select())
        .first(conn)
        .optional()?)
}

/// Activates the account after the authenticator set-up, unless it was disabled meanwhile.
pub fn activate(conn: &mut DbConnection, id: &str, now: UnixTime) -> Result<bool, DbError> {
    Ok(diesel::update(
        u::users
            .find(id)
            .filter(u::status.eq_any([UserStatus::PendingOtp, UserStatus::Active])),
    )
    .set((u::status.eq(UserStatus::Active), u::updated_at.eq(now)))
    .execute(conn)?
        == 1)
}

pub fn set_status(
    conn: &mut DbConnection,
    id: &str,
    status: UserStatus,
    now: UnixTime,
) -> Result<(), DbError> {
    diesel::update(u::users.find(id))
        .set((u::status.eq(status), u::updated_at.eq(now)))
        .execute(conn)?;
    Ok(())
}

/// Registration fills in the names the person typed and moves the account on.
pub fn complete_registration(
    conn: &mut DbConnection,
    id: &str,
    first_name: &str,
    last_name: &str,
    language: &str,
    now: UnixTime,
) -> Result<(), DbError> {
    // Only from `invited`: a disable that raced with the registration stays in force.
    diesel::update(u::users.find(id).filter(u::status.eq(UserStatus::Invited)))
        .set((
            u::first_name.eq(first_name),
            u::last_name.eq(last_name),
            u::language.eq(language),
            u::status.eq(UserStatus::PendingOtp),
            u::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// A new invitation may bring the names the inviter knows; keep them current while invited.
pub fn update_invited_names(
    conn: &mut DbConnection,
    id: &str,
    first_name: Option<&str>,
    last_name: Option<&str>,
    now: UnixTime,
) -> Result<(), DbError> {
    if first_name.is_some() || last_name.is_some() {
        diesel::update(u::users.find(id))
            .set((
                u::first_name.eq(first_name),
                u::last_name.eq(last_name),
                u::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}
