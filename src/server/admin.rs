//! Administration of accounts and the window roster: the `bianmin admin` commands (which act on
//! the store directly, like `bianmin serve`) and the admin routes (revoking sessions, reading the
//! audit trail).

use axum::Json;
use axum::extract::{Path, Query, State};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::AppState;
use super::access::Admin;
use super::audit::{self, Target};
use super::auth::hash_password;
use super::problem::ApiError;
use super::store::{SeedData, Store, StoreError};
use crate::api::accounts::{AuditEntry, LockCleared, MAX_AUDIT_LIMIT, SessionsRevoked};
use crate::domain::center::{Post, Window};
use crate::domain::staff::{Role, Staff};

pub const MIN_PASSWORD_CHARS: usize = 8;
/// Sign-in refuses longer passwords (and Argon2 should not hash megabytes).
pub const MAX_PASSWORD_BYTES: usize = 128;
const MAX_ID_CHARS: usize = 32;
const MAX_NAME_CHARS: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Refused(String),
    #[error("数据库出错：{0}")]
    Store(#[from] StoreError),
}

fn refused(message: impl Into<String>) -> AdminError {
    AdminError::Refused(message.into())
}

pub fn check_new_password(password: &str) -> Result<(), AdminError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(refused(format!("密码至少 {MIN_PASSWORD_CHARS} 个字符")));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(refused(format!("密码不能超过 {MAX_PASSWORD_BYTES} 个字节")));
    }
    if password.chars().any(char::is_control) {
        return Err(refused("密码不能含控制字符"));
    }
    if password.trim() != password {
        return Err(refused("密码首尾不能是空格"));
    }
    Ok(())
}

fn check_staff_id(id: &str) -> Result<(), AdminError> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.';
    if id.is_empty() || id.chars().count() > MAX_ID_CHARS || !id.chars().all(ok_char) {
        return Err(refused(format!("工号须为 1 至 {MAX_ID_CHARS} 个字母、数字或 - _ .")));
    }
    Ok(())
}

fn check_name(name: &str) -> Result<String, AdminError> {
    let name = crate::domain::text::clean_line(name).trim().to_owned();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(refused(format!("姓名须为 1 至 {MAX_NAME_CHARS} 个字")));
    }
    Ok(name)
}

/// `bianmin admin center list`.
pub async fn list_centers(store: &dyn Store) -> Result<Vec<crate::domain::center::Center>, AdminError> {
    Ok(store.centers().await?)
}

/// `bianmin admin center add`: a new center (a township joining the county database), with the
/// bundled center's window layout and queue categories and no staff yet (add them with `admin
/// staff add --center CODE`). The first center is the one seeded when the database is created.
pub async fn add_center(store: &dyn Store, code: &str, name: &str) -> Result<(), AdminError> {
    let layout = crate::assets::CenterSeed::bundled().map_err(|e| refused(format!("内置的中心模板无法读取：{e}")))?;
    let center = crate::domain::center::Center {
        id: code.to_owned(),
        name: name.to_owned(),
        address: String::new(),
        consult_phone: String::new(),
        complaint_phone: String::new(),
    };
    let seed = SeedData {
        center,
        categories: layout.categories,
        windows: layout.windows,
        staff: Vec::new(),
        guides: Vec::new(),
    };
    add_center_with(store, &seed).await
}

/// Adds the center of `seed` with its categories, windows and staff (its guides must be empty:
/// the catalogue is the county's). The code and name are checked as `admin center add` does.
pub async fn add_center_with(store: &dyn Store, seed: &SeedData) -> Result<(), AdminError> {
    let code = seed.center.id.as_str();
    let ok_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if code.is_empty() || code.chars().count() > MAX_ID_CHARS || !code.chars().all(ok_char) {
        return Err(refused(format!("中心代码须为 1 至 {MAX_ID_CHARS} 个字母、数字或 - _")));
    }
    let name = crate::domain::text::clean_line(&seed.center.name).trim().to_owned();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(refused("中心名称须为 1 至 64 个字"));
    }
    if !seed.guides.is_empty() {
        return Err(refused("新中心不带事项：事项目录是全县共用的"));
    }
    let centers = store.centers().await?;
    if let Some(same) = centers.iter().find(|c| c.id == code) {
        return Err(refused(format!("已有代码为 {code} 的中心（{}）", same.name)));
    }
    if centers.is_empty() {
        return Err(refused("数据库尚未初始化：第一个中心在首次启动服务（bianmin serve）时建立"));
    }
    let seed_named = SeedData {
        center: crate::domain::center::Center { name, ..seed.center.clone() },
        categories: seed.categories.clone(),
        windows: seed.windows.clone(),
        staff: seed.staff.clone(),
        guides: Vec::new(),
    };
    store.seed(&seed_named).await?;
    tracing::info!(code, "a center was added");
    Ok(())
}

