//! The table the bench prints and docs/benchmarks.md: every figure, its limit, the ratio and
//! whether it meets its target, and a bar chart of the ratios drawn here as SVG.

use std::fmt::Write;

use crate::load::Stats;

pub struct Row {
    name: String,
    stats: Stats,
    /// The limit (per second) and the target ratio.
    limit: Option<(f64, f64)>,
}

impl Row {
    pub fn new(name: &str, stats: Stats) -> Self {
        Self {
            name: name.to_owned(),
            stats,
            limit: None,
        }
    }

    pub fn against(mut self, limit: f64, target: f64) -> Self {
        self.limit = Some((limit, target));
        self
    }

    fn ratio(&self) -> Option<f64> {
        self.limit
            .map(|(limit, _)| self.stats.per_second / limit.max(1e-9))
    }
}

pub struct Scale {
    name: String,
    small_ms: f64,
    large_ms: f64,
    errors: u64,
}

pub struct Report {
    cores: usize,
    seconds: u64,
    limits: Vec<(String, f64)>,
    rows: Vec<Row>,
    pub ready_ms: f64,
    pub rss_idle_kib: u64,
    pub rss_peak_kib: u64,
    pub rss_after_kib: u64,
    pub settle_seconds: u64,
    pub peak_logins: Stats,
    pub small_people: usize,
    pub large_people: usize,
    scale: Vec<Scale>,
}

fn mb(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "**missed**" }
}

impl Report {
    pub fn new(cores: usize, seconds: u64) -> Self {
        Self {
            cores,
            seconds,
            limits: Vec::new(),
            rows: Vec::new(),
            ready_ms: 0.0,
            rss_idle_kib: 0,
            rss_peak_kib: 0,
            rss_after_kib: 0,
            settle_seconds: 0,
            peak_logins: Stats::default(),
            small_people: 0,
            large_people: 0,
            scale: Vec::new(),
        }
    }

    pub fn limit(&mut self, name: &str, per_second: f64) {
        self.limits.push((name.to_owned(), per_second));
    }

    pub fn row(&mut self, row: Row) {
        self.rows.push(row);
    }

