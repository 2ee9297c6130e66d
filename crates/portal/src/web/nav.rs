//! The header of the signed-in pages: who is signed in, **Dashboard**, **Gebruikers beheren**
//! (superusers and staff only), **Mijn account** (the IdP's `/account`, `Page::account_url`) and
//! **Uitloggen**; and how roles and statuses read.

use tera::Context;

use super::page::Page;
use super::signed_in::may_manage;
use crate::oidc::login::Person;

#[derive(serde::Serialize)]
struct Nav {
    name: String,
    manage: bool,
    current: &'static str,
}

pub fn insert(ctx: &mut Context, person: &Person, current: &'static str) {
    ctx.insert(
        "nav",
        &Nav {
            name: super::dashboard::display_name(person),
            manage: may_manage(person),
            current,
        },
    );
}

/// A role as people read it (`member`, `superuser`, `hcc-staff` as the IdP spells them).
pub fn role_name(page: &Page, role: Option<&str>) -> String {
    match role {
        Some("superuser") => page.text("role_superuser"),
        Some("hcc-staff") => page.text("role_hcc_staff"),
        _ => page.text("role_member"),
    }
}

/// A person's status as people read it.
pub fn status_name(page: &Page, status: &str, blocked_by_staff: bool) -> String {
    match status {
        "invited" => page.text("status_invited"),
        "pending_otp" => page.text("status_pending_otp"),
        "disabled" if blocked_by_staff => page.text("status_disabled_by_staff"),
        "disabled" => page.text("status_disabled"),
        _ => page.text("status_active"),
    }
}

/// An invitation's status as people read it.
pub fn invitation_status_name(page: &Page, status: &str) -> String {
    match status {
        "used" => page.text("invitation_used"),
        "expired" => page.text("invitation_expired"),
        "revoked" => page.text("invitation_revoked"),
        _ => page.text("invitation_pending"),
    }
}

/// An id from the path as the IdP hands them out; anything else names nothing.
pub fn plausible_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
