//! User accounts.

use diesel::prelude::*;

use super::models::{Organisation, User};
use super::schema::users::dsl as u;
use super::{DbConnection, DbError};
use crate::clock::UnixTime;
use crate::domain::{Email, Role, UserStatus};

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

/// The person and their organisation, in one round trip.
pub fn find_with_organisation(
    conn: &mut DbConnection,
    id: &str,
) -> Result<Option<(User, Option<Organisation>)>, DbError> {
    use super::schema::organisations;
    Ok(u::users
        .find(id)
        .left_join(organisations::table)
        .select((User::as_select(), Option::<Organisation>::as_select()))
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

/// A place in a list ordered by creation: the list goes on after this row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct After {
    pub created_at: UnixTime,
    pub id: String,
}

/// The people of one organisation, oldest first, `limit` at most after `after`.
pub fn list_in_organisation(
    conn: &mut DbConnection,
    organisation_id: &str,
    without_staff: bool,
    after: Option<&After>,
    limit: i64,
) -> Result<Vec<User>, DbError> {
    let mut query = u::users
        .filter(u::organisation_id.eq(organisation_id.to_owned()))
        .order((u::created_at.asc(), u::id.asc()))
        .limit(limit)
        .select(User::as_select())
        .into_boxed();
    if without_staff {
        query = query.filter(u::role.ne(Role::HccStaff));
    }
    if let Some(after) = after {
        query = query.filter(
            u::created_at.gt(after.created_at).or(u::created_at
                .eq(after.created_at)
                .and(u::id.gt(after.id.clone()))),
        );
    }
    Ok(query.load(conn)?)
}

/// The person `id`, if they belong to `organisation_id`: the organisation is part of the
/// query, so another organisation's id finds nothing, exactly like an id that does not exist.
pub fn find_in_organisation(
    conn: &mut DbConnection,
    organisation_id: &str,
    id: &str,
) -> Result<Option<User>, DbError> {
    Ok(u::users
        .find(id)
        .filter(u::organisation_id.eq(organisation_id))
        .select(User::as_select())
        .first(conn)
        .optional()?)
}

/// Active superusers of the organisation other than `except`.
pub fn other_active_superusers(
    conn: &mut DbConnection,
    organisation_id: &str,
    except: &str,
) -> Result<i64, DbError> {
    Ok(u::users
        .filter(u::organisation_id.eq(organisation_id))
        .filter(u::role.eq(Role::Superuser))
        .filter(u::status.eq(UserStatus::Active))
        .filter(u::id.ne(except))
        .count()
        .get_result(conn)?)
}

pub fn set_role(
    conn: &mut DbConnection,
    id: &str,
    role: Role,
    now: UnixTime,
) -> Result<(), DbError> {
    diesel::update(u::users.find(id))
        .set((u::role.eq(role), u::updated_at.eq(now)))
        .execute(conn)?;
    Ok(())
}

/// Blocks the account; `by_staff` keeps superusers from unblocking it.
pub fn block(
    conn: &mut DbConnection,
    id: &str,
    by_staff: bool,
    now: UnixTime,
) -> Result<(), DbError> {
    diesel::update(u::users.find(id))
        .set((
            u::status.eq(UserStatus::Disabled),
            u::blocked_by_staff.eq(by_staff),
            u::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Unblocks the account into `status` (active, or where its set-up stood).
pub fn unblock(
    conn: &mut DbConnection,
    id: &str,
    status: UserStatus,
    now: UnixTime,
) -> Result<(), DbError> {
    diesel::update(u::users.find(id))
        .set((
            u::status.eq(status),
            u::blocked_by_staff.eq(false),
            u::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn record_login(conn: &mut DbConnection, id: &str, now: UnixTime) -> Result<(), DbError> {
    diesel::update(u::users.find(id))
        .set(u::last_login_at.eq(now))
        .execute(conn)?;
    Ok(())
}

/// The person with this address, if within `reach` (`None`: every organisation; a superuser's
/// own organisation otherwise, without HCC staff).
pub fn find_by_email_within(
    conn: &mut DbConnection,
    reach: Option<&str>,
    email: &Email,
) -> Result<Option<User>, DbError> {
    let mut query = u::users
        .filter(u::email.eq(email.as_str()))
        .select(User::as_select())
        .into_boxed();
    if let Some(own) = reach {
        query = query
            .filter(u::organisation_id.eq(own.to_owned()))
            .filter(u::role.ne(Role::HccStaff));
    }
    Ok(query.first(conn).optional()?)
}

/// The person `id` of `organisation_id`, if that organisation is within `reach` (see
/// [`find_by_email_within`]): both are conditions of the one query.
pub fn find_within(
    conn: &mut DbConnection,
    reach: Option<&str>,
    organisation_id: &str,
    id: &str,
) -> Result<Option<User>, DbError> {
    let mut query = u::users
        .find(id.to_owned())
        .filter(u::organisation_id.eq(organisation_id.to_owned()))
        .select(User::as_select())
        .into_boxed();
    if let Some(own) = reach {
        query = query
            .filter(u::organisation_id.eq(own.to_owned()))
            .filter(u::role.ne(Role::HccStaff));
    }
    Ok(query.first(conn).optional()?)
}

/// The addresses of these people, by id (for lists that name them).
pub fn emails_of(
    conn: &mut DbConnection,
    ids: &[String],
) -> Result<std::collections::HashMap<String, String>, DbError> {
    Ok(u::users
        .filter(u::id.eq_any(ids))
        .select((u::id, u::email))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect())
}
