//! `bianmin ticket issue`.

use color_eyre::eyre::eyre;

use crate::api::Problem;
use crate::cli::args::*;
use crate::client::token::{DEVICE_TOKEN_ENV, device_token_file, load_device_token};
use crate::client::{ApiClient, ClientError};
use crate::config::Settings;
use crate::domain::staff::Role;

/// `bianmin ticket issue`: issues one ticket as this PC's kiosk device account (its token from
/// the data directory or `BIANMIN_DEVICE_TOKEN`) and prints its number. It never prompts: it runs
/// unattended, from scripts and without a terminal.
pub async fn issue_ticket(settings: Settings, args: IssueArgs) -> color_eyre::Result<()> {
    use crate::api::queue::IssueTicket;
    let server = device_server(&settings, args.server)?;
    let category = one_letter(&args.category)?;
    let client = device_client(&settings, &server, Role::Kiosk)?;
    let request = IssueTicket { green: args.priority, ..IssueTicket::new(category) };
    match client.issue_ticket(&request).await {
        Ok(change) => {
            let ticket = change.ticket.ok_or_else(|| eyre!("服务器没有返回号码"))?;
            println!("{}", ticket.number);
            Ok(())
        }
        Err(ClientError::Problem(p)) if !p.errors.is_empty() => Err(eyre!(refusal(&client, &p).await)),
        Err(ClientError::Problem(p)) if matches!(p.status, 401 | 403) => Err(eyre!(
            "服务器拒绝了本机的设备令牌（{}）：令牌已失效、设备已停用或不是自助取号机。\
             请在服务器上运行 bianmin admin device token kiosk-N 重新发放",
            p.title
        )),
        Err(e) => Err(eyre!("取号失败：{e}")),
    }
}

/// A client of `server` signed in as this PC's device of kind `role`, with the token kept in the
/// data directory (or `BIANMIN_DEVICE_TOKEN`). Never prompts.
pub(super) fn device_client(settings: &Settings, server: &str, role: Role) -> color_eyre::Result<ApiClient> {
    device_client_named(settings, server, role, role.device_word().unwrap_or("device"))
}

/// As [`device_client`], with the token file's name (`evaluator-2` for window 2's evaluator).
pub(super) fn device_client_named(
    settings: &Settings,
    server: &str,
    role: Role,
    word: &str,
) -> color_eyre::Result<ApiClient> {
    let dir = settings.data_dir()?;
    let token = load_device_token(&dir, word)?.ok_or_else(|| {
        eyre!(
            "本机没有{}的设备令牌（{}）。请在服务器上运行 bianmin admin device add {}，\
             把生成的令牌文件复制到本机数据目录，或设置环境变量 {DEVICE_TOKEN_ENV}",
            role.label(),
            dir.join(device_token_file(word)).display(),
            role.label()
        )
    })?;
    let mut client = ApiClient::new(server, &settings.network)?;
    client.set_token(Some(token));
    Ok(client)
}

/// The server a device talks to: `--server`, or the configured one.
pub(super) fn device_server(settings: &Settings, server: Option<String>) -> color_eyre::Result<String> {
    server
        .or_else(|| Some(settings.terminal.server.clone()).filter(|s| !s.is_empty()))
        .ok_or_else(|| eyre!("大厅设备需要连接服务器：请用 --server 指定服务器地址"))
}

/// The category as typed: one letter (case does not matter).
fn one_letter(text: &str) -> color_eyre::Result<char> {
    let mut chars = text.trim().chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c.is_ascii_alphabetic() => Ok(c.to_ascii_uppercase()),
        _ => Err(eyre!("排队类别（--category）应为一个字母，例如 A，而不是“{text}”")),
    }
}

/// Every field the server refused, named as the command line names it; for the category, the
/// categories the center has.
async fn refusal(client: &ApiClient, problem: &Problem) -> String {
    let mut lines = vec![format!("没有取号：{}", problem.title)];
    for e in &problem.errors {
        let (label, flag) = match e.field.as_str() {
            "category" => ("排队类别", "--category"),
            "green" | "priority" => ("绿色通道", "--priority"),
            other => (other, ""),
        };
        let flag = if flag.is_empty() { String::new() } else { format!("（{flag}）") };
        let mut line = format!("  {label}{flag}：{}", e.message);
        if e.field == "category"
            && let Ok(center) = client.center().await
        {
            let valid: Vec<String> = center.categories.iter().map(|c| format!("{} {}", c.letter, c.name)).collect();
            line.push_str(&format!("；可选：{}", valid.join("、")));
        }
        lines.push(line);
    }
    lines.join("\n")
}