/// Who acts from the command line, for the audit trail.
pub fn cli_actor() -> String {
    let user = std::env::var("USER").or_else(|_| std::env::var("USERNAME")).unwrap_or_default();
    let user: String = user.chars().filter(|c| !c.is_control()).take(32).collect();
    format!("命令行:{user}")
}

async fn audit_line(
    store: &dyn Store,
    actor: &str,
    action: &str,
    target_kind: &str,
    target_id: &str,
    window: Option<u32>,
    now: DateTime<Utc>,
) -> Result<(), AdminError> {
    let entry = AuditEntry {
        id: 0,
        at: now,
        claimed_at: None,
        staff_id: actor.to_owned(),
        window,
        action: action.to_owned(),
        target_kind: target_kind.to_owned(),
        target_id: target_id.to_owned(),
        addr: None,
        count: 1,
    };
    store.append_audit(&entry).await?;
    Ok(())
}

/// A handle acting where account `id` belongs: its center's, or the county's for a county
/// account. Admin commands change an account through it, so the account's own center gets the
/// audit line (and a database of several centers needs no `--center` to name an account).
pub async fn handle_of(store: &dyn Store, id: &str) -> Result<std::sync::Arc<dyn Store>, AdminError> {
    match store.staff_center(id).await? {
        Some(Some(center)) => Ok(store.for_center(&center)),
        Some(None) => Ok(store.for_county()),
        None => Err(refused(format!("没有工号为 {id} 的人员"))),
    }
}

async fn existing(store: &dyn Store, id: &str) -> Result<Staff, AdminError> {
    store.staff_credentials(id).await?.map(|c| c.staff).ok_or_else(|| refused(format!("没有工号为 {id} 的人员")))
}

async fn hash(password: &str) -> Result<String, AdminError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| refused(format!("无法计算密码摘要：{e}")))
}

/// The center a new account belongs to: the one named (`--center`), which must exist, or else
/// the database's only center (so one-center commands need no `--center`).
pub async fn center_of_new_account(store: &dyn Store, given: Option<&str>) -> Result<String, AdminError> {
    chosen_center(store, given, "新账号所属的中心").await
}

/// The center a command acts on: the one named (`--center`), which must exist, or else the
/// database's only center; on a database of several centers without `--center`, a refusal that
/// says to name `what`.
pub async fn chosen_center(store: &dyn Store, given: Option<&str>, what: &str) -> Result<String, AdminError> {
    let centers = store.centers().await?;
    match (given, centers.as_slice()) {
        (Some(code), _) => centers.iter().find(|c| c.id == code).map(|c| c.id.clone()).ok_or_else(|| {
            refused(format!("没有代码为 {code} 的中心（--center）；bianmin admin center list 列出全部中心"))
        }),
        (None, [only]) => Ok(only.id.clone()),
        (None, []) => Err(refused("数据库尚未初始化：第一个中心在首次启动服务（bianmin serve）时建立")),
        (None, _) => Err(refused(format!("本数据库有多个中心，请用 --center 指定{what}"))),
    }
}

/// `bianmin admin staff add`, in the database's only center.
pub async fn add_staff(
    store: &dyn Store,
    actor: &str,
    id: &str,
    name: &str,
    role: Role,
    password: &str,
    now: DateTime<Utc>,
) -> Result<Staff, AdminError> {
    add_staff_in(store, actor, None, id, name, role, password, now).await
}

