//! `bianmin admin ...`.

use super::read_hidden;
use crate::cli::args::*;
use crate::config::Settings;
use crate::server::{self, ServerConfig};

/// `bianmin admin ...`: acts on the server's database directly (seeding it first if it is new,
/// as `serve` would). Every change goes to the audit trail as `命令行:USER`.
pub async fn admin(settings: Settings, command: AdminCommand) -> color_eyre::Result<()> {
    use crate::server::admin;
    let config = ServerConfig::from_settings(&settings)?;
    let state = server::prepare(&config).await?;
    let store = state.store.as_ref();
    let actor = admin::cli_actor();
    let now = chrono::Utc::now();
    let ended = |n: u64| if n > 0 { format!("，已退出其 {n} 处登录") } else { String::new() };
    match command {
        AdminCommand::Staff(StaffCommand::Add { id, name, role, center }) => {
            let password = new_password()?;
            let staff = admin::add_staff_in(store, &actor, center.as_deref(), &id, &name, role, &password, now).await?;
            println!("已添加 {} {}（{}）", staff.id, staff.name, staff.role.label());
        }
        AdminCommand::Staff(StaffCommand::Passwd { id }) => {
            let password = new_password()?;
            let n = admin::change_password(store, &actor, &id, &password, now).await?;
            println!("已修改 {id} 的密码{}", ended(n));
        }
        AdminCommand::Staff(StaffCommand::Disable { id }) => {
            let n = admin::disable(store, &actor, &id, now).await?;
            println!("已停用 {id}{}", ended(n));
            // The roster of the account's own center (a database may hold several).
            let lines = admin::list(admin::handle_of(store, &id).await?.as_ref()).await?;
            if let Some(line) = lines.iter().find(|l| l.staff.id == id && !l.posts.is_empty()) {
                let windows: Vec<String> = line.posts.iter().map(|(w, _)| format!("{w} 号窗口")).collect();
                println!("注意：{id} 仍在 {} 的岗位上，请用 bianmin admin roster set 调整", windows.join("、"));
            }
        }
        AdminCommand::Staff(StaffCommand::Unlock { id }) => {
            let n = admin::unlock(store, &actor, &id, now).await?;
            println!("已解除 {id} 的登录锁定（清除 {n} 次失败记录）");
        }
        AdminCommand::Staff(StaffCommand::Enable { id }) => {
            admin::enable(store, &actor, &id, now).await?;
            println!("已启用 {id}");
        }
        AdminCommand::Staff(StaffCommand::List) => {
            let centers = admin::list_centers(store).await?;
            if let [_] = centers.as_slice() {
                print!("{}", admin::format_list(&admin::list(store).await?));
            } else {
                // A county database: each center's staff under its name.
                for center in centers {
                    println!("{}（{}）", center.name, center.id);
                    print!("{}", admin::format_list(&admin::list(store.for_center(&center.id).as_ref()).await?));
                }
            }
        }
        AdminCommand::Roster(RosterCommand::Set { window, a, b, center }) => {
            let w = admin::set_roster_in(store, &actor, center.as_deref(), window, &a, &b, now).await?;
            println!("{} 号窗口（{}）：A岗 {}，B岗 {}", w.number, w.name, w.a_holder, w.b_holder);
        }
        AdminCommand::Slots(SlotsCommand::Set { category, slots, center }) => {
            let center = admin::chosen_center(store, center.as_deref(), "预约时段所属的中心").await?;
            let store = store.for_center(&center);
            let store = store.as_ref();
            let category = category.to_ascii_uppercase();
            let plans = slots
                .iter()
                .map(|text| crate::domain::appointment::SlotPlan::parse(category, text))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| color_eyre::eyre::eyre!("{}", e.message))?;
            let all = crate::server::service::queue::set_slot_plans(store, &actor, category, &plans, now)
                .await
                .map_err(|e| match e {
                    crate::server::store::QueueError::Invalid(problems) => color_eyre::eyre::eyre!(
                        "{}",
                        problems.iter().map(|p| p.message.as_str()).collect::<Vec<_>>().join("；")
                    ),
                    other => color_eyre::eyre::eyre!("{other}"),
                })?;
            tracing::info!(by = %actor, category = %category, count = plans.len(), "appointment slots set");
            println!("已设置 {category} 类预约时段 {} 个", plans.len());
            print_slots(&all);
        }
        AdminCommand::Slots(SlotsCommand::List { center }) => {
            let center = admin::chosen_center(store, center.as_deref(), "预约时段所属的中心").await?;
            print_slots(&crate::server::service::queue::slot_plans(store.for_center(&center).as_ref()).await?);
        }
        AdminCommand::Center(CenterCommand::List) => {
            for c in admin::list_centers(store).await? {
                println!("{}\t{}", c.id, c.name);
            }
        }
        AdminCommand::Guide(command) => println!("{}", guide_overlay(store, &actor, command, now).await?),
        AdminCommand::Center(CenterCommand::Add { code, name }) => {
            admin::add_center(store, &code, &name).await?;
        }
        AdminCommand::Device(DeviceCommand::Add { kind, window, center }) => {
            let granted = admin::add_device_in(store, &actor, center.as_deref(), kind, window, now).await?;
            let path = keep_device_token(&settings, &granted)?;
            println!("已添加 {}（{}）", granted.staff.id, granted.staff.name);
            print_token_place(&path, kind);
        }
        AdminCommand::Device(DeviceCommand::Token { id }) => {
            let granted = admin::renew_device_token(store, &actor, &id, now).await?;
            let path = keep_device_token(&settings, &granted)?;
            println!("已为 {}（{}）发放新令牌，旧令牌已失效", granted.staff.id, granted.staff.name);
            print_token_place(&path, granted.staff.role);
        }
    }
    Ok(())
}

