//! China time. Deadlines, daily ticket numbers and the clock on screen all follow China Standard
//! Time (UTC+8, no daylight saving since 1991), whatever the machine's own time zone.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

pub fn china_offset() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

pub fn to_china(t: DateTime<Utc>) -> DateTime<FixedOffset> {
    t.with_timezone(&china_offset())
}

/// The calendar day in China at instant `t`.
pub fn china_date(t: DateTime<Utc>) -> NaiveDate {
    to_china(t).date_naive()
}

/// Where "now" comes from, so that day boundaries (midnight China time) can be tested.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn china_day_starts_at_16_utc() {
        let before = "2026-01-01T15:59:59Z".parse::<DateTime<Utc>>().unwrap();
        let after = "2026-01-01T16:00:00Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(china_date(before), NaiveDate::from_ymd_opt(2026, 1, 1).unwrap());
        assert_eq!(china_date(after), NaiveDate::from_ymd_opt(2026, 1, 2).unwrap());
    }
}
