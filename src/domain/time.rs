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

/// The Unix second at which China day `day` begins (midnight, UTC+8).
pub fn china_day_start(day: NaiveDate) -> i64 {
    day.and_time(chrono::NaiveTime::MIN).and_local_timezone(china_offset()).single().map_or(0, |t| t.timestamp())
}

/// The first and last calendar year the program deals in: records, cases and the working-day
/// calendar outside them are refused as implausible (a wrong clock, a typo, an attack on a
/// date computation), never stored.
pub const FIRST_YEAR: i32 = 2000;
pub const LAST_YEAR: i32 = 2100;

/// Whether `year` lies within [`FIRST_YEAR`]..=[`LAST_YEAR`].
pub fn is_supported_year(year: i32) -> bool {
    (FIRST_YEAR..=LAST_YEAR).contains(&year)
}

/// Whether an instant lies in a supported year, China time. Compared in UTC, so that instants
/// at chrono's limits do not overflow.
pub fn is_plausible(t: DateTime<Utc>) -> bool {
    let start_of = |year: i32| {
        NaiveDate::from_ymd_opt(year, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|midnight| midnight.and_utc().timestamp() - i64::from(china_offset().local_minus_utc()))
    };
    match (start_of(FIRST_YEAR), start_of(LAST_YEAR + 1)) {
        (Some(first), Some(after)) => (first..after).contains(&t.timestamp()),
        _ => false,
    }
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
    fn plausible_instants_lie_between_2000_and_2100_china_time() {
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        assert!(is_plausible(t("2026-12-05T08:00:00Z")));
        assert!(is_plausible(t("1999-12-31T16:00:00Z")), "2000-01-01 00:00 in China");
        assert!(!is_plausible(t("1999-12-31T15:59:59Z")));
        assert!(is_plausible(t("2100-12-31T15:59:59Z")));
        assert!(!is_plausible(t("2100-12-31T16:00:00Z")));
        assert!(!is_plausible(DateTime::<Utc>::MAX_UTC));
        assert!(!is_supported_year(1999) && !is_supported_year(2101) && is_supported_year(2100));
    }

    #[test]
    fn china_day_starts_at_16_utc() {
        let before = "2026-01-01T15:59:59Z".parse::<DateTime<Utc>>().unwrap();
        let after = "2026-01-01T16:00:00Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(china_date(before), NaiveDate::from_ymd_opt(2026, 1, 1).unwrap());
        assert_eq!(china_date(after), NaiveDate::from_ymd_opt(2026, 1, 2).unwrap());
    }
}
