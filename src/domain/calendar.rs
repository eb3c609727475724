//! Working-day calendar (工作日历): statutory holidays (法定节假日) and adjusted working weekends
//! (调休上班) as published by the State Council, and deadline arithmetic in working days
//! (承诺办结时限).
//!
//! The data lives in `assets/calendar/workdays.json` (see `assets/calendar/NOTICE.md`); this module
//! is pure: it parses, validates and computes, and never reads files itself.
//!
//! Rules:
//! - In a year with schedule data, a day listed under `holidays` is a rest day, a day listed under
//!   `workdays` is a working day, and any other day is a working day on Monday to Friday and a rest
//!   day on Saturday and Sunday.
//! - In a year without schedule data only weekends rest. Any result that depends on such a day is
//!   marked provisional (待定), because the State Council may still publish holidays for that year.
//! - Counting starts the day after acceptance: one working day after a Friday acceptance is the next
//!   Monday, or the Saturday if that Saturday is an adjusted working day.
//!
//! Cost: inside years with data the count walks day by day but skips whole years arithmetically
//! when the remaining count cannot end inside them; spans of years without data are counted
//! arithmetically in whole weeks. Any `n` (up to `u32::MAX`) and any pair of dates chrono accepts
//! therefore take time proportional to the number of years with data, and adding 30 working days
//! is a walk of about 45 days. Nothing here panics: counting past `NaiveDate::MAX` stops at
//! `NaiveDate::MAX` with `provisional = true`.

use std::collections::BTreeMap;

use super::labels::labelled;
use chrono::{Datelike, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

/// A problem with working-day calendar data. Messages are in Chinese, for the admin who has to fix
/// the data, and name the offending date or year.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The text is not valid calendar JSON (syntax error, wrong field, malformed date).
    #[error("工作日历数据格式错误：{0}")]
    Parse(String),
    /// The year is outside the years the program deals in (`time::FIRST_YEAR..=LAST_YEAR`).
    #[error("工作日历年份 {year} 超出支持范围（2000 至 2100 年）")]
    YearOutOfRange { year: i32 },
    /// A date was listed under a year it does not belong to.
    #[error("日期 {date} 列在 {year} 年的工作日历下，但不属于 {year} 年")]
    WrongYear { year: i32, date: NaiveDate },
    /// A date was listed both as a holiday and as an adjusted working day.
    #[error("日期 {date} 同时列为法定节假日和调休上班日，只能保留一个")]
    HolidayAndWorkday { date: NaiveDate },
    /// An adjusted working day (调休上班) must be a Saturday or Sunday; a weekday is a working day
    /// anyway, so listing one is almost certainly a typo.
    #[error("日期 {date} 是{weekday}，不是周末，不能列为调休上班日")]
    WorkdayNotWeekend { date: NaiveDate, weekday: &'static str },
}

/// The published schedule of one year: statutory rest days and adjusted working weekends, each
/// with its name (e.g. `春节`, `春节调休`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct YearSchedule {
    /// Statutory rest days (法定节假日), including weekend days inside a holiday block when the
    /// source lists them.
    #[serde(default)]
    pub holidays: BTreeMap<NaiveDate, String>,
    /// Saturdays and Sundays that are working days because of 调休.
    #[serde(default)]
    pub workdays: BTreeMap<NaiveDate, String>,
}

/// The working-day calendar: a source note and the schedules of the years that have data.
///
/// Serialises as `{"source": "...", "years": {"2025": {"holidays": {...}, "workdays": {...}}}}`.
/// Deserialising validates like [`WorkCalendar::from_json`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "RawCalendar")]
pub struct WorkCalendar {
    source: String,
    years: BTreeMap<i32, YearSchedule>,
}

/// The unvalidated shape of `workdays.json`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCalendar {
    #[serde(default)]
    source: String,
    years: BTreeMap<i32, YearSchedule>,
}

impl TryFrom<RawCalendar> for WorkCalendar {
    type Error = CalendarError;

    fn try_from(raw: RawCalendar) -> Result<Self, CalendarError> {
        for (&year, schedule) in &raw.years {
            validate_year(year, schedule)?;
        }
        Ok(WorkCalendar { source: raw.source, years: raw.years })
    }
}