/// `bianmin admin staff add [--center CODE]`.
#[allow(clippy::too_many_arguments, reason = "one argument per option of the command")]
pub async fn add_staff_in(
    store: &dyn Store,
    actor: &str,
    center: Option<&str>,
    id: &str,
    name: &str,
    role: Role,
    password: &str,
    now: DateTime<Utc>,
) -> Result<Staff, AdminError> {
    check_staff_id(id)?;
    let name = check_name(name)?;
    check_new_password(password)?;
    if role == Role::CountyAdmin {
        return add_county_admin(store, actor, center, id, name, password, now).await;
    }
    let center = center_of_new_account(store, center).await?;
    let store = store.for_center(&center);
    let store = store.as_ref();
    let staff = Staff { id: id.to_owned(), name, role, active: true };
    if !store.add_staff(&staff, &hash(password).await?, &center).await? {
        return Err(refused(format!("工号 {id} 已存在")));
    }
    audit_line(store, actor, "staff_added", "staff", id, None, now).await?;
    Ok(staff)
}

/// `bianmin admin staff add --role 县级管理员`: an account of no center.
async fn add_county_admin(
    store: &dyn Store,
    actor: &str,
    center: Option<&str>,
    id: &str,
    name: String,
    password: &str,
    now: DateTime<Utc>,
) -> Result<Staff, AdminError> {
    if center.is_some() {
        return Err(refused("县级管理员不属于任何中心，请不要写 --center"));
    }
    let store = store.for_county();
    let store = store.as_ref();
    let staff = Staff { id: id.to_owned(), name, role: Role::CountyAdmin, active: true };
    if !store.add_county_staff(&staff, &hash(password).await?).await? {
        return Err(refused(format!("工号 {id} 已存在")));
    }
    audit_line(store, actor, "staff_added", "staff", id, None, now).await?;
    Ok(staff)
}

/// `bianmin admin guide hide|show|alias|unalias|set-window|set-phone`: changes the overlay of
/// center `center` (default: the only one) on guide `code` by `change`.
pub async fn change_overlay(
    store: &dyn Store,
    actor: &str,
    center: Option<&str>,
    code: &str,
    change: impl FnOnce(&mut crate::domain::overlay::GuideOverlay),
    now: DateTime<Utc>,
) -> Result<(), AdminError> {
    use super::service::catalogue::OverlayError;
    let center = center_of_new_account(store, center).await?;
    let bound = store.for_center(&center);
    match super::service::catalogue::change_overlay(bound.as_ref(), &center, code.trim(), change, actor, now).await {
        Ok(_) => Ok(()),
        Err(OverlayError::Store(e)) => Err(e.into()),
        Err(e) => Err(refused(e.to_string())),
    }
}

/// `bianmin admin guide list`: a center's overlays, one guide a line.
pub async fn list_overlays(store: &dyn Store, center: Option<&str>) -> Result<String, AdminError> {
    use crate::domain::text::clean_line;
    let center = center_of_new_account(store, center).await?;
    let mut overlays: Vec<_> = store.overlays(&center).await?.into_iter().collect();
    overlays.sort_by(|a, b| a.0.cmp(&b.0));
    let mut lines = Vec::new();
    for (code, o) in overlays {
        let mut parts = Vec::new();
        if o.hidden {
            parts.push("已隐藏".to_owned());
        }
        if !o.aliases.is_empty() {
            parts.push(format!("本地别名：{}", o.aliases.iter().map(|a| clean_line(a)).collect::<Vec<_>>().join("、")));
        }
        if let Some(l) = &o.location {
            parts.push(format!("办理地点：{}", clean_line(l)));
        }
        if let Some(p) = &o.consult_phone {
            parts.push(format!("咨询电话：{}", clean_line(p)));
        }
        if let Some(p) = &o.complaint_phone {
            parts.push(format!("投诉电话：{}", clean_line(p)));
        }
        if !parts.is_empty() {
            lines.push(format!("{}\t{}", clean_line(&code), parts.join("；")));
        }
    }
    if lines.is_empty() {
        return Ok(format!("中心 {center} 没有对县级事项目录的设置"));
    }
    Ok(lines.join("\n"))
}

/// `bianmin admin staff passwd`: a new password, and every session of the account ends.
pub async fn change_password(
    store: &dyn Store,
    actor: &str,
    id: &str,
    password: &str,
    now: DateTime<Utc>,
) -> Result<u64, AdminError> {
    check_new_password(password)?;
    let store = handle_of(store, id).await?;
    let store = store.as_ref();
    if existing(store, id).await?.role.is_device() {
        return Err(refused(format!(
            "{id} 是设备账号，没有密码；请用 bianmin admin device token {id} 重新发放设备令牌"
        )));
    }
    store.set_password(id, &hash(password).await?).await?;
    let revoked = store.revoke_sessions(id).await?;
    audit_line(store, actor, "password_changed", "staff", id, None, now).await?;
    Ok(revoked)
}

