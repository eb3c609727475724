//! `bianmin report day|month|range`: the supervision report of a period, read from the server's
//! database directly (as `bianmin admin` does) and printed as text, CSV or HTML.

use chrono::{Datelike, NaiveDate, Utc};

use crate::cli::args::{ReportArgs, ReportFormat, ReportPeriod};
use crate::config::Settings;
use crate::documents::report::{report_csv, report_html, report_text};
use crate::domain::attendance::OpeningHours;
use crate::domain::report::Period;
use crate::domain::time::china_date;

/// The period a command names, `today` filling what is left out; a Chinese message when it is
/// not a period.
pub fn period_of(period: &ReportPeriod, today: NaiveDate) -> Result<Period, String> {
    match *period {
        ReportPeriod::Day { date } => Ok(Period::day(date.unwrap_or(today))),
        ReportPeriod::Month { month } => {
            let first = month.unwrap_or(today).with_day(1).ok_or("月份无效")?;
            let next = if first.month() == 12 {
                NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
            } else {
                NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
            };
            let last = next.and_then(|d| d.pred_opt()).ok_or("月份无效")?;
            Ok(Period { from: first, to: last })
        }
        ReportPeriod::Range { from, to } if from > to => {
            Err(format!("开始日期 {from} 晚于结束日期 {to}，请调换后重试"))
        }
        ReportPeriod::Range { from, to } => Ok(Period { from, to }),
    }
}

pub async fn report(settings: Settings, args: ReportArgs) -> color_eyre::Result<()> {
    let now = Utc::now();
    let period = period_of(&args.period, china_date(now)).map_err(|m| color_eyre::eyre::eyre!(m))?;
    let store = super::server_store(&settings).await?;
    let hours: OpeningHours = settings.center.opening_hours()?;
    let loaded = crate::server::service::report::load(store.as_ref(), period, &hours, now).await?;
    let bytes = match args.format {
        ReportFormat::Text => report_text(&loaded.report, &loaded.center, &loaded.names).into_bytes(),
        ReportFormat::Csv => report_csv(&loaded.report, &loaded.center, &loaded.names),
        ReportFormat::Html => report_html(&loaded.report, &loaded.center, &loaded.names).into_bytes(),
    };
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