/// The deadline computed by [`WorkCalendar::add_working_days`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadline {
    pub date: NaiveDate,
    /// Some day counted lies in a year without schedule data (待定): holidays published later may
    /// move the deadline. Also set when counting ran past `NaiveDate::MAX`.
    pub provisional: bool,
}

labelled! { shown:
    /// What kind of day a date is.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum DayKind {
        /// An ordinary Monday to Friday.
        Working = "工作日",
        /// An ordinary Saturday or Sunday.
        Weekend = "休息日",
        /// A statutory rest day (any day of the week).
        Holiday = "法定节假日",
        /// A Saturday or Sunday that is a working day because of 调休.
        AdjustedWorkday = "调休上班",
    }
}

impl DayKind {
    /// Whether the service center is open on such a day.
    pub fn is_working(self) -> bool {
        matches!(self, DayKind::Working | DayKind::AdjustedWorkday)
    }
}

impl WorkCalendar {
    /// Parses and validates `workdays.json` text.
    ///
    /// Rejects a date listed under a year it does not belong to, a date listed both as holiday and
    /// as working day, an adjusted working day that is not a Saturday or Sunday, and years outside
    /// the representable range. The error names the offending date.
    pub fn from_json(text: &str) -> Result<Self, CalendarError> {
        let raw: RawCalendar = serde_json::from_str(text).map_err(|e| CalendarError::Parse(e.to_string()))?;
        WorkCalendar::try_from(raw)
    }

    /// Serialises in the `workdays.json` format (pretty, 2-space indent, trailing newline), so an
    /// admin-edited calendar can be written back and diffed against the shipped file.
    pub fn to_json(&self) -> String {
        // Serialising string/date/integer-keyed maps of strings cannot fail.
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Where the data came from, e.g. `chinese-days 1.5.7 (MIT), State Council schedules`.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The years that have schedule data, ascending.
    pub fn years(&self) -> impl Iterator<Item = i32> + '_ {
        self.years.keys().copied()
    }

    /// Whether `year` has schedule data.
    pub fn has_year(&self, year: i32) -> bool {
        self.years.contains_key(&year)
    }

    /// The schedule of `year`, if it has data.
    pub fn year(&self, year: i32) -> Option<&YearSchedule> {
        self.years.get(&year)
    }

    /// Adds or replaces the schedule of `year` (an admin loads a newly published or corrected
    /// year). Validated like [`WorkCalendar::from_json`]; on error the calendar is unchanged.
    pub fn set_year(&mut self, year: i32, schedule: YearSchedule) -> Result<(), CalendarError> {
        validate_year(year, &schedule)?;
        self.years.insert(year, schedule);
        Ok(())
    }

    /// The kind of `date`. In a year without data, weekends rest and other days are working days.
    pub fn day_kind(&self, date: NaiveDate) -> DayKind {
        kind_in(self.years.get(&date.year()), date)
    }

