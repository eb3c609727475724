//! Cases as the server holds them, shared by both backends.

use async_trait::async_trait;
use sqlx::Row;
use uuid::Uuid;

use super::{Backend, DIALECT, DbRow, q};
use crate::api::{CaseConflict, CaseSearch, ConflictReason, FoundCase};
use crate::domain::case::Case;
use crate::server::store::{CaseStore, StoreResult};

const CONFLICT_COLUMNS: &str =
    "record_id, case_id, window_no, reason, version, held_version, author, received_at, guide_name, edits";

fn conflict_from_row(r: &DbRow) -> StoreResult<CaseConflict> {
    let reason: String = r.try_get("reason")?;
    let edits: String = r.try_get("edits")?;
    Ok(CaseConflict {
        record_id: super::store::parse_uuid(r.try_get("record_id")?)?,
        case_id: super::store::parse_uuid(r.try_get("case_id")?)?,
        window: u32::try_from(r.try_get::<i64, _>("window_no")?).unwrap_or_default(),
        guide_name: r.try_get("guide_name")?,
        reason: if reason == "moved" { ConflictReason::Moved } else { ConflictReason::Stale },
        version: u32::try_from(r.try_get::<i64, _>("version")?).unwrap_or_default(),
        held_version: u32::try_from(r.try_get::<i64, _>("held_version")?).unwrap_or_default(),
        author: r.try_get("author")?,
        received_at: chrono::DateTime::from_timestamp(r.try_get("received_at")?, 0).unwrap_or_default(),
        edits: serde_json::from_str(&edits)?,
    })
}

#[async_trait]
impl CaseStore for Backend {
    async fn case(&self, id: Uuid) -> StoreResult<Option<Case>> {
        let body: Option<String> = sqlx::query_scalar(&q("SELECT body FROM cases WHERE id = ? AND center_id = ?"))
            .bind(id.to_string())
            .bind(&*self.center_id().await?)
            .fetch_optional(&self.pool)
            .await?;
        Ok(body.map(|b| serde_json::from_str(&b)).transpose()?)
    }

    async fn case_former_windows(&self, id: Uuid) -> StoreResult<Vec<u32>> {
        let windows: Vec<i64> = sqlx::query_scalar(&q(
            "SELECT DISTINCT from_window FROM case_transfers WHERE case_id = ? AND center_id = ?",
        ))
        .bind(id.to_string())
        .bind(&*self.center_id().await?)
        .fetch_all(&self.pool)
        .await?;
        Ok(windows.into_iter().filter_map(|w| u32::try_from(w).ok()).collect())
    }

    async fn find_cases(&self, search: &CaseSearch, limit: usize) -> StoreResult<Vec<FoundCase>> {
        let center = self.center_id().await?;
        let open = crate::server::store::repo::case_statuses(crate::domain::case::CaseStatus::is_open);
        let field = |path: &[&str]| DIALECT.json_text("body", path);
        let (condition, values): (String, Vec<&str>) = if !search.notice_number.is_empty() {
            ("id IN (SELECT case_id FROM notices WHERE number = ? AND center_id = ?)".to_owned(), vec![&search.notice_number, &*center])
        } else if !search.case_number.is_empty() {
            (format!("{} = ?", field(&["case_number"])), vec![&search.case_number])
        } else if !search.id_number.is_empty() {
            (format!("{} = ?", field(&["applicant", "id_number"])), vec![&search.id_number])
        } else {
            (
                format!("{} = ? AND {} = ?", field(&["applicant", "name"]), field(&["applicant", "phone"])),
                vec![&search.name, &search.phone],
            )
        };
        let sql =
            format!("SELECT body FROM cases WHERE center_id = ? AND status IN {open} AND {condition} ORDER BY opened_at DESC LIMIT ?");
        let sql = q(&sql);
        let mut query = sqlx::query_scalar::<_, String>(&sql).bind(&*center);
        for value in values {
            query = query.bind(value);
        }
        let bodies = query.bind(limit as i64).fetch_all(&self.pool).await?;
        let mut found = Vec::with_capacity(bodies.len());
        for body in bodies {
            let case: Case = serde_json::from_str(&body)?;
            let notices = sqlx::query_scalar(&q(
                "SELECT number FROM notices WHERE case_id = ? AND center_id = ? ORDER BY given_at",
            ))
            .bind(case.id.to_string())
            .bind(&*center)
            .fetch_all(&self.pool)
            .await?;
            found.push(FoundCase { case, notices });
        }
        Ok(found)
    }

    async fn case_conflicts(&self, window: u32) -> StoreResult<Vec<CaseConflict>> {
        let sql = format!(
            "SELECT {CONFLICT_COLUMNS} FROM case_conflicts WHERE center_id = ? AND window_no = ? AND seen_at IS NULL \
             ORDER BY received_at, record_id LIMIT 50"
        );
        let rows = sqlx::query(&q(&sql))
            .bind(&*self.center_id().await?)
            .bind(i64::from(window))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(conflict_from_row).collect()
    }

    async fn conflicts_of(&self, records: &[Uuid]) -> StoreResult<Vec<CaseConflict>> {
        let (mut out, center) = (Vec::new(), self.center_id().await?);
        let sql = format!("SELECT {CONFLICT_COLUMNS} FROM case_conflicts WHERE record_id = ? AND center_id = ?");
        for id in records {
            let row = sqlx::query(&q(&sql)).bind(id.to_string()).bind(&*center).fetch_optional(&self.pool).await?;
            if let Some(row) = row {
                out.push(conflict_from_row(&row)?);
            }
        }
        Ok(out)
    }

    async fn mark_conflict_seen(&self, window: u32, record: Uuid, staff_id: &str, now: i64) -> StoreResult<bool> {
        let done = sqlx::query(&q(
            "UPDATE case_conflicts SET seen_by = ?, seen_at = ? WHERE record_id = ? AND window_no = ? AND seen_at IS NULL \
             AND center_id = ?",
        ))
        .bind(staff_id)
        .bind(now)
        .bind(record.to_string())
        .bind(i64::from(window))
        .bind(&*self.center_id().await?)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
