//! `bianmin ticket issue`.

use super::read_hidden;
use crate::cli::args::*;
use crate::config::Settings;
use crate::tui::backend::Credentials;

/// `bianmin ticket issue`: signs in, issues one ticket, prints its number, signs out.
pub async fn issue_ticket(settings: Settings, args: IssueArgs) -> color_eyre::Result<()> {
    use crate::api::queue::IssueTicket;
    use crate::client::ApiClient;
    let server = args
        .server
        .or_else(|| Some(settings.terminal.server.clone()).filter(|s| !s.is_empty()))
        .ok_or_else(|| color_eyre::eyre::eyre!("取号需要连接服务器：请用 --server 指定服务器地址"))?;
    let credentials = prompt_credentials()?;
    let mut client = ApiClient::new(&server, &settings.network)?;
    client.sign_in(&credentials.staff_id, &credentials.password).await?;
    let request = IssueTicket { green: args.priority, ..IssueTicket::new(args.category.to_ascii_uppercase()) };
    let issued = client.issue_ticket(&request).await;
    let _ = client.sign_out().await;
    let ticket = issued?.ticket.ok_or_else(|| color_eyre::eyre::eyre!("服务器没有返回号码"))?;
    println!("{}", ticket.number);
    Ok(())
}

/// Staff id and password for a command-line client (`bianmin ticket issue`): from
/// BIANMIN_STAFF_ID / BIANMIN_PASSWORD, or asked for (the password without echo).
fn prompt_credentials() -> color_eyre::Result<Credentials> {
    use std::io::Write;
    let staff_id = match std::env::var("BIANMIN_STAFF_ID") {
        Ok(id) => id,
        Err(_) => {
            print!("工号: ");
            std::io::stdout().flush()?;
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            line.trim().to_owned()
        }
    };
    let password = match std::env::var("BIANMIN_PASSWORD") {
        Ok(p) => p,
        Err(_) => read_hidden("密码: ")?,
    };
    Ok(Credentials { staff_id, password })
}