    /// Whether the service center works on `date`.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        self.day_kind(date).is_working()
    }

    /// Deadline of `n` working days for something accepted on `accepted_on`: counting starts the
    /// day AFTER acceptance, so n=1 is the next working day; n=0 returns `accepted_on` itself
    /// (即办件, never provisional).
    ///
    /// `provisional` is set when any day after `accepted_on` up to the deadline lies in a year
    /// without data. If the count would run past `NaiveDate::MAX`, returns `NaiveDate::MAX` with
    /// `provisional = true`.
    pub fn add_working_days(&self, accepted_on: NaiveDate, n: u32) -> Deadline {
        if n == 0 {
            return Deadline { date: accepted_on, provisional: false };
        }
        let past_the_end = Deadline { date: NaiveDate::MAX, provisional: true };
        let mut remaining = i64::from(n);
        let mut provisional = false;
        let Some(mut start) = accepted_on.succ_opt() else {
            return past_the_end;
        };
        loop {
            let year = start.year();
            let end = match self.years.get(&year) {
                Some(schedule) => {
                    let end = last_day_of_year(year);
                    let days_left = (end - start).num_days() + 1;
                    if remaining > days_left {
                        // Cannot end inside this year: skip it whole.
                        remaining -= count_with_schedule(schedule, start, end);
                    } else {
                        let mut day = start;
                        loop {
                            if kind_in(Some(schedule), day).is_working() {
                                remaining -= 1;
                                if remaining == 0 {
                                    return Deadline { date: day, provisional };
                                }
                            }
                            if day >= end {
                                break;
                            }
                            match day.succ_opt() {
                                Some(next) => day = next,
                                None => return past_the_end,
                            }
                        }
                    }
                    end
                }
                None => {
                    provisional = true;
                    let end = self.end_of_gap(year);
                    let available = weekdays_between(start, end);
                    if remaining <= available {
                        return Deadline { date: nth_weekday(start, remaining).unwrap_or(NaiveDate::MAX), provisional };
                    }
                    remaining -= available;
                    end
                }
            };
            match end.succ_opt() {
                Some(next) => start = next,
                None => return past_the_end,
            }
        }
    }

    /// Working days in `(from, to]`, so `working_days_between(d, add_working_days(d, n).date)`
    /// is `n`. Negative when `to < from` (the mirror: minus the working days in `(to, from]`).
    /// The flag is set when any day in that interval lies in a year without data.
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> (i64, bool) {
        if to < from {
            let (count, provisional) = self.working_days_between(to, from);
            return (-count, provisional);
        }
        // `from < to <= MAX`, so `from` has a successor; `from == to` gives the empty interval.
        let Some(mut start) = from.succ_opt().filter(|_| from < to) else {
            return (0, false);
        };
        let mut count = 0;
        let mut provisional = false;
        loop {
            let year = start.year();
            let end = match self.years.get(&year) {
                Some(schedule) => {
                    let end = last_day_of_year(year).min(to);
                    count += count_with_schedule(schedule, start, end);
                    end
                }
                None => {
                    provisional = true;
                    let end = self.end_of_gap(year).min(to);
                    count += weekdays_between(start, end);
                    end
                }
            };
            match end.succ_opt() {
                Some(next) if end < to => start = next,
                _ => return (count, provisional),
            }
        }
    }

    /// Last day of the run of years without data that contains `year`: the day before the next
    /// year with data, or `NaiveDate::MAX`.
    fn end_of_gap(&self, year: i32) -> NaiveDate {
        self.years
            .range(year.saturating_add(1)..)
            .next()
            .and_then(|(&next, _)| NaiveDate::from_ymd_opt(next, 1, 1))
            .and_then(|first| first.pred_opt())
            .unwrap_or(NaiveDate::MAX)
    }
}

/// Checks one year's schedule; see [`WorkCalendar::from_json`].
fn validate_year(year: i32, schedule: &YearSchedule) -> Result<(), CalendarError> {
    if !super::time::is_supported_year(year) {
        return Err(CalendarError::YearOutOfRange { year });
    }
    for &date in schedule.holidays.keys().chain(schedule.workdays.keys()) {
        if date.year() != year {
            return Err(CalendarError::WrongYear { year, date });
        }
    }
    for &date in schedule.workdays.keys() {
        if schedule.holidays.contains_key(&date) {
            return Err(CalendarError::HolidayAndWorkday { date });
        }
        if !is_weekend(date) {
            return Err(CalendarError::WorkdayNotWeekend { date, weekday: weekday_name(date.weekday()) });
        }
    }
    Ok(())
}

/// Day kind under an optional year schedule (None: year without data).
fn kind_in(schedule: Option<&YearSchedule>, date: NaiveDate) -> DayKind {
    if let Some(schedule) = schedule {
        if schedule.holidays.contains_key(&date) {
            return DayKind::Holiday;
        }
        if schedule.workdays.contains_key(&date) {
            return DayKind::AdjustedWorkday;
        }
    }
    if is_weekend(date) { DayKind::Weekend } else { DayKind::Working }
}

