//! The supervision report of a period, from the store: reads what
//! [`crate::domain::report::build`] needs and lets it compute every figure. Used by
//! `bianmin report` (directly on the server's database, like the other admin commands).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::domain::attendance::OpeningHours;
use crate::domain::report::{Period, Report, Sources, build};
use crate::domain::time::china_day_start;
use crate::server::store::{Store, StoreResult};

/// A report with what its printed forms need beside the figures.
#[derive(Debug, Clone)]
pub struct LoadedReport {
    pub report: Report,
    /// The center's name, for the title.
    pub center: String,
    /// Staff names by id.
    pub names: BTreeMap<String, String>,
}

/// Builds the report of `period` as of the server time `now`, with the center's working-day
/// calendar (the bundled one when none is stored) and the given opening hours.
pub async fn load(
    store: &dyn Store,
    period: Period,
    hours: &OpeningHours,
    now: DateTime<Utc>,
) -> color_eyre::Result<LoadedReport> {
    let from = china_day_start(period.from);
    let to = period.to.succ_opt().map_or(i64::MAX, china_day_start);
    let calendar = match store.calendar().await? {
        Some((_, calendar)) => calendar,
        None => crate::assets::bundled_calendar()?,
    };
    let (windows, tickets, cases, notices, ratings, handovers) = read(store, period, from, to).await?;
    let follow_ups = store.follow_ups(None).await?;
    let sources = Sources {
        windows: &windows,
        tickets: &tickets,
        cases: &cases,
        notices: &notices,
        ratings: &ratings,
        follow_ups: &follow_ups,
        handovers: &handovers,
    };
    let report = build(sources, period, hours, &calendar, now);
    let center = store.center().await?.map(|c| c.name).unwrap_or_default();
    let names = store.all_staff().await?.into_iter().map(|s| (s.id, s.name)).collect();
    Ok(LoadedReport { report, center, names })
}

type Read = (
    Vec<crate::domain::center::Window>,
    Vec<crate::domain::ticket::Ticket>,
    Vec<crate::domain::case::Case>,
    Vec<crate::domain::notice::OneTimeNotice>,
    Vec<crate::domain::rating::Rating>,
    Vec<crate::domain::handover::Handover>,
);

async fn read(store: &dyn Store, period: Period, from: i64, to: i64) -> StoreResult<Read> {
    Ok((
        store.windows().await?,
        store.tickets_of_days(period.from, period.to).await?,
        store.all_cases().await?,
        store.notices_between(from, to).await?,
        store.ratings_of_days(period.from, period.to).await?,
        store.all_handovers().await?,
    ))
}
