//! The board's export: `GET /api/v1/report` on a real server (the same bytes as `bianmin
//! report` makes from the same store, the content types, the CSV's byte-order mark, a clerk
//! refused, a bad query explained), and the terminal's backend saving this month's report as
//! HTML and CSV under the data directory, saying 报表已保存 only when the files are there.

use crate::common;

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Duration;

use bianmin::api::Problem;
use bianmin::api::queue::IssueTicket;
use bianmin::api::report::{PeriodKind, ReportFormat, ReportQuery};
use bianmin::config::Settings;
use bianmin::documents::report::render;
use bianmin::domain::report::Period;
use bianmin::domain::staff::Role;
use bianmin::domain::time::china_offset;
use bianmin::server;
use bianmin::tui::app::{AppCommand, AppEvent, BackendEvent};
use bianmin::tui::backend::{self, Credentials, ServerUrl};
use bianmin::tui::catalogue;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use common::server::{PASSWORD, TestServer, signed_in_client};

const BOM: &[u8] = "\u{feff}".as_bytes();

/// China time on Monday 2026-11-30.
fn at(h: u32, m: u32) -> DateTime<Utc> {
    china_offset().with_ymd_and_hms(2026, 11, 30, h, m, 0).unwrap().with_timezone(&Utc)
}

async fn a_served_ticket(s: &TestServer) {
    s.clock.0.store(at(9, 0).timestamp(), Ordering::SeqCst);
    let now = at(9, 0);
    let granted =
        server::admin::add_device(s.state.store.as_ref(), "命令行:test", Role::Kiosk, None, now).await.unwrap();
    let mut kiosk = s.client();
    kiosk.set_token(Some(granted.token));
    kiosk.issue_ticket(&IssueTicket::new('A')).await.unwrap();
    let clerk = signed_in_client(&s.base, "s001").await;
    s.clock.0.store(at(9, 5).timestamp(), Ordering::SeqCst);
    clerk.call_next(1).await.unwrap();
    clerk.start_service(1).await.unwrap();
    s.clock.0.store(at(9, 20).timestamp(), Ordering::SeqCst);
    clerk.finish_service(1).await.unwrap();
    s.clock.0.store(at(16, 0).timestamp(), Ordering::SeqCst);
}

async fn get(s: &TestServer, token: &str, query: &str) -> reqwest::Response {
    s.get(&format!("/api/v1/report?{query}"), token).await
}

#[tokio::test]
async fn the_report_route_serves_the_clis_report_to_the_director_and_refuses_a_clerk() {
    let s = TestServer::start().await;
    a_served_ticket(&s).await;
    crate::board::director(&s).await;
    let boss = s.sign_in("z001").await;

    // CSV: Excel's content type, a byte-order mark, and the very bytes the CLI's path makes
    // from the same store at the same server time.
    let csv = get(&s, &boss, "period=month&format=csv").await;
    assert_eq!(csv.status(), 200);
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let disposition = csv.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert_eq!(disposition, "attachment; filename=\"report-2026-11-01_2026-11-30.csv\"");
    let csv = csv.bytes().await.unwrap();
    assert!(csv.starts_with(BOM), "no BOM: {:?}", &csv[..8.min(csv.len())]);
    let month = Period {
        from: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
        to: NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
    };
    let loaded =
        server::service::report::load(s.state.store.as_ref(), month, &s.state.opening_hours, at(16, 0)).await.unwrap();
    assert_eq!(loaded.report.tickets_served, 1, "the day's ticket is in the month");
    assert_eq!(&csv[..], render(&loaded.report, &loaded.center, &loaded.names, ReportFormat::Csv));

    // HTML: the printable page with its title; one day by date.
    let html = get(&s, &boss, "period=day&from=2026-11-30&format=html").await;
    assert_eq!(html.status(), 200);
    assert_eq!(html.headers()["content-type"], "text/html; charset=utf-8");
    let html = html.text().await.unwrap();
    assert!(html.contains("服务情况统计  2026年11月30日") && html.contains("<svg"), "{html}");
    let text = get(&s, &boss, "period=range&from=2026-11-01&to=2026-11-30&format=text").await;
    assert_eq!(text.headers()["content-type"], "text/plain; charset=utf-8");
    assert!(text.text().await.unwrap().contains("2026年11月01日 至 2026年11月30日"));

    // A bad query: 400 with what to write, in Chinese.
    for (query, says) in [
        ("period=range&from=2026-11-30&format=csv", "结束日期"),
        ("period=range&from=2026-11-30&to=2026-11-01&format=csv", "晚于"),
        ("period=week&format=csv", "period 须为"),
        ("period=month&format=pdf", "format 须为"),
    ] {
        let response = get(&s, &boss, query).await;
        assert_eq!(response.status(), 400, "{query}");
        let problem: Problem = response.json().await.unwrap();
        assert!(problem.title.contains(says), "{query}: {}", problem.title);
    }

    // A clerk reads everyone's figures nowhere: refused, as problem+json.
    let clerk = s.sign_in("s001").await;
    let refused = get(&s, &clerk, "period=month&format=csv").await;
    assert_eq!(refused.status(), 403);
    let problem: Problem = refused.json().await.unwrap();
    assert_eq!(problem.code, "forbidden");

    // The client takes the file name the server suggests.
    let director = signed_in_client(&s.base, "z001").await;
    let file = director
        .report(&ReportQuery { period: PeriodKind::Day, from: None, to: None, format: ReportFormat::Html })
        .await
        .unwrap();
    assert_eq!(file.file_name, "report-2026-11-30.html");
    s.stop().await;
}