/// How long a device's session lasts: a device signs in once, unattended, and keeps its token
/// until the admin issues a new one or disables the account.
pub const DEVICE_SESSION_DAYS: i64 = 3650;

/// A device account and its token (shown once, kept by the device only).
#[derive(Debug, Clone)]
pub struct DeviceGranted {
    pub staff: Staff,
    pub token: String,
}

/// `bianmin admin device add KIND [--window N]`: a kiosk or display numbered after the last one,
/// or the evaluator of window `window`; with a session of its own and no password (a device
/// never signs in with one).
pub async fn add_device(
    store: &dyn Store,
    actor: &str,
    role: Role,
    window: Option<u32>,
    now: DateTime<Utc>,
) -> Result<DeviceGranted, AdminError> {
    add_device_in(store, actor, None, role, window, now).await
}

/// As [`add_device`], for the center named by `--center` (default: the only one).
pub async fn add_device_in(
    store: &dyn Store,
    actor: &str,
    center: Option<&str>,
    role: Role,
    window: Option<u32>,
    now: DateTime<Utc>,
) -> Result<DeviceGranted, AdminError> {
    use crate::domain::staff::{device_account_id_in, device_name, device_number};
    let center = center_of_new_account(store, center).await?;
    let store = store.for_center(&center);
    let store = store.as_ref();
    if !role.is_device() {
        return Err(refused(format!("{}不是设备，请用 bianmin admin staff add 添加人员", role.label())));
    }
    let n = match (role, window) {
        (Role::Evaluator, None) => return Err(refused("评价器须用 --window 指定它面向的窗口号")),
        (Role::Evaluator, Some(w)) => {
            if !store.windows().await?.iter().any(|x| x.number == w) {
                return Err(refused(format!("没有 {w} 号窗口（--window）")));
            }
            w
        }
        (_, Some(_)) => return Err(refused(format!("{}面向整个大厅，不用指定窗口（--window）", role.label()))),
        (_, None) => {
            let word = role.device_word().unwrap_or_default();
            let taken = store.all_staff().await?.into_iter().filter_map(|s| device_number(&s.id, word));
            taken.max().unwrap_or(0) + 1
        }
    };
    // Staff ids are the county's: with several centers each center's devices carry its code.
    let several = store.centers().await?.len() > 1;
    let id = device_account_id_in(role, n, several.then_some(center.as_str())).unwrap_or_default();
    let staff = Staff { id: id.clone(), name: device_name(role, n), role, active: true };
    // Nobody knows this password: the device has only its token.
    let unusable = crate::server::auth::new_token();
    if !store.add_staff(&staff, &hash(&unusable).await?, &center).await? {
        return Err(refused(format!("{id} 已存在；要换新令牌请用 bianmin admin device token {id}")));
    }
    audit_line(store, actor, "device_added", "staff", &id, window, now).await?;
    let token = grant_device_session(store, &id, now).await?;
    Ok(DeviceGranted { staff, token })
}

/// `bianmin admin device token ID`: a new token for a device (the old one stops working), e.g.
/// after the device was replaced or its token copied somewhere it should not be.
pub async fn renew_device_token(
    store: &dyn Store,
    actor: &str,
    id: &str,
    now: DateTime<Utc>,
) -> Result<DeviceGranted, AdminError> {
    let store = handle_of(store, id).await?;
    let store = store.as_ref();
    let staff = existing(store, id).await?;
    if !staff.role.is_device() {
        return Err(refused(format!("{id} 不是设备账号")));
    }
    store.revoke_sessions(id).await?;
    let token = grant_device_session(store, id, now).await?;
    audit_line(store, actor, "device_token_renewed", "staff", id, None, now).await?;
    Ok(DeviceGranted { staff, token })
}

async fn grant_device_session(store: &dyn Store, id: &str, now: DateTime<Utc>) -> Result<String, AdminError> {
    let token = crate::server::auth::new_token();
    let expires = now + chrono::Duration::days(DEVICE_SESSION_DAYS);
    store.create_session(&crate::server::auth::token_hash(&token), id, now.timestamp(), expires.timestamp()).await?;
    Ok(token)
}

