//! The supervision report over HTTP (`GET /api/v1/report`): the same report as
//! `bianmin report`, for the director's board to export.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

pub use crate::documents::report::ReportFormat;
use crate::domain::report::Period;

/// Which days a report covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PeriodKind {
    /// One day (`from`, or today).
    Day,
    /// A month (the one `from` falls in, or this month).
    Month,
    /// `from` to `to`, both required.
    Range,
}

/// The query of `GET /api/v1/report`. Days left out are the server's today (time comes from the
/// server).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportQuery {
    pub period: PeriodKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<NaiveDate>,
    pub format: ReportFormat,
}

impl ReportQuery {
    /// This month's report in `format`, as the server counts months.
    pub fn this_month(format: ReportFormat) -> Self {
        Self { period: PeriodKind::Month, from: None, to: None, format }
    }

    /// The days the query names, `today` filling what is left out; a Chinese message when it
    /// names none.
    pub fn period(&self, today: NaiveDate) -> Result<Period, String> {
        match self.period {
            PeriodKind::Day => Ok(Period::day(self.from.unwrap_or(today))),
            PeriodKind::Month => Ok(Period::month_of(self.from.unwrap_or(today))),
            PeriodKind::Range => match (self.from, self.to) {
                (Some(from), Some(to)) => Period::range(from, to),
                _ => Err("按区间统计须给出开始日期（from）和结束日期（to）".to_owned()),
            },
        }
    }

    /// The query string's pairs.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let period = match self.period {
            PeriodKind::Day => "day",
            PeriodKind::Month => "month",
            PeriodKind::Range => "range",
        };
        let mut pairs = vec![("period", period.to_owned()), ("format", self.format.as_str().to_owned())];
        if let Some(from) = self.from {
            pairs.push(("from", from.to_string()));
        }
        if let Some(to) = self.to {
            pairs.push(("to", to.to_string()));
        }
        pairs
    }
}

/// A report as the server sent it: the file name it suggests and the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFile {
    pub file_name: String,
    pub bytes: Vec<u8>,
}
