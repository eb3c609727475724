//! `bianmin appointments free`: the places left in each slot of a day, read from the server's
//! database like `bianmin admin` (the same figures `GET /api/v1/appointments/free` serves).

use chrono::NaiveDate;

use super::server_store;
use crate::api::queue::FreePlaces;
use crate::cli::args::FreeFormat;
use crate::config::Settings;
use crate::domain::time::china_date;
use crate::server::service::queue::{free_places, is_working_day};
use crate::server::store::QueueError;

pub async fn appointments_free(
    settings: Settings,
    day: Option<NaiveDate>,
    category: Option<char>,
    format: FreeFormat,
) -> color_eyre::Result<()> {
    let store = server_store(&settings).await?;
    let now = chrono::Utc::now();
    let day = day.unwrap_or_else(|| china_date(now));
    let said = |e: QueueError| match e {
        QueueError::Invalid(problems) => {
            color_eyre::eyre::eyre!("{}", problems.iter().map(|p| p.message.as_str()).collect::<Vec<_>>().join("；"))
        }
        other => color_eyre::eyre::eyre!("{other}"),
    };
    let working_day = is_working_day(store.as_ref(), day).await.map_err(said)?;
    let slots = free_places(store.as_ref(), day, category, working_day, now).await.map_err(said)?;
    let places = FreePlaces { day, working_day, slots };
    match format {
        FreeFormat::Json => println!("{}", serde_json::to_string_pretty(&places)?),
        FreeFormat::Text => print!("{}", free_table(&places)),
    }
    Ok(())
}

/// The table `bianmin appointments free` prints.
pub fn free_table(places: &FreePlaces) -> String {
    let mut out = format!("{}（{}）\n", places.day, if places.working_day { "工作日" } else { "非工作日" });
    if places.slots.is_empty() {
        out.push_str("没有预约时段\n");
        return out;
    }
    out.push_str("类别  时段         名额  剩余\n");
    for s in &places.slots {
        out.push_str(&format!("{:<4}  {}  {:>4}  {}\n", s.category, s.times_text(), s.capacity, s.places_text()));
    }
    out
}
