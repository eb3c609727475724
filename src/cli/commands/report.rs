//! `bianmin report day|month|range`: the supervision report of a period, read from the server's
//! database directly (as `bianmin admin` does) and printed as text, CSV or HTML.

use chrono::{NaiveDate, Utc};

use crate::cli::args::{ReportArgs, ReportFormat, ReportPeriod};
use crate::config::Settings;
use crate::documents::report::{ReportFormat as Format, render};
use crate::domain::attendance::OpeningHours;
use crate::domain::report::Period;
use crate::domain::time::china_date;

/// The period a command names, `today` filling what is left out; a Chinese message when it is
/// not a period.
pub fn period_of(period: &ReportPeriod, today: NaiveDate) -> Result<Period, String> {
    match *period {
        ReportPeriod::Day { date } => Ok(Period::day(date.unwrap_or(today))),
        ReportPeriod::Month { month } => Ok(Period::month_of(month.unwrap_or(today))),
        ReportPeriod::Range { from, to } => Period::range(from, to),
    }
}

pub async fn report(settings: Settings, args: ReportArgs) -> color_eyre::Result<()> {
    let now = Utc::now();
    let period = period_of(&args.period, china_date(now)).map_err(|m| color_eyre::eyre::eyre!(m))?;
    let store = super::server_store(&settings).await?;
    let hours: OpeningHours = settings.center.opening_hours()?;
    let loaded = crate::server::service::report::load(store.as_ref(), period, &hours, now).await?;
    let format = match args.format {
        ReportFormat::Text => Format::Text,
        ReportFormat::Csv => Format::Csv,
        ReportFormat::Html => Format::Html,
    };
    let bytes = render(&loaded.report, &loaded.center, &loaded.names, format);
    match &args.out {
        Some(path) => {
            std::fs::write(path, &bytes)
                .map_err(|e| color_eyre::eyre::eyre!("无法写入文件 {}：{e}", path.display()))?;
            println!("报表已写入 {}", path.display());
        }
        None => {
            use std::io::Write;
            std::io::stdout().write_all(&bytes)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn a_month_runs_from_its_first_to_its_last_day_and_a_range_must_not_run_backwards() {
        let today = d(2026, 12, 7);
        let month = |m| period_of(&ReportPeriod::Month { month: m }, today).unwrap();
        assert_eq!(month(None), Period { from: d(2026, 12, 1), to: d(2026, 12, 31) });
        assert_eq!(month(Some(d(2028, 2, 1))), Period { from: d(2028, 2, 1), to: d(2028, 2, 29) });
        assert_eq!(period_of(&ReportPeriod::Day { date: None }, today).unwrap(), Period::day(today));
        let backwards = ReportPeriod::Range { from: d(2026, 12, 2), to: d(2026, 12, 1) };
        assert!(period_of(&backwards, today).unwrap_err().contains("晚于"));
        assert_eq!(crate::cli::args::parse_month("2026-12"), Ok(d(2026, 12, 1)));
        assert!(crate::cli::args::parse_month("2026-13").is_err());
    }
}