/// `bianmin admin staff disable`: the account can no longer sign in, and its sessions end.
/// Returns how many sessions ended.
pub async fn disable(store: &dyn Store, actor: &str, id: &str, now: DateTime<Utc>) -> Result<u64, AdminError> {
    let store = handle_of(store, id).await?;
    let store = store.as_ref();
    let staff = existing(store, id).await?;
    if staff.role == Role::Admin {
        let admins = store.all_staff().await?.into_iter().filter(|s| s.role == Role::Admin && s.active).count();
        if staff.active && admins <= 1 {
            return Err(refused("这是最后一个启用的管理员账号，不能停用"));
        }
    }
    store.set_active(id, false).await?;
    let revoked = store.revoke_sessions(id).await?;
    audit_line(store, actor, "staff_disabled", "staff", id, None, now).await?;
    Ok(revoked)
}

/// `bianmin admin staff enable`.
pub async fn enable(store: &dyn Store, actor: &str, id: &str, now: DateTime<Utc>) -> Result<(), AdminError> {
    let store = handle_of(store, id).await?;
    let store = store.as_ref();
    existing(store, id).await?;
    store.set_active(id, true).await?;
    audit_line(store, actor, "staff_enabled", "staff", id, None, now).await?;
    Ok(())
}

/// `bianmin admin staff unlock`: forgets the account's failed sign-ins, so it may sign in at once
/// from anywhere. Returns how many were forgotten.
pub async fn unlock(store: &dyn Store, actor: &str, id: &str, now: DateTime<Utc>) -> Result<u64, AdminError> {
    let store = handle_of(store, id).await?;
    let store = store.as_ref();
    existing(store, id).await?;
    let cleared = store.clear_login_failures(id).await?;
    audit_line(store, actor, "sign_in_unlocked", "staff", id, None, now).await?;
    Ok(cleared)
}

/// A staff member and the posts they hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffLine {
    pub staff: Staff,
    pub posts: Vec<(u32, Post)>,
}

/// `bianmin admin staff list`.
pub async fn list(store: &dyn Store) -> Result<Vec<StaffLine>, AdminError> {
    let windows = store.windows().await?;
    Ok(store
        .all_staff()
        .await?
        .into_iter()
        .map(|staff| {
            let posts = windows.iter().filter_map(|w| w.post_of(&staff.id).map(|p| (w.number, p))).collect();
            StaffLine { staff, posts }
        })
        .collect())
}

/// The list as printed: one line per staff member, tab-separated: 工号, 姓名, 角色, 状态, 岗位.
pub fn format_list(lines: &[StaffLine]) -> String {
    let mut out = String::from("工号\t姓名\t角色\t状态\t岗位\n");
    for l in lines {
        let posts: Vec<String> =
            l.posts.iter().map(|(w, p)| format!("{w}号窗{}岗", if *p == Post::A { "A" } else { "B" })).collect();
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\n",
            l.staff.id,
            l.staff.name,
            l.staff.role.label(),
            if l.staff.active { "启用" } else { "停用" },
            if posts.is_empty() { "-".to_owned() } else { posts.join("、") }
        ));
    }
    out
}

/// `bianmin admin roster set WINDOW --a ID --b ID`, in the database's only center.
pub async fn set_roster(
    store: &dyn Store,
    actor: &str,
    window: u32,
    a: &str,
    b: &str,
    now: DateTime<Utc>,
) -> Result<Window, AdminError> {
    set_roster_in(store, actor, None, window, a, b, now).await
}

/// `bianmin admin roster set WINDOW --a ID --b ID [--center CODE]`: both active window clerks of
/// that center, not the same.
pub async fn set_roster_in(
    store: &dyn Store,
    actor: &str,
    center: Option<&str>,
    window: u32,
    a: &str,
    b: &str,
    now: DateTime<Utc>,
) -> Result<Window, AdminError> {
    let center = chosen_center(store, center, "窗口所在的中心").await?;
    let store = store.for_center(&center);
    let store = store.as_ref();
    if a == b {
        return Err(refused("A岗与B岗不能是同一人"));
    }
    for (post, id) in [("A岗", a), ("B岗", b)] {
        let staff = existing(store, id).await?;
        if store.staff_center(id).await?.flatten().as_deref() != Some(center.as_str()) {
            return Err(refused(format!("{post} {id} 不是中心 {center} 的人员")));
        }
        if staff.role != Role::WindowClerk {
            return Err(refused(format!("{post} {id} 是{}，只有窗口人员可以担任窗口岗位", staff.role.label())));
        }
        if !staff.active {
            return Err(refused(format!("{post} {id} 的账号已停用")));
        }
    }
    // The same flow as the admin's route: nobody ends up at two windows; the audit line is
    // written with the change.
    let updated = super::service::duty::set_holders(store, window, a, b, actor, now).await.map_err(|e| match e {
        super::store::DutyError::Store(e) => AdminError::Store(e),
        super::store::DutyError::UnknownWindow(n) => refused(format!("没有 {n} 号窗口")),
        super::store::DutyError::Forbidden(why) | super::store::DutyError::Refused(why) => refused(why.message),
        super::store::DutyError::Invalid(problems) => {
            refused(problems.into_iter().map(|p| p.message).collect::<Vec<_>>().join("；"))
        }
    })?;
    Ok(updated)
}