/// Working days in `[start, end]` (same year, `start <= end`) under `schedule`: the weekdays,
/// corrected for each listed date in the range.
fn count_with_schedule(schedule: &YearSchedule, start: NaiveDate, end: NaiveDate) -> i64 {
    let listed = schedule
        .holidays
        .range(start..=end)
        .chain(schedule.workdays.range(start..=end))
        .map(|(&date, _)| i64::from(kind_in(Some(schedule), date).is_working()) - i64::from(!is_weekend(date)))
        .sum::<i64>();
    weekdays_between(start, end) + listed
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

fn weekday_name(weekday: Weekday) -> &'static str {
    match weekday {
        Weekday::Mon => "星期一",
        Weekday::Tue => "星期二",
        Weekday::Wed => "星期三",
        Weekday::Thu => "星期四",
        Weekday::Fri => "星期五",
        Weekday::Sat => "星期六",
        Weekday::Sun => "星期日",
    }
}

fn last_day_of_year(year: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or(NaiveDate::MAX)
}

/// Day index with Monday 0001-01-01 as 0, so `index.rem_euclid(7)` is 0 for Monday.
fn day_index(date: NaiveDate) -> i64 {
    i64::from(date.num_days_from_ce()) - 1
}

fn from_day_index(index: i64) -> Option<NaiveDate> {
    i32::try_from(index + 1).ok().and_then(NaiveDate::from_num_days_from_ce_opt)
}

/// Monday-to-Friday days with index in `[0, index)` (negative for negative `index`).
fn weekdays_before(index: i64) -> i64 {
    5 * index.div_euclid(7) + index.rem_euclid(7).min(5)
}

/// Monday-to-Friday days in `[start, end]`; 0 when `end < start`.
fn weekdays_between(start: NaiveDate, end: NaiveDate) -> i64 {
    if end < start {
        return 0;
    }
    weekdays_before(day_index(end) + 1) - weekdays_before(day_index(start))
}