fn settings(dir: &Path, server: String) -> Settings {
    let mut settings = Settings { data_dir: dir.display().to_string(), ..Settings::default() };
    settings.terminal.server = server;
    settings.network.connect_timeout_ms = 1_000;
    settings.network.request_timeout_ms = 10_000;
    settings
}

/// Signs `staff_id` in through a backend on `dir`, sends the export, and returns the message it
/// answers with (the key is pressed on a board already shown, so after the session is the
/// backend's: asked again while the backend is still signing in).
async fn export_as(s: &TestServer, dir: &Path, staff_id: &str) -> String {
    let settings = settings(dir, s.base.clone());
    let credentials = Credentials { staff_id: staff_id.into(), password: PASSWORD.into() };
    let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let job = catalogue::spawn(tx.clone());
    let handle =
        backend::spawn(settings.clone(), ServerUrl::At(settings.terminal.server.clone()), Some(credentials), tx, job);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut sent = false;
    let mut answer = None;
    while answer.is_none() {
        let event = tokio::time::timeout_at(deadline, events.recv()).await.expect("no answer in time").unwrap();
        match event {
            AppEvent::Backend(BackendEvent::SignedIn(_)) if !sent => {
                handle.send(AppCommand::ExportReport);
                sent = true;
            }
            // Signed in, but the session not yet handed to the command task: asked again.
            AppEvent::Backend(BackendEvent::Message(m)) if sent && m.contains("请先登录") => {
                tokio::time::sleep(Duration::from_millis(100)).await;
                handle.send(AppCommand::ExportReport);
            }
            AppEvent::Backend(BackendEvent::Message(m)) if sent && m.contains("报表") => answer = Some(m),
            _ => {}
        }
    }
    handle.stop(Duration::from_secs(3)).await;
    answer.unwrap()
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir).map_or(Vec::new(), |d| d.map(|e| e.unwrap().path()).collect());
    files.sort();
    files
}

#[tokio::test]
async fn the_backend_saves_this_months_report_and_says_so_only_when_it_is_on_disk() {
    let s = TestServer::start().await;
    a_served_ticket(&s).await;
    crate::board::director(&s).await;

    let home = tempfile::tempdir().unwrap();
    let message = export_as(&s, home.path(), "z001").await;
    let reports = home.path().join("reports");
    let html = reports.join("report-2026-11-01_2026-11-30.html");
    let csv = reports.join("report-2026-11-01_2026-11-30.csv");
    assert_eq!(message, format!("报表已保存：{}（及同名 .csv）", html.display()));
    assert_eq!(files_in(&reports), [csv.clone(), html.clone()], "both files, no leftovers");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("服务情况统计  2026年11月01日 至 2026年11月30日"), "{page}");
    let sheet = std::fs::read(&csv).unwrap();
    assert!(sheet.starts_with(BOM) && String::from_utf8_lossy(&sheet).contains("服务情况统计"));

    // The server refuses a clerk: said so, nothing written.
    let clerk_home = tempfile::tempdir().unwrap();
    let message = export_as(&s, clerk_home.path(), "s001").await;
    assert!(message.starts_with("服务器拒绝导出报表：") && message.contains("不能使用此功能"), "{message}");
    assert!(files_in(&clerk_home.path().join("reports")).is_empty());

    // Where the files cannot be written (here a file stands where the folder should be):
    // not saved, and not said to be.
    let blocked = tempfile::tempdir().unwrap();
    std::fs::write(blocked.path().join("reports"), b"").unwrap();
    let message = export_as(&s, blocked.path(), "z001").await;
    assert!(message.starts_with("报表未保存") && !message.contains("已保存"), "{message}");
    s.stop().await;
}

/// A full disk where the reports go: 磁盘已满, no file, nothing said saved; with room again the
/// same key saves it. Needs a small tmpfs (root); skipped, saying so, where there is none.
#[cfg(unix)]
#[tokio::test]
async fn a_full_disk_is_said_and_leaves_no_file() {
    let Some(disk) = common::disk::SmallDisk::mount() else {
        eprintln!("skipped: no small disk to fill");
        return;
    };
    let s = TestServer::start().await;
    a_served_ticket(&s).await;
    crate::board::director(&s).await;
    let home = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(disk.path(), home.path().join("reports")).unwrap();
    disk.fill();
    let message = export_as(&s, home.path(), "z001").await;
    assert_eq!(message, "磁盘已满，报表未保存");
    let left: Vec<PathBuf> =
        files_in(disk.path()).into_iter().filter(|p| p.to_string_lossy().contains("report")).collect();
    assert!(left.is_empty(), "{left:?}");
    disk.free();
    let message = export_as(&s, home.path(), "z001").await;
    assert!(message.starts_with("报表已保存："), "{message}");
    assert!(home.path().join("reports/report-2026-11-01_2026-11-30.html").exists());
    s.stop().await;
}