/// Checks that `staff_id` is an account of the center `state` is bound to, for an admin route
/// that names one. An account of another center (or of the county) and an id nobody has get the
/// same 404 with the same message: a center's admin must not learn which ids exist elsewhere
/// (staff ids are the county's, so the lookup itself is county-wide). The log and the county's
/// audit trail say which it was; the center's own trail, which that admin reads, does not.
async fn staff_of_center(state: &AppState, who: &super::auth::SignedIn, staff_id: &str) -> Result<(), ApiError> {
    let here = state.store.bound_center().await?;
    let found = if staff_id.len() > 128 { None } else { state.store.staff_center(staff_id).await? };
    let why = match found {
        Some(Some(center)) if *center == *here => return Ok(()),
        Some(_) => "of_another_center",
        None => "unknown",
    };
    tracing::info!(by = %who.staff.id, center = %here, staff_id = %staff_id.chars().take(128).collect::<String>(), why, "staff id not in the caller's center");
    let target = Target::new("staff", staff_id.chars().take(128).collect::<String>());
    audit::record_for_county(state, &who.staff.id, &format!("refused:staff_{why}"), target).await;
    Err(ApiError::not_found("没有这个工号的人员"))
}

/// `DELETE /api/v1/staff/{staff_id}/lock`: clears a sign-in lock (a clerk who mistyped too often
/// and is now at the desk).
pub(super) async fn unlock_route(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path(staff_id): Path<String>,
) -> Result<Json<LockCleared>, ApiError> {
    let state = state.for_caller(&who)?;
    staff_of_center(&state, &who, &staff_id).await?;
    let cleared = state.store.clear_login_failures(&staff_id).await?;
    tracing::info!(by = %who.staff.id, staff_id = %staff_id, cleared, "sign-in lock cleared");
    audit::record_acting(&state, &who, "sign_in_unlocked", Target::new("staff", &staff_id)).await;
    Ok(Json(LockCleared { staff_id, cleared }))
}

/// `DELETE /api/v1/sessions/{staff_id}`: ends every session of a staff member at once (a lost
/// terminal, someone leaving).
pub(super) async fn revoke_sessions(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path(staff_id): Path<String>,
) -> Result<Json<SessionsRevoked>, ApiError> {
    let state = state.for_caller(&who)?;
    staff_of_center(&state, &who, &staff_id).await?;
    let revoked = state.store.revoke_sessions(&staff_id).await?;
    tracing::info!(by = %who.staff.id, staff_id = %staff_id, revoked, "sessions revoked");
    audit::record_acting(&state, &who, "sessions_revoked", Target::new("staff", &staff_id)).await;
    Ok(Json(SessionsRevoked { staff_id, revoked }))
}

#[derive(Debug, Deserialize)]
pub(super) struct AuditQuery {
    limit: Option<usize>,
    before: Option<i64>,
}