    pub fn scale(&mut self, name: &str, small_ms: f64, large_ms: f64, errors: u64) {
        self.scale.push(Scale {
            name: name.to_owned(),
            small_ms,
            large_ms,
            errors,
        });
    }

    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Loopback, release build, PostgreSQL, {} cores shared by the IdP, PostgreSQL and the load \
             generator (this bench, in Rust); 10 connections, {} s a scenario.\n",
            self.cores, self.seconds
        );
        let _ = writeln!(
            out,
            "| the limit, measured in the same run | per second |\n|---|---:|"
        );
        for (name, value) in &self.limits {
            let _ = writeln!(out, "| {name} | {value:.0} |");
        }
        let _ = writeln!(
            out,
            "\n| scenario | requests/s | p50 ms | p99 ms | errors | limit /s | ratio | target |\n|---|---:|---:|---:|---:|---:|---:|---|"
        );
        for row in &self.rows {
            let s = &row.stats;
            let (limit, ratio, target) = match (row.limit, row.ratio()) {
                (Some((limit, target)), Some(ratio)) => (
                    format!("{limit:.0}"),
                    format!("{ratio:.2}"),
                    format!("≥ {target} {}", verdict(ratio >= target)),
                ),
                _ => ("—".into(), "—".into(), "—".into()),
            };
            let _ = writeln!(
                out,
                "| {} | {:.0} | {:.1} | {:.1} | {} | {limit} | {ratio} | {target} |",
                row.name, s.per_second, s.p50_ms, s.p99_ms, s.errors
            );
        }
        let _ = writeln!(
            out,
            "\n| memory and start | value | target |\n|---|---:|---|"
        );
        let _ = writeln!(
            out,
            "| ready (spawn → discovery answered) | {:.0} ms | < 1000 ms {} |",
            self.ready_ms,
            verdict(self.ready_ms < 1000.0)
        );
        let _ = writeln!(
            out,
            "| RSS idle | {:.1} MB | < 30 MB {} |",
            mb(self.rss_idle_kib),
            verdict(mb(self.rss_idle_kib) < 30.0)
        );
        let _ = writeln!(
            out,
            "| RSS peak, 200 concurrent logins ({} done, {} errors, p50 {:.0} ms) | {:.1} MB | < 150 MB {} |",
            self.peak_logins.count,
            self.peak_logins.errors,
            self.peak_logins.p50_ms,
            mb(self.rss_peak_kib),
            verdict(mb(self.rss_peak_kib) < 150.0)
        );
        let _ = writeln!(
            out,
            "| RSS {} s after the load | {:.1} MB | < 50 MB {} |",
            self.settle_seconds,
            mb(self.rss_after_kib),
            verdict(mb(self.rss_after_kib) < 50.0)
        );
        let _ = writeln!(
            out,
            "\n| scale | {} people | {} people (and as many refresh tokens) | ratio | target |\n|---|---:|---:|---:|---|",
            self.small_people, self.large_people
        );
        for s in &self.scale {
            let ratio = s.large_ms / s.small_ms.max(1e-9);
            let _ = writeln!(
                out,
                "| {}{} | {:.1} ms | {:.1} ms | {ratio:.2} | ≤ 1.2 {} |",
                s.name,
                if s.errors > 0 {
                    format!(" ({} errors)", s.errors)
                } else {
                    String::new()
                },
                s.small_ms,
                s.large_ms,
                verdict(ratio <= 1.2)
            );
        }
        for row in self.rows.iter().filter(|r| r.stats.first_error.is_some()) {
            let _ = writeln!(
                out,
                "\nfirst error of {}: {}",
                row.name,
                row.stats.first_error.as_deref().unwrap_or("")
            );
        }
        out
    }

    /// docs/benchmarks.md: how to run it, the chart (`chart` names the SVG file beside it) and
    /// the table.
    pub fn document(&self, chart: &str) -> String {
        let table = self.markdown();
        format!(
            "# Benchmarks\n\nWritten by `cargo xtask bench` (crates/bench); every figure below is from one run on \
             this machine. The load generator shares the cores with the IdP and PostgreSQL, so ratios to the \
             limits measured in the same run are what compare across machines.\n\n\
             ![Ratio of each scenario to its limit]({chart})\n\n{table}"
        )
    }

    /// A horizontal bar a scenario, its ratio to its limit, with the target marked.
    pub fn chart(&self) -> String {
        let rows: Vec<(&Row, f64, f64)> = self
            .rows
            .iter()
            .filter_map(|r| Some((r, r.ratio()?, r.limit?.1)))
            .collect();
        let (left, width, bar_h, gap) = (330.0, 360.0, 18.0, 10.0);
        let height = 30.0 + rows.len() as f64 * (bar_h + gap);
        let mut svg = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"760\" height=\"{height:.0}\" viewBox=\"0 0 760 {height:.0}\" \
             role=\"img\" aria-label=\"Ratio of each scenario to its limit\" font-family=\"sans-serif\" font-size=\"12\">\n"
        );
        let _ = writeln!(
            svg,
            "<text x=\"{left}\" y=\"14\">ratio to the limit (1.0 = the limit; | = target)</text>"
        );
        for (i, (row, ratio, target)) in rows.iter().enumerate() {
            let y = 24.0 + i as f64 * (bar_h + gap);
            let w = (ratio.min(1.5) / 1.5) * width;
            let colour = if ratio >= target {
                "#00746c"
            } else {
                "#a4161a"
            };
            let tx = left + target / 1.5 * width;
            let _ = writeln!(
                svg,
                "<text x=\"{:.0}\" y=\"{:.0}\" text-anchor=\"end\">{}</text>\
                 <rect x=\"{left}\" y=\"{y:.0}\" width=\"{w:.0}\" height=\"{bar_h}\" fill=\"{colour}\"/>\
                 <line x1=\"{tx:.0}\" x2=\"{tx:.0}\" y1=\"{:.0}\" y2=\"{:.0}\" stroke=\"#000\"/>\
                 <text x=\"{:.0}\" y=\"{:.0}\">{ratio:.2}</text>",
                left - 8.0,
                y + 13.0,
                row.name,
                y - 2.0,
                y + bar_h + 2.0,
                left + w + 6.0,
                y + 13.0
            );
        }
        svg.push_str("</svg>\n");
        svg
    }
}
