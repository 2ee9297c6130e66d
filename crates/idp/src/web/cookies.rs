//! Every cookie the IdP sets, built in one place: HttpOnly (no script reads any of them),
//! SameSite=Lax (the session must come along when a relying party sends the browser to
//! /authorize), Path=/, and over https Secure with the `__Host-` prefix, so the browser keeps
//! it for this host alone and a sibling subdomain cannot plant one.

use actix_web::cookie::{Cookie, CookieBuilder, SameSite};

use crate::config::Settings;

/// A cookie named `base` (prefixed as the settings say) holding `value`.
pub fn build(settings: &Settings, base: &str, value: String) -> CookieBuilder<'static> {
    Cookie::build(settings.cookie_name(base), value)
        .path("/")
        .http_only(true)
        .secure(settings.secure_cookies())
        .same_site(SameSite::Lax)
}

/// A cookie that removes `base`, flagged as it was set.
pub fn removal(settings: &Settings, base: &str) -> Cookie<'static> {
    let mut cookie = build(settings, base, String::new()).finish();
    cookie.make_removal();
    cookie
}