/// `GET /api/v1/audit?limit=N&before=ID`: the newest lines first.
pub(super) async fn audit_trail(
    State(state): State<AppState>,
    Admin(who): Admin,
    Query(q): Query<AuditQuery>,
) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    let state = state.for_caller(&who)?;
    let limit = q.limit.unwrap_or(100).clamp(1, MAX_AUDIT_LIMIT);
    Ok(Json(state.store.audit_trail(limit, q.before).await?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::store;

    async fn seeded() -> (tempfile::TempDir, std::sync::Arc<dyn Store>) {
        let dir = tempfile::tempdir().unwrap();
        let url = crate::config::sqlite_url(&dir.path().join("s.db"));
        let store = store::open(&url).await.unwrap();
        let mut seed = crate::server::seed::bundled_seed().unwrap();
        // Hashing nine sample passwords is slow in a unit test; one hash serves them all.
        let one = hash_password("bianmin-demo");
        for s in &mut seed.staff {
            s.password_hash = one.clone();
        }
        store.seed(&seed).await.unwrap();
        (dir, store)
    }

    #[tokio::test]
    async fn a_center_is_added_with_the_bundled_layout_and_its_staff_then_belong_to_it() {
        let (_dir, store) = seeded().await;
        let centers = list_centers(store.as_ref()).await.unwrap();
        assert_eq!(centers.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["qingshi"]);
        let refusal = |r: Result<(), AdminError>| match r {
            Err(AdminError::Refused(why)) => why,
            other => panic!("refused, not {other:?}"),
        };
        assert!(refusal(add_center(store.as_ref(), "qingshi", "青石镇").await).contains("已有代码为 qingshi"));
        assert!(refusal(add_center(store.as_ref(), "a b", "某镇").await).contains("中心代码"));
        assert!(refusal(add_center(store.as_ref(), "baishui", " ").await).contains("中心名称"));
        assert_eq!(list_centers(store.as_ref()).await.unwrap().len(), 1, "nothing was added");
        add_center(store.as_ref(), "baishui", "白水镇").await.unwrap();
        let centers = list_centers(store.as_ref()).await.unwrap();
        assert_eq!(centers.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["baishui", "qingshi"]);
        // The one-center handle now refuses to guess; each center's handle sees its own windows.
        assert!(matches!(store.windows().await, Err(StoreError::CenterNotChosen { centers: 2 })));
        let baishui = store.for_center("baishui");
        assert_eq!(baishui.windows().await.unwrap().len(), store.for_center("qingshi").windows().await.unwrap().len());
        add_staff_in(
            store.as_ref(),
            "命令行:t",
            Some("baishui"),
            "b001",
            "白水",
            Role::WindowClerk,
            "bianmin-new-1",
            Utc::now(),
        )
        .await
        .unwrap();
        assert_eq!(store.staff_center("b001").await.unwrap(), Some(Some("baishui".to_owned())));
        // An account is changed where it belongs, without naming its center.
        disable(store.as_ref(), "命令行:t", "b001", Utc::now()).await.unwrap();
        assert!(!baishui.all_staff().await.unwrap().iter().find(|s| s.id == "b001").unwrap().active);
    }

    #[tokio::test]
    async fn a_session_carries_the_center_of_its_staff_row() {
        let (_dir, store) = seeded().await;
        let now = Utc::now().timestamp();
        store.create_session("hash-1", "s001", now, now + 60).await.unwrap();
        let session = store.session("hash-1").await.unwrap().unwrap();
        assert_eq!((session.staff.id.as_str(), session.center.as_deref()), ("s001", Some("qingshi")));
        let added =
            add_staff(store.as_ref(), "命令行:t", "s900", "新人", Role::WindowClerk, "bianmin-new-1", Utc::now())
                .await
                .unwrap();
        store.create_session("hash-2", &added.id, now, now + 60).await.unwrap();
        let session = store.session("hash-2").await.unwrap().unwrap();
        assert_eq!(session.center.as_deref(), Some("qingshi"), "staff added later belong to the one center");
        let named = add_staff_in(
            store.as_ref(),
            "t",
            Some("qingshi"),
            "s901",
            "新人",
            Role::WindowClerk,
            "bianmin-new-1",
            Utc::now(),
        );
        assert_eq!(named.await.unwrap().id, "s901");
        let unknown = add_staff_in(
            store.as_ref(),
            "t",
            Some("baishui"),
            "s902",
            "新人",
            Role::WindowClerk,
            "bianmin-new-1",
            Utc::now(),
        );
        assert!(matches!(unknown.await, Err(AdminError::Refused(why)) if why.contains("没有代码为 baishui 的中心")));
        let device = add_device_in(store.as_ref(), "t", Some("baishui"), Role::Kiosk, None, Utc::now()).await;
        assert!(matches!(device, Err(AdminError::Refused(why)) if why.contains("--center")));
        assert!(store.staff_credentials("s902").await.unwrap().is_none(), "nothing added for an unknown center");
    }

    #[test]
    fn new_passwords_are_checked() {
        assert!(check_new_password("short").is_err());
        assert!(check_new_password("long enough").is_ok());
        assert!(check_new_password("八个汉字的密码啊").is_ok());
        assert!(check_new_password(&"x".repeat(129)).is_err());
        assert!(check_new_password("tab\tinside").is_err());
        assert!(check_new_password(" leading space").is_err());
    }

    #[tokio::test]
    async fn staff_are_added_disabled_enabled_and_listed() {
        let (_dir, store) = seeded().await;
        let store = store.as_ref();
        let now = Utc::now();
        let added = add_staff(store, "t", "s100", " 新人 ", Role::WindowClerk, "password1", now).await.unwrap();
        assert_eq!(added.name, "新人");
        let again = add_staff(store, "t", "s100", "新人", Role::WindowClerk, "password1", now).await.unwrap_err();
        assert_eq!(again.to_string(), "工号 s100 已存在");
        assert!(add_staff(store, "t", "bad id", "x", Role::WindowClerk, "password1", now).await.is_err());
        assert!(add_staff(store, "t", "s101", "x", Role::WindowClerk, "short", now).await.is_err());

        store.create_session("h1", "s100", now.timestamp(), now.timestamp() + 60).await.unwrap();
        assert_eq!(disable(store, "t", "s100", now).await.unwrap(), 1, "the session ended");
        assert!(store.session("h1").await.unwrap().is_none());
        let lines = list(store).await.unwrap();
        let line = lines.iter().find(|l| l.staff.id == "s100").unwrap();
        assert!(!line.staff.active);
        enable(store, "t", "s100", now).await.unwrap();
        assert!(existing(store, "s100").await.unwrap().active);
        assert!(disable(store, "t", "nobody", now).await.is_err());

        let printed = format_list(&list(store).await.unwrap());
        assert!(printed.contains("s001\t王丽\t窗口人员\t启用\t1号窗A岗"), "{printed}");
        assert!(printed.contains("s002\t李强\t窗口人员\t启用\t1号窗B岗、6号窗B岗"), "{printed}");

        let err = disable(store, "t", "admin", now).await.unwrap_err();
        assert!(err.to_string().contains("最后一个"), "{err}");

        let trail = store.audit_trail(10, None).await.unwrap();
        let actions: Vec<&str> = trail.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["staff_enabled", "staff_disabled", "staff_added"]);
    }

    #[tokio::test]
    async fn passwords_change_and_end_sessions() {
        let (_dir, store) = seeded().await;
        let store = store.as_ref();
        let now = Utc::now();
        store.create_session("h1", "s001", now.timestamp(), now.timestamp() + 60).await.unwrap();
        assert_eq!(change_password(store, "t", "s001", "a new password", now).await.unwrap(), 1);
        let hash = store.staff_credentials("s001").await.unwrap().unwrap().password_hash;
        assert!(crate::server::auth::verify_password("a new password", Some(&hash)));
        assert!(change_password(store, "t", "nobody", "a new password", now).await.is_err());
    }

    #[tokio::test]
    async fn the_roster_takes_two_different_active_window_clerks() {
        let (_dir, store) = seeded().await;
        let store = store.as_ref();
        let now = Utc::now();
        let w = set_roster(store, "t", 1, "s001", "s007", now).await.unwrap();
        assert_eq!((w.a_holder.as_str(), w.b_holder.as_str()), ("s001", "s007"));
        // s003 is on duty at window 2: not also A of window 1 (the route's rule, from the CLI too).
        let e = set_roster(store, "t", 1, "s003", "s001", now).await.unwrap_err();
        assert!(e.to_string().contains("s003 正在 2 号窗口"), "{e}");
        assert_eq!(w.name, "综合受理一号窗", "the rest of the window is kept");
        for (a, b, why) in [
            ("s001", "s001", "同一人"),
            ("d001", "s001", "咨询导办"),
            ("admin", "s001", "管理员"),
            ("s001", "nobody", "没有工号"),
        ] {
            let e = set_roster(store, "t", 1, a, b, now).await.unwrap_err();
            assert!(e.to_string().contains(why), "{a}/{b}: {e}");
        }
        assert!(set_roster(store, "t", 99, "s001", "s002", now).await.unwrap_err().to_string().contains("99"));
        disable(store, "t", "s004", now).await.unwrap();
        assert!(set_roster(store, "t", 1, "s001", "s004", now).await.unwrap_err().to_string().contains("停用"));
    }
}
