//! The dashboard's first view for a manager: the organisation's absenteeism at a glance, from
//! the portal's own demo figures (the portal is not connected to an absence register). Only
//! aggregates: an employer may not see the nature or cause of anyone's illness.

use chrono::{DateTime, Datelike, Utc};
use sha2::{Digest, Sha256};

/// Twelve months of figures for one organisation, the same every time it is asked for.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Overview {
    /// This month's absenteeism percentage (days absent / days scheduled).
    pub percentage: f64,
    /// Sick reports not closed yet.
    pub open_reports: u32,
    /// Average length of the reports closed in the last twelve months, in calendar days.
    pub average_days: f64,
    /// Oldest first; the last is this month.
    pub months: Vec<Month>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Month {
    pub year: i32,
    pub month: u32,
    pub percentage: f64,
}

/// The demo figures of `organisation_id` for the twelve months up to `today`.
pub fn overview(organisation_id: &str, today: DateTime<Utc>) -> Overview {
    let seed = Sha256::digest(organisation_id.as_bytes());
    let base = 3.0 + f64::from(seed[0] % 30) / 10.0; // 3.0 – 5.9 %
    let mut months = Vec::with_capacity(12);
    let (mut year, mut month) = (today.year(), today.month());
    for i in 0..12 {
        // Winter months run higher (the flu season), with a wobble of the organisation's own.
        let season = match month {
            12 | 1 | 2 => 1.2,
            3 | 11 => 0.6,
            6..=8 => -0.5,
            _ => 0.0,
        };
        let wobble = f64::from(seed[1 + i] % 13) / 10.0 - 0.6;
        let percentage = ((base + season + wobble) * 10.0).round() / 10.0;
        months.push(Month {
            year,
            month,
            percentage: percentage.max(0.5),
        });
        (year, month) = if month == 1 {
            (year - 1, 12)
        } else {
            (year, month - 1)
        };
    }
    months.reverse();
    let percentage = months.last().map_or(base, |m| m.percentage);
    Overview {
        percentage,
        open_reports: 2 + u32::from(seed[14] % 12),
        average_days: (60.0 + f64::from(seed[15] % 90)) / 10.0,
        months,
    }
}

/// A bar chart of the months as SVG (no script, no external parts); `labels` names each
/// month. Its text alternative is the table the page shows beside it.
pub fn chart_svg(overview: &Overview, labels: &[String], title: &str) -> String {
    const WIDTH: f64 = 600.0;
    const HEIGHT: f64 = 220.0;
    const LEFT: f64 = 40.0;
    const BOTTOM: f64 = 30.0;
    const TOP: f64 = 10.0;
    let max = overview
        .months
        .iter()
        .map(|m| m.percentage)
        .fold(1.0_f64, f64::max)
        .ceil()
        .max(1.0);
    let plot_height = HEIGHT - BOTTOM - TOP;
    let slot = (WIDTH - LEFT) / overview.months.len().max(1) as f64;
    let mut svg = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" \
         aria-labelledby=\"chart-title\" focusable=\"false\" xmlns=\"http://www.w3.org/2000/svg\">\
         <title id=\"chart-title\">{}</title>",
        escape(title)
    );
    for step in 0..=max as u32 {
        let y = TOP + plot_height - plot_height * f64::from(step) / max;
        svg.push_str(&format!(
            "<line x1=\"{LEFT}\" x2=\"{WIDTH}\" y1=\"{y:.1}\" y2=\"{y:.1}\" class=\"grid\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" class=\"axis\" text-anchor=\"end\">{step}%</text>",
            LEFT - 6.0,
            y + 4.0
        ));
    }
    for (i, (month, label)) in overview.months.iter().zip(labels).enumerate() {
        let height = plot_height * month.percentage / max;
        let x = LEFT + slot * i as f64 + slot * 0.15;
        let y = TOP + plot_height - height;
        svg.push_str(&format!(
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{height:.1}\" class=\"bar\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" class=\"axis\" text-anchor=\"middle\">{}</text>",
            slot * 0.7,
            x + slot * 0.35,
            HEIGHT - 10.0,
            escape(label)
        ));
    }
    svg.push_str("</svg>");
    svg
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn twelve_months_ending_now_the_same_every_time() {
        let a = overview("org-1", today());
        let b = overview("org-1", today());
        assert_eq!(a.months.len(), 12);
        assert_eq!((a.months[11].year, a.months[11].month), (2026, 12));
        assert_eq!((a.months[0].year, a.months[0].month), (2026, 1));
        assert_eq!(a.percentage, b.percentage);
        assert!(a.months.iter().all(|m| (0.5..12.0).contains(&m.percentage)));
    }

    #[test]
    fn the_chart_is_one_svg_with_a_bar_a_month() {
        let o = overview("org-1", today());
        let labels: Vec<String> = (1..=12).map(|m| format!("m{m}")).collect();
        let svg = chart_svg(&o, &labels, "Verzuim <12 maanden>");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(svg.matches("<rect").count(), 12);
        assert!(svg.contains("Verzuim &lt;12 maanden&gt;"));
    }
}