/// The `k`-th Monday-to-Friday day (k >= 1) on or after `start`.
fn nth_weekday(start: NaiveDate, k: i64) -> Option<NaiveDate> {
    let mut index = day_index(start);
    // Move a weekend start to the following Monday.
    let weekday = index.rem_euclid(7);
    if weekday >= 5 {
        index += 7 - weekday;
    }
    let monday = index - index.rem_euclid(7);
    let position = index.rem_euclid(7) + (k - 1);
    from_day_index(monday + 7 * position.div_euclid(5) + position.rem_euclid(5))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ASSET: &str = include_str!("../../assets/calendar/workdays.json");

    fn cal() -> WorkCalendar {
        WorkCalendar::from_json(ASSET).expect("shipped calendar is valid")
    }

    fn d(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("test date")
    }

    fn add(cal: &WorkCalendar, from: &str, n: u32) -> (String, bool) {
        let deadline = cal.add_working_days(d(from), n);
        (deadline.date.to_string(), deadline.provisional)
    }

    /// Reference implementation: walk one day at a time using `day_kind`.
    fn naive_add(cal: &WorkCalendar, from: NaiveDate, n: u32) -> Deadline {
        let mut day = from;
        let mut left = n;
        let mut provisional = false;
        while left > 0 {
            day = day.succ_opt().expect("test stays in range");
            provisional |= !cal.has_year(day.year());
            if cal.is_working_day(day) {
                left -= 1;
            }
        }
        Deadline { date: day, provisional }
    }

    #[test]
    fn shipped_data_loads_with_all_years() {
        let cal = cal();
        assert!(cal.source().contains("chinese-days"), "{}", cal.source());
        assert_eq!(cal.years().collect::<Vec<_>>(), (2004..=2026).collect::<Vec<_>>());
        assert!(cal.has_year(2025) && cal.has_year(2026));
        assert!(!cal.has_year(2027) && !cal.has_year(2003));
    }

    #[test]
    fn to_json_round_trips_the_shipped_file_exactly() {
        let cal = cal();
        assert_eq!(cal.to_json(), ASSET);
        assert_eq!(WorkCalendar::from_json(&cal.to_json()), Ok(cal.clone()));
        // serde's Deserialize validates too.
        let via_serde: WorkCalendar = serde_json::from_str(ASSET).expect("serde");
        assert_eq!(via_serde, cal);
    }

    #[test]
    fn known_2025_and_2026_schedules() {
        let cal = cal();
        let holiday_ranges = [
            ("2025-01-28", "2025-02-04"),
            ("2025-05-01", "2025-05-05"),
            ("2025-10-01", "2025-10-08"),
            ("2026-01-01", "2026-01-03"),
            ("2026-02-15", "2026-02-23"),
            ("2026-05-01", "2026-05-05"),
            ("2026-10-01", "2026-10-07"),
        ];
        for (first, last) in holiday_ranges {
            let mut day = d(first);
            while day <= d(last) {
                assert_eq!(cal.day_kind(day), DayKind::Holiday, "{day}");
                day = day.succ_opt().unwrap();
            }
        }
        for workday in [
            "2025-01-26",
            "2025-02-08",
            "2025-04-27",
            "2025-09-28",
            "2025-10-11",
            "2026-01-04",
            "2026-02-14",
            "2026-02-28",
        ] {
            assert_eq!(cal.day_kind(d(workday)), DayKind::AdjustedWorkday, "{workday}");
            assert!(cal.is_working_day(d(workday)));
        }
        assert_eq!(cal.year(2026).unwrap().workdays[&d("2026-02-14")], "春节调休");
        assert_eq!(cal.year(2025).unwrap().holidays[&d("2025-01-01")], "元旦");
        assert_eq!(cal.day_kind(d("2025-09-27")), DayKind::Weekend);
        assert_eq!(cal.day_kind(d("2025-09-29")), DayKind::Working);
        assert!(!cal.is_working_day(d("2025-10-08")));
        // Labels.
        assert_eq!(DayKind::Working.label(), "工作日");
        assert_eq!(DayKind::Weekend.label(), "休息日");
        assert_eq!(DayKind::Holiday.label(), "法定节假日");
        assert_eq!(DayKind::AdjustedWorkday.label(), "调休上班");
    }

    #[test]
    fn deadlines_across_2025_holidays() {
        let cal = cal();
        let ok = |s: &str| (s.to_string(), false);
        assert_eq!(add(&cal, "2025-09-30", 1), ok("2025-10-09"));
        assert_eq!(add(&cal, "2025-09-26", 1), ok("2025-09-28"));
        assert_eq!(add(&cal, "2025-09-26", 2), ok("2025-09-29"));
        assert_eq!(add(&cal, "2025-10-09", 2), ok("2025-10-11"));
        assert_eq!(add(&cal, "2025-01-24", 1), ok("2025-01-26"));
        assert_eq!(add(&cal, "2025-01-27", 1), ok("2025-02-05"));
        assert_eq!(add(&cal, "2025-02-05", 3), ok("2025-02-08"));
        assert_eq!(add(&cal, "2025-04-25", 1), ok("2025-04-27"));
        assert_eq!(add(&cal, "2025-04-30", 1), ok("2025-05-06"));
        // Accepted during the holiday: the first working day after it.
        assert_eq!(add(&cal, "2025-10-03", 1), ok("2025-10-09"));
        // 2025-09-22 (Mon) + 20: 9/23-26 (4), 9/28-30 (7), 10/9-11 (10), 10/13-17 (15), 10/20-24 (20).
        assert_eq!(add(&cal, "2025-09-22", 20), ok("2025-10-24"));
    }

    #[test]
    fn deadlines_across_2026_spring_festival() {
        let cal = cal();
        let ok = |s: &str| (s.to_string(), false);
        assert_eq!(add(&cal, "2026-02-13", 1), ok("2026-02-14"));
        assert_eq!(add(&cal, "2026-02-13", 2), ok("2026-02-24"));
        assert_eq!(add(&cal, "2026-02-14", 1), ok("2026-02-24"));
        assert_eq!(add(&cal, "2026-02-20", 1), ok("2026-02-24"));
        assert_eq!(add(&cal, "2026-02-27", 1), ok("2026-02-28"));
        assert_eq!(add(&cal, "2026-02-27", 2), ok("2026-03-02"));
        // 2026-02-09 (Mon) + 10: 2/10-13 (4), 2/14 (5), 2/24-27 (9), 2/28 (10).
        assert_eq!(add(&cal, "2026-02-09", 10), ok("2026-02-28"));
        assert_eq!(add(&cal, "2025-12-31", 1), ok("2026-01-04"));
        assert_eq!(add(&cal, "2026-09-30", 1), ok("2026-10-08"));
        assert_eq!(add(&cal, "2026-10-08", 2), ok("2026-10-10"));
    }

    #[test]
    fn year_boundary_into_missing_2027_is_provisional() {
        let cal = cal();
        assert_eq!(add(&cal, "2026-12-30", 1), ("2026-12-31".into(), false));
        // 2027-01-01 is a Friday: without data it counts as a working day.
        assert_eq!(add(&cal, "2026-12-31", 1), ("2027-01-01".into(), true));
        assert_eq!(add(&cal, "2026-12-31", 2), ("2027-01-04".into(), true));
        assert_eq!(add(&cal, "2026-12-30", 6), ("2027-01-07".into(), true));
        assert_eq!(cal.day_kind(d("2027-01-01")), DayKind::Working);
        assert_eq!(cal.day_kind(d("2027-01-02")), DayKind::Weekend);
        assert_eq!(cal.working_days_between(d("2026-12-30"), d("2027-01-07")), (6, true));
        assert_eq!(cal.working_days_between(d("2026-12-01"), d("2026-12-31")), (22, false));
    }

    #[test]
    fn year_without_any_data_counts_weekdays() {
        let cal = cal();
        assert_eq!(add(&cal, "2030-01-04", 1), ("2030-01-07".into(), true));
        assert_eq!(add(&cal, "2030-01-07", 5), ("2030-01-14".into(), true));
        assert_eq!(add(&cal, "2030-01-05", 1), ("2030-01-07".into(), true));
        assert_eq!(add(&cal, "2030-01-05", 10), ("2030-01-18".into(), true));
        // 2030-10-01 is a Tuesday: no holiday known.
        assert_eq!(add(&cal, "2030-09-30", 1), ("2030-10-01".into(), true));
        // Before the first year with data as well.
        assert_eq!(add(&cal, "2003-12-31", 1), ("2004-01-02".into(), false));
        assert_eq!(add(&cal, "2003-12-30", 1), ("2003-12-31".into(), true));
    }

    #[test]
    fn zero_days_is_the_acceptance_day() {
        let cal = cal();
        for day in ["2025-10-01", "2025-09-27", "2030-06-01", "2025-06-03"] {
            assert_eq!(add(&cal, day, 0), (day.to_string(), false));
        }
        assert_eq!(cal.add_working_days(NaiveDate::MAX, 0), Deadline { date: NaiveDate::MAX, provisional: false });
    }

    #[test]
    fn matches_day_by_day_walk_and_between_is_its_inverse() {
        let cal = cal();
        let mut day = d("2024-11-15");
        while day <= d("2027-02-15") {
            for n in 0..40 {
                let deadline = cal.add_working_days(day, n);
                assert_eq!(deadline, naive_add(&cal, day, n), "{day} + {n}");
                assert_eq!(
                    cal.working_days_between(day, deadline.date),
                    (i64::from(n), deadline.provisional),
                    "{day} + {n}"
                );
            }
            day = day.succ_opt().unwrap();
        }
    }

    #[test]
    fn large_counts_skip_years_correctly() {
        let cal = cal();
        for (from, n) in [
            ("2002-06-01", 1000),
            ("2003-12-31", 5000),
            ("2004-01-01", 5800),
            ("2010-02-10", 3000),
            ("2020-01-01", 2500),
            ("2025-12-31", 700),
        ] {
            let deadline = cal.add_working_days(d(from), n);
            assert_eq!(deadline, naive_add(&cal, d(from), n), "{from} + {n}");
            assert_eq!(cal.working_days_between(d(from), deadline.date), (i64::from(n), deadline.provisional));
        }
        // Sparse data: gaps between years with data.
        let mut sparse = WorkCalendar::default();
        sparse.set_year(2025, cal.year(2025).unwrap().clone()).unwrap();
        sparse.set_year(2030, YearSchedule::default()).unwrap();
        sparse.set_year(2032, YearSchedule::default()).unwrap();
        for n in [1, 7, 250, 251, 600, 1300, 2000] {
            let deadline = sparse.add_working_days(d("2024-12-20"), n);
            assert_eq!(deadline, naive_add(&sparse, d("2024-12-20"), n), "sparse + {n}");
        }
        // A year of ordinary weekdays: 2025 has 261 weekdays, 248 working days.
        assert_eq!(cal.working_days_between(d("2024-12-31"), d("2025-12-31")), (248, false));
        assert_eq!(WorkCalendar::default().working_days_between(d("2024-12-31"), d("2025-12-31")), (261, true));
    }

    #[test]
    fn between_is_negative_when_reversed() {
        let cal = cal();
        assert_eq!(cal.working_days_between(d("2025-10-09"), d("2025-09-30")), (-1, false));
        assert_eq!(cal.working_days_between(d("2025-09-30"), d("2025-10-09")), (1, false));
        assert_eq!(cal.working_days_between(d("2025-10-01"), d("2025-10-01")), (0, false));
        assert_eq!(cal.working_days_between(d("2027-03-05"), d("2026-12-30")), (-47, true));
        let mut day = d("2025-01-01");
        while day < d("2025-03-01") {
            let other = d("2025-02-20");
            let (forward, p1) = cal.working_days_between(day, other);
            let (backward, p2) = cal.working_days_between(other, day);
            assert_eq!((forward, p1), (-backward, p2), "{day}");
            day = day.succ_opt().unwrap();
        }
    }

    #[test]
    fn from_json_rejects_bad_data_naming_the_date() {
        let wrong_year = r#"{"source": "t", "years": {"2025": {"holidays": {"2026-01-01": "元旦"}, "workdays": {}}}}"#;
        let err = WorkCalendar::from_json(wrong_year).unwrap_err();
        assert_eq!(err, CalendarError::WrongYear { year: 2025, date: d("2026-01-01") });
        assert!(err.to_string().contains("2026-01-01"), "{err}");

        let both = r#"{"source": "t", "years": {"2026": {"holidays": {"2026-02-14": "春节"}, "workdays": {"2026-02-14": "春节调休"}}}}"#;
        let err = WorkCalendar::from_json(both).unwrap_err();
        assert_eq!(err, CalendarError::HolidayAndWorkday { date: d("2026-02-14") });
        assert!(err.to_string().contains("2026-02-14"), "{err}");

        let weekday = r#"{"source": "t", "years": {"2026": {"workdays": {"2026-02-13": "春节调休"}}}}"#;
        let err = WorkCalendar::from_json(weekday).unwrap_err();
        assert!(matches!(err, CalendarError::WorkdayNotWeekend { .. }));
        assert!(err.to_string().contains("2026-02-13") && err.to_string().contains("星期五"));

        for bad in [
            "",
            "[]",
            r#"{"source": "t"}"#,
            r#"{"years": {"2025": {"holiday": {}}}}"#,
            r#"{"years": {"二〇二五": {}}}"#,
            r#"{"years": {"2025": {"holidays": {"2025-13-01": "x"}}}}"#,
        ] {
            let err = WorkCalendar::from_json(bad).unwrap_err();
            assert!(matches!(err, CalendarError::Parse(_)), "{bad}: {err:?}");
            assert!(err.to_string().starts_with("工作日历数据格式错误"));
        }
        assert_eq!(
            WorkCalendar::from_json(r#"{"years": {"300000": {}}}"#),
            Err(CalendarError::YearOutOfRange { year: 300000 })
        );
        // Validation also applies through serde.
        assert!(serde_json::from_str::<WorkCalendar>(both).is_err());
        // Missing lists default to empty.
        let minimal = WorkCalendar::from_json(r#"{"years": {"2027": {}}}"#).unwrap();
        assert!(minimal.has_year(2027));
        assert_eq!(minimal.source(), "");
    }

    #[test]
    fn years_outside_2000_to_2100_are_refused() {
        let mut cal = cal();
        for year in [1999, 2101, -5, i32::MAX] {
            let e = cal.set_year(year, YearSchedule::default()).unwrap_err();
            assert!(matches!(e, CalendarError::YearOutOfRange { .. }), "{year}: {e}");
        }
        assert!(cal.set_year(2100, YearSchedule::default()).is_ok());
        assert!(cal.set_year(2000, YearSchedule::default()).is_ok());
    }

    #[test]
    fn set_year_adds_and_replaces() {
        let mut cal = cal();
        let mut y2027 = YearSchedule::default();
        y2027.holidays.insert(d("2027-01-01"), "元旦".into());
        cal.set_year(2027, y2027.clone()).unwrap();
        assert!(cal.has_year(2027));
        assert_eq!(add(&cal, "2026-12-31", 1), ("2027-01-04".into(), false));
        assert_eq!(cal.day_kind(d("2027-01-01")), DayKind::Holiday);

        // Replace 2026 with an empty schedule: the Spring Festival block becomes ordinary days.
        cal.set_year(2026, YearSchedule::default()).unwrap();
        assert_eq!(cal.day_kind(d("2026-02-16")), DayKind::Working);
        assert_eq!(cal.day_kind(d("2026-02-14")), DayKind::Weekend);
        assert_eq!(add(&cal, "2026-02-13", 1), ("2026-02-16".into(), false));

        // Invalid schedules leave the calendar untouched.
        let before = cal.clone();
        let mut bad = YearSchedule::default();
        bad.holidays.insert(d("2028-01-01"), "元旦".into());
        assert_eq!(cal.set_year(2029, bad), Err(CalendarError::WrongYear { year: 2029, date: d("2028-01-01") }));
        assert_eq!(
            cal.set_year(i32::MAX, YearSchedule::default()).unwrap_err(),
            CalendarError::YearOutOfRange { year: i32::MAX }
        );
        assert_eq!(cal, before);
        assert_eq!(cal.years().last(), Some(2027));
        let reparsed = WorkCalendar::from_json(&cal.to_json()).unwrap();
        assert_eq!(reparsed.year(2027), Some(&y2027));
    }

    #[test]
    fn huge_counts_and_extreme_dates_do_not_panic() {
        let cal = cal();
        let max = Deadline { date: NaiveDate::MAX, provisional: true };
        assert_eq!(cal.add_working_days(d("2025-01-01"), u32::MAX), max);
        assert_eq!(cal.add_working_days(NaiveDate::MIN, u32::MAX), max);
        assert_eq!(cal.add_working_days(NaiveDate::MAX, 1), max);
        let near_max = NaiveDate::MAX - chrono::Days::new(10);
        assert_eq!(cal.add_working_days(near_max, 100), max);
        let within = cal.add_working_days(near_max, 3);
        assert!(within.provisional && within.date > near_max && within.date <= NaiveDate::MAX);
        assert_eq!(cal.working_days_between(near_max, within.date), (3, true));
        // A large count that still fits: about 153,000 years of weekdays.
        let far = cal.add_working_days(d("2025-01-01"), 40_000_000);
        assert!(far.provisional);
        assert_eq!(cal.working_days_between(d("2025-01-01"), far.date), (40_000_000, true));
        let (all, provisional) = cal.working_days_between(NaiveDate::MIN, NaiveDate::MAX);
        assert!(provisional && all > 130_000_000);
        assert_eq!(cal.working_days_between(NaiveDate::MAX, NaiveDate::MIN), (-all, true));
        for date in [NaiveDate::MIN, NaiveDate::MAX] {
            let _ = cal.day_kind(date);
            let _ = cal.add_working_days(date, 1);
            let _ = cal.add_working_days(date, 0);
        }
        // A year at the very end of the range can no longer be loaded (2000-2100 only).
        let mut edge = cal.clone();
        assert!(edge.set_year(NaiveDate::MAX.year(), YearSchedule::default()).is_err());
    }

    #[test]
    fn weekday_arithmetic_matches_counting() {
        for start in [
            d("2025-01-01"),
            d("2025-01-04"),
            d("2025-01-05"),
            d("0001-01-01"),
            d("0000-12-30"),
            NaiveDate::from_ymd_opt(-100, 3, 3).unwrap(),
        ] {
            assert_eq!(day_index(start).rem_euclid(7), i64::from(start.weekday().num_days_from_monday()));
            let mut day = start;
            let mut count = 0;
            for _ in 0..40 {
                if !is_weekend(day) {
                    count += 1;
                    assert_eq!(nth_weekday(start, count), Some(day), "{start} #{count}");
                }
                assert_eq!(weekdays_between(start, day), count, "{start}..{day}");
                day = day.succ_opt().unwrap();
            }
        }
    }
}
