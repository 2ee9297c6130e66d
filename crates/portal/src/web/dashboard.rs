//! `GET /dashboard`: the organisation's name, who is signed in and in which role, the way to
//! **Gebruikers beheren** (superusers and staff) and **Mijn account**, and the manager's first
//! view: absenteeism at a glance, from demo figures and labelled so.

use actix_web::http::StatusCode;
use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};

use super::nav;
use super::page::PageError;
use super::signed_in::SignedIn;
use crate::domain::absenteeism;
use crate::domain::local_time::month_abbreviation;
use crate::state::PortalState;

#[derive(serde::Serialize)]
struct MonthRow {
    label: String,
    percentage: String,
}

pub async fn show(req: HttpRequest, state: Data<PortalState>) -> Result<HttpResponse, PageError> {
    let signed_in = SignedIn::of(&req, &state).await?;
    let page = &signed_in.page;
    let person = signed_in.person().await;
    let organisation = person
        .organisation
        .as_ref()
        .map_or_else(|| page.text("company"), |o| o.name.clone());
    let today = DateTime::<Utc>::from_timestamp(state.now(), 0).unwrap_or_default();
    let key = person
        .organisation
        .as_ref()
        .map_or(person.sub.as_str(), |o| o.id.as_str());
    let overview = absenteeism::overview(key, today);
    let decimal = |value: f64| {
        let text = format!("{value:.1}");
        match page.lang {
            crate::domain::Language::Nl => text.replace('.', ","),
            crate::domain::Language::En => text,
        }
    };
    let labels: Vec<String> = overview
        .months
        .iter()
        .map(|m| month_abbreviation(m.month, page.lang))
        .collect();
    let months: Vec<MonthRow> = overview
        .months
        .iter()
        .map(|m| MonthRow {
            label: format!("{} {}", month_abbreviation(m.month, page.lang), m.year),
            percentage: format!("{}%", decimal(m.percentage)),
        })
        .collect();
    let chart = absenteeism::chart_svg(&overview, &labels, &page.text("absence_chart_title"));

    let mut ctx = page.context(&organisation);
    nav::insert(&mut ctx, &person, "dashboard");
    ctx.insert("organisation", &organisation);
    ctx.insert(
        "signed_in_as",
        &page.fill(
            "dashboard_signed_in_as",
            &[("name", &display_name(&person))],
        ),
    );
    ctx.insert(
        "role_line",
        &page.fill(
            "dashboard_role",
            &[("role", &nav::role_name(page, person.role.as_deref()))],
        ),
    );
    ctx.insert("percentage", &format!("{}%", decimal(overview.percentage)));
    ctx.insert("open_reports", &overview.open_reports);
    ctx.insert(
        "average",
        &page.fill(
            "absence_average_value",
            &[("days", &decimal(overview.average_days))],
        ),
    );
    ctx.insert("chart", &chart);
    ctx.insert("months", &months);
    ctx.insert("flash", &signed_in.take_flash().await);
    page.render(StatusCode::OK, "pages/dashboard.html", &ctx)
}

/// The name the ID token gives, or the e-mail address when there is none.
pub fn display_name(person: &crate::oidc::login::Person) -> String {
    if person.name.trim().is_empty() {
        person.email.clone()
    } else {
        person.name.clone()
    }
}
