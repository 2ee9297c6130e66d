//! Time is injected: every rule that expires ("3 days", "15 minutes") reads this clock, so tests
//! move it instead of sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Unix time in seconds.
pub type UnixTime = i64;

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> UnixTime;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)
    }
}

/// The system clock shifted by an offset that tests can move forward.
#[derive(Debug, Default, Clone)]
pub struct ShiftedClock {
    offset: Arc<AtomicI64>,
}

impl ShiftedClock {
    pub fn advance(&self, seconds: i64) {
        self.offset.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> UnixTime {
        SystemClock.now() + self.offset.load(Ordering::SeqCst)
    }
}

pub type SharedClock = Arc<dyn Clock>;

/// `YYYY-MM-DD HH:MM:SS UTC` (civil-from-days, proleptic Gregorian).
pub fn format_utc(t: UnixTime) -> String {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// RFC 3339 in UTC, to the second: `2026-12-04T10:42:00Z` (the admin API's times).
pub fn rfc3339(t: UnixTime) -> String {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Parses a point in time for the command line: unix seconds, `YYYY-MM-DD` (midnight UTC),
/// `YYYY-MM-DDTHH:MM[:SS][Z]`, or an age such as `90m`, `24h`, `7d` (counted back from `now`).
pub fn parse_time(input: &str, now: UnixTime) -> Option<UnixTime> {
    let s = input.trim();
    if let Ok(secs) = s.parse::<i64>() {
        return Some(secs);
    }
    if let Some(unit) = s.chars().last().filter(|c| matches!(c, 'm' | 'h' | 'd'))
        && let Ok(n) = s[..s.len() - 1].parse::<i64>()
    {
        let factor = match unit {
            'm' => 60,
            'h' => 3600,
            _ => 86_400,
        };
        return Some(now - n * factor);
    }
    let (date, time) = s.split_once(['T', 't', ' ']).unwrap_or((s, ""));
    let mut parts = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, d) = (parts.next()??, parts.next()??, parts.next()??);
    if parts.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let (clock, offset) = split_offset(time)?;
    let mut fields = clock.split(':').filter(|_| !clock.is_empty());
    let mut field = |max: i64| -> Option<i64> {
        match fields.next() {
            None => Some(0),
            // Fractions of a second are dropped.
            Some(f) => f
                .split('.')
                .next()
                .and_then(|f| f.parse::<i64>().ok())
                .filter(|v| (0..=max).contains(v)),
        }
    };
    let (h, min, sec) = (field(23)?, field(59)?, field(60)?);
    if fields.next().is_some() {
        return None;
    }
    Some(days_from_civil(y, m, d) * 86_400 + h * 3600 + min * 60 + sec - offset)
}

/// `HH:MM[:SS]` and its offset from UTC in seconds (RFC 3339: `Z`, `+01:00`, `-05:30`; none is
/// UTC).
fn split_offset(time: &str) -> Option<(&str, i64)> {
    if let Some(clock) = time.strip_suffix(['Z', 'z']) {
        return Some((clock, 0));
    }
    let Some(at) = time.rfind(['+', '-']) else {
        return Some((time, 0));
    };
    let (clock, zone) = time.split_at(at);
    let sign = if zone.starts_with('-') { -1 } else { 1 };
    let (h, m) = zone[1..].split_once(':')?;
    let (h, m) = (h.parse::<i64>().ok()?, m.parse::<i64>().ok()?);
    if h > 23 || m > 59 {
        return None;
    }
    Some((clock, sign * (h * 3600 + m * 60)))
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_utc(1_795_000_000), "2026-11-18 11:06:40 UTC");
        assert_eq!(parse_time("2026-11-18T11:06:40Z", 0), Some(1_795_000_000));
        assert_eq!(parse_time("2026-11-18", 0), Some(1_794_960_000));
        assert_eq!(parse_time("24h", 100_000), Some(13_600));
        assert_eq!(parse_time("1795000000", 0), Some(1_795_000_000));
        assert_eq!(parse_time("yesterday", 0), None);
        // RFC 3339 offsets and fractions, as the admin API's `since`/`until` take them.
        assert_eq!(
            parse_time("2026-11-18T12:06:40+01:00", 0),
            Some(1_795_000_000)
        );
        assert_eq!(
            parse_time("2026-11-18T06:06:40-05:00", 0),
            Some(1_795_000_000)
        );
        assert_eq!(
            parse_time("2026-11-18T11:06:40.250Z", 0),
            Some(1_795_000_000)
        );
        assert_eq!(parse_time("2026-11-18T25:00:00Z", 0), None);
        assert_eq!(parse_time("2026-11-18Txx:00Z", 0), None);
        assert_eq!(parse_time("2026-11-18T10:00+1", 0), None);
    }
}