/// `bianmin admin guide ...`: what to print.
async fn guide_overlay(
    store: &dyn crate::server::store::Store,
    actor: &str,
    command: GuideOverlayCommand,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<String, crate::server::admin::AdminError> {
    use crate::domain::text::clean_line;
    use crate::server::admin::{change_overlay, list_overlays};
    Ok(match command {
        GuideOverlayCommand::Hide(t) => {
            change_overlay(store, actor, t.center.as_deref(), &t.code, |o| o.hidden = true, now).await?;
            format!("已在本中心隐藏 {}；本中心各终端下次同步后生效", clean_line(&t.code))
        }
        GuideOverlayCommand::Show(t) => {
            change_overlay(store, actor, t.center.as_deref(), &t.code, |o| o.hidden = false, now).await?;
            format!("已在本中心恢复显示 {}", clean_line(&t.code))
        }
        GuideOverlayCommand::Alias { target: t, alias } => {
            let alias = alias.trim().to_owned();
            let added = alias.clone();
            change_overlay(store, actor, t.center.as_deref(), &t.code, move |o| o.aliases.push(added), now).await?;
            format!("已为 {} 添加本地别名“{}”；本中心各终端下次同步后即可搜到", clean_line(&t.code), clean_line(&alias))
        }
        GuideOverlayCommand::Unalias { target: t, alias } => {
            let gone = alias.trim().to_owned();
            change_overlay(store, actor, t.center.as_deref(), &t.code, move |o| o.aliases.retain(|a| *a != gone), now)
                .await?;
            format!("已删除 {} 的本地别名“{}”", clean_line(&t.code), clean_line(alias.trim()))
        }
        GuideOverlayCommand::SetWindow { target: t, location } => {
            let said = match &location {
                Some(l) => format!("{} 在本中心的办理地点已设为“{}”", clean_line(&t.code), clean_line(l)),
                None => format!("{} 已恢复县级目录的办理地点", clean_line(&t.code)),
            };
            change_overlay(store, actor, t.center.as_deref(), &t.code, move |o| o.location = location, now).await?;
            said
        }
        GuideOverlayCommand::SetPhone { target: t, consult, complaint } => {
            let said = if consult.is_none() && complaint.is_none() {
                format!("{} 已恢复县级目录的电话", clean_line(&t.code))
            } else {
                format!("已设置 {} 在本中心的电话", clean_line(&t.code))
            };
            let change = move |o: &mut crate::domain::overlay::GuideOverlay| {
                o.consult_phone = consult;
                o.complaint_phone = complaint;
            };
            change_overlay(store, actor, t.center.as_deref(), &t.code, change, now).await?;
            said
        }
        GuideOverlayCommand::List { center } => list_overlays(store, center.as_deref()).await?,
    })
}

/// Keeps a device's new token in this machine's data directory, owner-only. The token is never
/// printed: it would stay in the terminal's scrollback and the shell's logs.
fn print_slots(slots: &[crate::domain::appointment::SlotPlan]) {
    if slots.is_empty() {
        println!("尚未设置预约时段");
    }
    for slot in slots {
        println!("{slot}");
    }
}

fn keep_device_token(
    settings: &Settings,
    granted: &crate::server::admin::DeviceGranted,
) -> color_eyre::Result<std::path::PathBuf> {
    let word = crate::domain::staff::device_token_name(&granted.staff).unwrap_or_else(|| "device".into());
    let dir = settings.data_dir()?;
    Ok(crate::client::token::save_device_token(&dir, &word, &granted.staff.id, &granted.token)?)
}

fn print_token_place(path: &std::path::Path, kind: crate::domain::staff::Role) {
    let mode = match kind {
        crate::domain::staff::Role::Kiosk => "bianmin kiosk（或 bianmin ticket issue --category 字母）",
        crate::domain::staff::Role::Display => "bianmin display",
        crate::domain::staff::Role::OnlineChannel => {
            println!("网上预约渠道令牌已保存到 {}（仅本用户可读）。", path.display());
            println!(
                "把文件第二行的令牌交给政务服务网或小程序的后台（HTTP 头 Authorization: Bearer 令牌）；\
                 它只能查询剩余名额、预约、取消自己的预约"
            );
            return;
        }
        _ => "bianmin evaluator --window N",
    };
    println!("设备令牌已保存到 {}（仅本用户可读）。", path.display());
    println!(
        "在设备电脑上：把该文件复制到其数据目录（或设置环境变量 BIANMIN_DEVICE_TOKEN），再运行 {mode} --server URL"
    );
}

/// A new password: `BIANMIN_NEW_PASSWORD`, or asked twice without echo.
fn new_password() -> color_eyre::Result<String> {
    use crate::server::admin::check_new_password;
    use std::io::IsTerminal;
    if let Ok(password) = std::env::var("BIANMIN_NEW_PASSWORD") {
        check_new_password(&password)?;
        return Ok(password);
    }
    if !std::io::stdin().is_terminal() {
        color_eyre::eyre::bail!("请在终端中运行以输入新密码，或用环境变量 BIANMIN_NEW_PASSWORD 提供");
    }
    let first = read_hidden("新密码（至少 8 个字符）: ")?;
    check_new_password(&first)?;
    if read_hidden("再输入一次: ")? != first {
        color_eyre::eyre::bail!("两次输入的密码不一致");
    }
    Ok(first)
}
