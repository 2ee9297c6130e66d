//! Times as people in the Netherlands read them: Europe/Amsterdam (CET, and CEST from the last
//! Sunday of March to the last Sunday of October, both at 01:00 UTC, as EU law fixes it).

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};

/// The two languages the product speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Nl,
    En,
}

/// The Amsterdam offset from UTC at `utc`, in hours.
fn offset_hours(utc: DateTime<Utc>) -> i64 {
    let year = utc.year();
    let start = last_sunday_at_one(year, 3);
    let end = last_sunday_at_one(year, 10);
    if utc >= start && utc < end { 2 } else { 1 }
}

fn last_sunday_at_one(year: i32, month: u32) -> DateTime<Utc> {
    let next_month = NaiveDate::from_ymd_opt(year, month + 1, 1).unwrap_or(NaiveDate::MIN);
    let mut day = next_month - Duration::days(1);
    while day.weekday() != Weekday::Sun {
        day -= Duration::days(1);
    }
    Utc.from_utc_datetime(&day.and_hms_opt(1, 0, 0).unwrap_or_default())
}

const MONTHS_NL: [&str; 12] = [
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
];
const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// `4 december 2026, 14:30` (nl) or `4 December 2026, 14:30` (en), Amsterdam time.
pub fn format(utc: DateTime<Utc>, language: Language) -> String {
    let local = utc.naive_utc() + Duration::hours(offset_hours(utc));
    let months = match language {
        Language::Nl => &MONTHS_NL,
        Language::En => &MONTHS_EN,
    };
    let month = months[local.month0() as usize];
    format!(
        "{} {month} {}, {}",
        local.day(),
        local.year(),
        local.format("%H:%M")
    )
}

/// [`format`] of a point in time given as seconds since the Unix epoch.
pub fn format_unix(unix: i64, language: Language) -> String {
    format(
        DateTime::from_timestamp(unix, 0).unwrap_or_default(),
        language,
    )
}

/// An RFC 3339 time from the IdP, shown as [`format`] does; the text as given when it is not one.
pub fn format_rfc3339(value: &str, language: Language) -> String {
    DateTime::parse_from_rfc3339(value)
        .map(|t| format(t.with_timezone(&Utc), language))
        .unwrap_or_else(|_| value.to_owned())
}

/// The short month name of a month (1–12), for chart labels.
pub fn month_abbreviation(month: u32, language: Language) -> String {
    let months = match language {
        Language::Nl => &MONTHS_NL,
        Language::En => &MONTHS_EN,
    };
    months[(month.clamp(1, 12) - 1) as usize]
        .chars()
        .take(3)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn winter_and_summer_time() {
        assert_eq!(
            format(at("2026-12-04T13:30:00Z"), Language::Nl),
            "4 december 2026, 14:30"
        );
        assert_eq!(
            format(at("2026-07-01T08:05:00Z"), Language::En),
            "1 July 2026, 10:05"
        );
    }

    #[test]
    fn the_switch_happens_at_one_utc() {
        // 2026: summer time from 29 March, back on 25 October.
        assert_eq!(
            format(at("2026-03-29T00:59:00Z"), Language::Nl),
            "29 maart 2026, 01:59"
        );
        assert_eq!(
            format(at("2026-03-29T01:00:00Z"), Language::Nl),
            "29 maart 2026, 03:00"
        );
        assert_eq!(
            format(at("2026-10-25T00:59:00Z"), Language::Nl),
            "25 oktober 2026, 02:59"
        );
        assert_eq!(
            format(at("2026-10-25T01:00:00Z"), Language::Nl),
            "25 oktober 2026, 02:00"
        );
    }

    #[test]
    fn unix_seconds_as_the_same_text() {
        let t = at("2026-12-04T13:30:00Z").timestamp();
        assert_eq!(format_unix(t, Language::En), "4 December 2026, 14:30");
    }

    #[test]
    fn not_a_time_is_shown_as_given() {
        assert_eq!(format_rfc3339("gisteren", Language::Nl), "gisteren");
    }
}
