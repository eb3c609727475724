//! `bianmin`: with no arguments the clerk terminal; subcommands for the server and scriptable
//! look-ups.

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};

use bianmin::config::Settings;
use bianmin::domain::calendar::WorkCalendar;
use bianmin::server::{self, ServerConfig};
use bianmin::tui::backend::Credentials;

const HELP_TEMPLATE: &str = "{before-help}{name} {version}\n{about}\n\n用法: {usage}\n\n{all-args}{after-help}";

#[derive(Debug, Parser)]
#[command(
    name = "bianmin",
    version,
    about = "便民 —— 乡镇便民服务中心窗口终端与同步服务",
    long_about = "便民 —— 乡镇便民服务中心窗口终端与同步服务。\n\n不带参数运行即打开窗口终端：未配置服务器时单机运行（本机内置服务，数据保存在用户数据目录）。",
    help_template = HELP_TEMPLATE,
    disable_help_flag = true,
    disable_version_flag = true,
    disable_help_subcommand = true,
    subcommand_help_heading = "子命令",
    next_help_heading = "选项"
)]
struct Cli {
    /// 配置文件路径（默认：用户配置目录下的 config.toml）
    #[arg(long, global = true, value_name = "PATH", env = "BIANMIN_CONFIG")]
    config: Option<PathBuf>,
    /// 连接远程服务器（例如 https://bianmin.example.gov.cn）；不填则单机运行
    #[arg(long, value_name = "URL")]
    server: Option<String>,
    /// 咨询导办台：以搜索为主的界面（咨询导办人员登录时自动使用）
    #[arg(long)]
    desk: bool,
    /// 显示帮助
    #[arg(short = 'h', long, global = true, action = clap::ArgAction::Help)]
    help: Option<bool>,
    /// 显示版本
    #[arg(short = 'V', long, action = clap::ArgAction::Version)]
    version: Option<bool>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// 只运行服务器（供多台窗口终端连接）
    #[command(help_template = HELP_TEMPLATE, next_help_heading = "选项")]
    Serve(ServeArgs),
    /// 工作日计算（按国务院节假日安排，含调休）
    #[command(subcommand, help_template = HELP_TEMPLATE, subcommand_help_heading = "子命令")]
    Workdays(WorkdaysCommand),
    /// 办事指南：搜索事项、查看完整指南
    #[command(subcommand, help_template = HELP_TEMPLATE, subcommand_help_heading = "子命令")]
    Guides(GuidesCommand),
    /// 排队取号（自助取号机、导办台），需连接服务器
    #[command(subcommand, help_template = HELP_TEMPLATE, subcommand_help_heading = "子命令")]
    Ticket(TicketCommand),
    /// 账号与窗口排班管理（直接操作服务器数据库，与 serve 相同）
    #[command(help_template = HELP_TEMPLATE, subcommand_help_heading = "子命令", next_help_heading = "选项")]
    Admin(AdminArgs),
    /// 导入数据（直接写入服务器数据库，与 serve 相同）
    #[command(subcommand, help_template = HELP_TEMPLATE, subcommand_help_heading = "子命令")]
    Import(ImportCommand),
    /// 咨询词库：补充群众的说法（直接写入服务器数据库；各终端下次同步后生效）
    #[command(subcommand, help_template = HELP_TEMPLATE, subcommand_help_heading = "子命令")]
    Lexicon(LexiconCommand),
}

#[derive(Debug, Subcommand)]
enum LexiconCommand {
    /// 把一个说法加入同义词组：与 --like 的词同组；--like 的词不在任何组时新建一组
    #[command(help_template = HELP_TEMPLATE, next_help_heading = "选项")]
    Add {
        /// 群众的说法，例如 走了
        #[arg(help_heading = "参数")]
        word: String,
        /// 意思相同的词，例如 去世
        #[arg(long, value_name = "WORD")]
        like: String,
        /// 数据库地址：sqlite://PATH
        #[arg(long, value_name = "URL")]
        database: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum ImportCommand {
    /// 导入办事指南目录：先检查整个文件，有错误则逐条列出、一项也不导入（退出码 2）；否则在一个事务中全部写入，内容有变的事项版本号加 1
    #[command(help_template = HELP_TEMPLATE, next_help_heading = "选项")]
    Guides(ImportGuidesArgs),
    /// 导入咨询词库（TOML，与 assets/lexicon.toml 相同，格式见 docs/lexicon-format.md）：先检查整个文件，有错误则逐条列出、不导入（退出码 2）；否则整体替换
    #[command(help_template = HELP_TEMPLATE, next_help_heading = "选项")]
    Lexicon(ImportLexiconArgs),
}

#[derive(Debug, Args)]
struct ImportLexiconArgs {
    /// 词库文件（TOML）
    #[arg(help_heading = "参数", value_name = "FILE")]
    file: PathBuf,
    /// 数据库地址：sqlite://PATH（默认：配置中的服务器数据库）
    #[arg(long, value_name = "URL")]
    database: Option<String>,
    /// 只检查文件，不写入数据库
    #[arg(long)]
    dry_run: bool,
}

#[derive(Debug, Args)]
struct ImportGuidesArgs {
    /// 目录文件：JSON（与 assets/guides.json 相同），或以 .toml 结尾的 TOML；格式见 docs/catalogue-format.md
    #[arg(help_heading = "参数", value_name = "FILE")]
    file: PathBuf,
    /// 数据库地址：sqlite://PATH（默认：配置中的服务器数据库）
    #[arg(long, value_name = "URL")]
    database: Option<String>,
    /// 只检查文件并列出将新增、更新的事项，不写入数据库
    #[arg(long)]
    dry_run: bool,
}

#[derive(Debug, Args)]
struct AdminArgs {
    /// 数据库地址：sqlite://PATH（默认：配置中的服务器数据库）
    #[arg(long, value_name = "URL", global = true)]
    database: Option<String>,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// 人员账号：添加、修改密码、停用、启用、列出
    #[command(subcommand, help_template = HELP_TEMPLATE, subcommand_help_heading = "子命令")]
    Staff(StaffCommand),
    /// 窗口排班：设置A岗和B岗
    #[command(subcommand, help_template = HELP_TEMPLATE, subcommand_help_heading = "子命令")]
    Roster(RosterCommand),
}

#[derive(Debug, Subcommand)]
enum StaffCommand {
    /// 添加人员。密码取自 BIANMIN_NEW_PASSWORD，未设置时询问两次（不回显），至少 8 个字符
    #[command(help_template = HELP_TEMPLATE, next_help_heading = "选项")]
    Add {
        /// 工号，例如 s008
        #[arg(help_heading = "参数")]
        id: String,
        /// 姓名
        #[arg(help_heading = "参数")]
        name: String,
        /// 角色：窗口人员、咨询导办 或 管理员
        #[arg(long, value_name = "角色", value_parser = parse_role)]
        role: bianmin::domain::staff::Role,
    },
    /// 修改密码（取自 BIANMIN_NEW_PASSWORD 或询问）；该人员已登录的终端随即退出登录
    #[command(help_template = HELP_TEMPLATE, next_help_heading = "参数")]
    Passwd {
        /// 工号
        id: String,
    },
    /// 停用账号，并立即退出其所有登录
    #[command(help_template = HELP_TEMPLATE, next_help_heading = "参数")]
    Disable {
        /// 工号
        id: String,
    },
    /// 解除登录锁定（密码输错次数过多后），该人员可立即重新登录
    #[command(help_template = HELP_TEMPLATE, next_help_heading = "参数")]
    Unlock {
        /// 工号
        id: String,
    },
    /// 重新启用账号
    #[command(help_template = HELP_TEMPLATE, next_help_heading = "参数")]
    Enable {
        /// 工号
        id: String,
    },
    /// 列出全部人员：工号、姓名、角色、状态、所在岗位
    #[command(help_template = HELP_TEMPLATE, next_help_heading = "选项")]
    List,
}

#[derive(Debug, Subcommand)]
enum RosterCommand {
    /// 设置窗口的A岗和B岗：两名不同的、启用的窗口人员
    #[command(help_template = HELP_TEMPLATE, next_help_heading = "选项")]
    Set {
        /// 窗口号
        #[arg(help_heading = "参数")]
        window: u32,
        /// A岗工号
        #[arg(long = "a", value_name = "工号")]
        a: String,
        /// B岗工号
        #[arg(long = "b", value_name = "工号")]
        b: String,
    },
}

fn parse_role(text: &str) -> Result<bianmin::domain::staff::Role, String> {
    use bianmin::domain::staff::Role;
    [Role::WindowClerk, Role::GuidanceDesk, Role::Admin]
        .into_iter()
        .find(|r| r.label() == text.trim())
        .ok_or_else(|| format!("角色应为 窗口人员、咨询导办 或 管理员，而不是“{text}”"))
}

#[derive(Debug, Subcommand)]
enum TicketCommand {
    /// 取一个号并打印号码（如 C001）。工号、密码取自 BIANMIN_STAFF_ID、BIANMIN_PASSWORD，未设置时询问
    #[command(help_template = HELP_TEMPLATE, next_help_heading = "选项")]
    Issue(IssueArgs),
}

#[derive(Debug, Args)]
struct IssueArgs {
    /// 排队类别字母，例如 C
    #[arg(long, value_name = "字母")]
    category: char,
    /// 绿色通道：老年人、残疾人、孕妇、军人 或 帮办代办
    #[arg(long, value_name = "类别", value_parser = parse_green)]
    priority: Option<bianmin::domain::ticket::GreenReason>,
    /// 服务器地址（默认取配置中的服务器）
    #[arg(long, value_name = "URL")]
    server: Option<String>,
}

fn parse_green(text: &str) -> Result<bianmin::domain::ticket::GreenReason, String> {
    text.parse().map_err(|e: bianmin::domain::Invalid| e.message)
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// 监听地址，例如 0.0.0.0:8734
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// 数据库地址：sqlite://PATH
    #[arg(long, value_name = "URL")]
    database: Option<String>,
}

#[derive(Debug, Subcommand)]
enum GuidesCommand {
    /// 搜索事项：汉字、全拼（yanglao）、首字母（cjrbt）或混合（残疾rbt），容许一处输错
    #[command(help_template = HELP_TEMPLATE, next_help_heading = "选项")]
    Search {
        /// 搜索词
        #[arg(help_heading = "参数")]
        query: String,
        /// 最多列出几条
        #[arg(long, value_name = "N", default_value_t = 10)]
        limit: usize,
        /// 以 JSON 数组输出（code、name、department、field、score、fuzzy）
        #[arg(long)]
        json: bool,
    },
    /// 显示一个事项的完整办事指南
    #[command(help_template = HELP_TEMPLATE, next_help_heading = "参数")]
    Show {
        /// 事项编码，例如 HB-QS-0027
        code: String,
    },
    /// 列出咨询导办未找到或搜索把握不大的问题（服务器数据库），并提示如何补别名
    #[command(help_template = HELP_TEMPLATE, next_help_heading = "选项")]
    Unanswered {
        /// 只列此日期（含）以后的咨询，YYYY-MM-DD
        #[arg(long, value_name = "DATE")]
        since: Option<NaiveDate>,
        /// 数据库地址：sqlite://PATH
        #[arg(long, value_name = "URL")]
        database: Option<String>,
    },
    /// 维护事项别名（服务器数据库；各终端下次同步后生效）
    #[command(subcommand)]
    Alias(AliasCommand),
}

#[derive(Debug, Subcommand)]
enum AliasCommand {
    /// 为事项添加一个别名，如群众的常见说法
    #[command(help_template = HELP_TEMPLATE, next_help_heading = "参数")]
    Add {
        /// 事项编码，例如 HB-QS-0067
        code: String,
        /// 别名，例如 身份证照片
        alias: String,
        /// 数据库地址：sqlite://PATH
        #[arg(long, value_name = "URL", help_heading = "选项")]
        database: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum WorkdaysCommand {
    /// 受理日期加 N 个工作日，输出办结期限（YYYY-MM-DD）
    #[command(help_template = HELP_TEMPLATE, next_help_heading = "参数")]
    Add {
        /// 受理日期 YYYY-MM-DD
        date: NaiveDate,
        /// 工作日数
        days: u32,
    },
    /// 两个日期之间的工作日数（不含起始日，含结束日）
    #[command(help_template = HELP_TEMPLATE, next_help_heading = "参数")]
    Between { from: NaiveDate, to: NaiveDate },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let _ = color_eyre::install();
    let env = std::env::vars().collect::<Vec<_>>();
    let mut settings = match Settings::load(cli.config.as_deref(), env) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    if let Some(server) = cli.server {
        settings.terminal.server = server;
    }
    if cli.desk {
        settings.terminal.desk = true;
    }
    match cli.command {
        Some(Command::Workdays(command)) => workdays(command),
        Some(Command::Guides(GuidesCommand::Unanswered { since, database })) => {
            if let Some(database) = database {
                settings.server.database = database;
            }
            run_async(settings, false, move |settings| guides_unanswered(settings, since))
        }
        Some(Command::Guides(GuidesCommand::Alias(AliasCommand::Add { code, alias, database }))) => {
            if let Some(database) = database {
                settings.server.database = database;
            }
            run_async(settings, false, move |settings| guides_alias_add(settings, code, alias))
        }
        Some(Command::Guides(command)) => guides(command, &settings),
        Some(Command::Ticket(TicketCommand::Issue(args))) => {
            run_async(settings, false, move |settings| issue_ticket(settings, args))
        }
        Some(Command::Admin(args)) => {
            if let Some(database) = args.database {
                settings.server.database = database;
            }
            run_async(settings, false, move |settings| admin(settings, args.command))
        }
        Some(Command::Import(ImportCommand::Lexicon(args))) => {
            if let Some(database) = args.database.clone() {
                settings.server.database = database;
            }
            import_lexicon(settings, args)
        }
        Some(Command::Lexicon(LexiconCommand::Add { word, like, database })) => {
            if let Some(database) = database {
                settings.server.database = database;
            }
            run_async(settings, false, move |settings| lexicon_add(settings, word, like))
        }
        Some(Command::Import(ImportCommand::Guides(args))) => {
            if let Some(database) = args.database.clone() {
                settings.server.database = database;
            }
            import_guides(settings, args)
        }
        Some(Command::Serve(args)) => {
            if let Some(listen) = args.listen {
                settings.server.listen = listen;
            }
            if let Some(database) = args.database {
                settings.server.database = database;
            }
            run_async(settings, true, serve)
        }
        None => run_async(settings, false, terminal),
    }
}

/// Logging and the runtime, shared by the terminal and the server.
fn run_async<F, Fut>(settings: Settings, log_to_stderr: bool, body: F) -> ExitCode
where
    F: FnOnce(Settings) -> Fut,
    Fut: std::future::Future<Output = color_eyre::Result<()>>,
{
    let data_dir = match settings.data_dir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = bianmin::config::make_private(&data_dir) {
        // Not fatal: the clerk's work goes on; the operator is told.
        eprintln!("警告：无法把数据目录 {} 设为仅本用户可读写：{e}", data_dir.display());
    }
    let _log_guard = match bianmin::logging::init(
        &data_dir.join("logs"),
        &settings.log.level,
        settings.log.keep_days,
        log_to_stderr,
    ) {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("无法写入日志目录 {}：{e}", data_dir.join("logs").display());
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("无法启动运行时：{e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(body(settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The chain, not the developer report: `serve` logs to the operator's stderr.
            tracing::error!(error = %format_args!("{e:#}"), "exited with an error");
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: Settings) -> color_eyre::Result<()> {
    let config = ServerConfig::from_settings(&settings)?;
    let options = server::ServeOptions {
        tls: server::tls::files_from_settings(&settings.server.tls_cert, &settings.server.tls_key)?,
        trust_forwarded_for: settings.server.trust_forwarded_for,
    };
    server::serve_until_signal(&config, &options).await
}

/// `bianmin admin ...`: acts on the server's database directly (seeding it first if it is new,
/// as `serve` would). Every change goes to the audit trail as `命令行:USER`.
async fn admin(settings: Settings, command: AdminCommand) -> color_eyre::Result<()> {
    use bianmin::server::admin;
    let config = ServerConfig::from_settings(&settings)?;
    let state = server::prepare(&config).await?;
    let store = state.store.as_ref();
    let actor = admin::cli_actor();
    let now = chrono::Utc::now();
    let ended = |n: u64| if n > 0 { format!("，已退出其 {n} 处登录") } else { String::new() };
    match command {
        AdminCommand::Staff(StaffCommand::Add { id, name, role }) => {
            let password = new_password()?;
            let staff = admin::add_staff(store, &actor, &id, &name, role, &password, now).await?;
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
            let lines = admin::list(store).await?;
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
        AdminCommand::Staff(StaffCommand::List) => print!("{}", admin::format_list(&admin::list(store).await?)),
        AdminCommand::Roster(RosterCommand::Set { window, a, b }) => {
            let w = admin::set_roster(store, &actor, window, &a, &b, now).await?;
            println!("{} 号窗口（{}）：A岗 {}，B岗 {}", w.number, w.name, w.a_holder, w.b_holder);
        }
    }
    Ok(())
}

/// `bianmin import guides`: the whole file is checked before the database is touched. Exit 2
/// with every problem on stderr when anything is wrong (nothing imported), 1 when the database
/// fails, 0 after the import (or the dry run).
fn import_guides(settings: Settings, args: ImportGuidesArgs) -> ExitCode {
    use bianmin::cli::import::{Format, read_catalogue};
    let shown = bianmin::domain::text::clean_line(&args.file.display().to_string());
    // Bounded: a huge file or a device never fills memory.
    let bytes = match bianmin::cli::import::read_file_bounded(&args.file) {
        Ok(bytes) => bytes,
        Err(why) => {
            tracing::warn!(reason = %why, "import file refused before parsing");
            eprintln!("无法读取 {shown}：{why}");
            return ExitCode::from(2);
        }
    };
    let today = bianmin::domain::time::china_date(chrono::Utc::now());
    let catalogue = match read_catalogue(&bytes, Format::of_path(&args.file), today) {
        Ok(catalogue) => catalogue,
        Err(problems) => {
            for problem in &problems {
                eprintln!("{problem}");
            }
            eprintln!("{shown} 共有 {} 处错误，未导入任何事项", problems.len());
            return ExitCode::from(2);
        }
    };
    let source = args.file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or(shown);
    let dry_run = args.dry_run;
    run_async(settings, false, move |settings| import_into_store(settings, catalogue.guides, dry_run, source))
}

async fn import_into_store(
    settings: Settings,
    guides: Vec<bianmin::domain::guide::ServiceGuide>,
    dry_run: bool,
    source: String,
) -> color_eyre::Result<()> {
    use bianmin::cli::import::{self, Outcome};
    let database_url = settings.server_database_url()?;
    let outcome = if dry_run {
        // A dry run writes nothing, not even a new database: compare with what a new one would
        // start with, the bundled sample catalogue.
        let store =
            if sqlite_file_missing(&database_url) { None } else { Some(server::store::open(&database_url).await?) };
        match store {
            Some(store) if store.is_seeded().await? => {
                import::apply(store.as_ref(), &guides, true, "", &source, chrono::Utc::now()).await?
            }
            _ => {
                println!("数据库尚未建立：新数据库会先载入内置样例目录，以下与之比较");
                let bundled = bianmin::assets::bundled_catalogue()?.guides;
                let stored = bundled.into_iter().map(|g| (g.code.clone(), g)).collect();
                Outcome::DryRun(import::plan(&guides, &stored))
            }
        }
    } else {
        let config = ServerConfig::from_settings(&settings)?;
        let state = server::prepare(&config).await?;
        let actor = server::admin::cli_actor();
        import::apply(state.store.as_ref(), &guides, false, &actor, &source, chrono::Utc::now()).await?
    };
    for line in outcome.lines() {
        println!("{line}");
    }
    Ok(())
}

/// Whether `url` names an SQLite file that does not exist yet.
fn sqlite_file_missing(url: &str) -> bool {
    let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or("");
    let path = path.split('?').next().unwrap_or("");
    !path.is_empty() && !path.starts_with(':') && !std::path::Path::new(path).exists()
}

/// A new password: `BIANMIN_NEW_PASSWORD`, or asked twice without echo.
fn new_password() -> color_eyre::Result<String> {
    use bianmin::server::admin::check_new_password;
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

async fn terminal(settings: Settings) -> color_eyre::Result<()> {
    std::fs::create_dir_all(settings.data_dir()?)?;
    let credentials = if settings.is_standalone() {
        let seed = bianmin::assets::CenterSeed::bundled()?;
        let demo = if settings.terminal.desk { seed.demo_desk_sign_in } else { seed.demo_sign_in };
        let staff_id = Some(settings.terminal.standalone_staff_id.clone()).filter(|s| !s.is_empty()).unwrap_or(demo);
        Some(Credentials { staff_id, password: seed.sample_password })
    } else {
        // A remote terminal signs in on its sign-in screen (or resumes its kept session); a
        // scripted one may pass both variables.
        match (std::env::var("BIANMIN_STAFF_ID"), std::env::var("BIANMIN_PASSWORD")) {
            (Ok(staff_id), Ok(password)) => Some(Credentials { staff_id, password }),
            _ => None,
        }
    };
    bianmin::tui::run(settings, credentials).await
}

/// `bianmin ticket issue`: signs in, issues one ticket, prints its number, signs out.
async fn issue_ticket(settings: Settings, args: IssueArgs) -> color_eyre::Result<()> {
    use bianmin::api::queue::IssueTicket;
    use bianmin::client::ApiClient;
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

/// Reads a line without echoing it.
fn read_hidden(prompt: &str) -> color_eyre::Result<String> {
    use ratatui::crossterm::event::{Event, KeyCode, KeyEventKind, read};
    use ratatui::crossterm::terminal::{disable_raw_mode, enable_raw_mode};
    use std::io::Write;
    print!("{prompt}");
    std::io::stdout().flush()?;
    enable_raw_mode()?;
    let mut text = String::new();
    let result = loop {
        match read() {
            Ok(Event::Key(k)) if k.kind == KeyEventKind::Press => match k.code {
                KeyCode::Enter => break Ok(text),
                KeyCode::Backspace => {
                    text.pop();
                }
                KeyCode::Esc => break Err(color_eyre::eyre::eyre!("已取消登录")),
                KeyCode::Char('c') if k.modifiers.contains(ratatui::crossterm::event::KeyModifiers::CONTROL) => {
                    break Err(color_eyre::eyre::eyre!("已取消登录"));
                }
                KeyCode::Char(c) => text.push(c),
                _ => {}
            },
            Ok(_) => {}
            Err(e) => break Err(e.into()),
        }
    };
    disable_raw_mode()?;
    println!();
    result
}

fn workdays(command: WorkdaysCommand) -> ExitCode {
    let calendar = match WorkCalendar::from_json(include_str!("../assets/calendar/workdays.json")) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("内置工作日历有误：{e}");
            return ExitCode::FAILURE;
        }
    };
    let provisional_note = "（注：部分日期所在年份尚无国务院节假日安排，仅按周末计算，结果待定）";
    match command {
        WorkdaysCommand::Add { date, days } => {
            let deadline = calendar.add_working_days(date, days);
            println!("{}", deadline.date.format("%Y-%m-%d"));
            if deadline.provisional {
                eprintln!("{provisional_note}");
            }
        }
        WorkdaysCommand::Between { from, to } => {
            let (days, provisional) = calendar.working_days_between(from, to);
            println!("{days}");
            if provisional {
                eprintln!("{provisional_note}");
            }
        }
    }
    ExitCode::SUCCESS
}

/// The catalogue the `guides` subcommands read: the terminal's local cache of the synced
/// catalogue when there is one (so they work offline and show the center's real catalogue),
/// otherwise the sample catalogue bundled in the binary (a fresh machine).
fn load_catalogue_for_cli(settings: &Settings) -> Result<Vec<bianmin::domain::guide::ServiceGuide>, String> {
    let cached = settings.data_dir().ok().map(|d| d.join("bianmin-local.db")).filter(|p| p.exists());
    if let Some(path) = cached {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
        let guides = runtime.block_on(async {
            let (local, _) = bianmin::client::local::LocalStore::open(&path, chrono::Utc::now()).await.ok()?;
            let guides = local.guides().await.ok();
            local.close().await;
            guides
        });
        if let Some(guides) = guides.filter(|g| !g.is_empty()) {
            return Ok(guides);
        }
    }
    bianmin::assets::bundled_catalogue().map(|c| c.guides).map_err(|e| format!("无法读取办事指南目录：{e}"))
}

/// The server's database, prepared as `bianmin serve` would (created and seeded when new).
async fn server_store(settings: &Settings) -> color_eyre::Result<std::sync::Arc<dyn server::store::Store>> {
    let config = ServerConfig {
        listen: String::new(),
        database_url: settings.server_database_url()?,
        session_ttl_hours: settings.server.session_ttl_hours,
        max_body_bytes: settings.server.max_body_bytes,
    };
    Ok(server::prepare(&config).await?.store)
}

/// `bianmin import lexicon`: the whole file is checked first (exit 2 with every problem, nothing
/// written); then it replaces the stored lexicon in one write.
fn import_lexicon(settings: Settings, args: ImportLexiconArgs) -> ExitCode {
    use bianmin::domain::lexicon::Lexicon;
    let shown = bianmin::domain::text::clean_line(&args.file.display().to_string());
    let text = match std::fs::read(&args.file).map(String::from_utf8) {
        Ok(Ok(text)) => text,
        Ok(Err(_)) => {
            eprintln!("{shown} 不是 UTF-8 文本");
            return ExitCode::from(2);
        }
        Err(e) => {
            let why = match e.kind() {
                std::io::ErrorKind::NotFound => "文件不存在".to_owned(),
                std::io::ErrorKind::PermissionDenied => "没有读取权限".to_owned(),
                _ => e.to_string(),
            };
            eprintln!("无法读取 {shown}：{why}");
            return ExitCode::from(2);
        }
    };
    let lexicon = match Lexicon::from_toml(&text) {
        Ok(lexicon) => lexicon,
        Err(problems) => {
            for problem in &problems {
                eprintln!("{problem}");
            }
            eprintln!("{shown} 共有 {} 处错误，未导入", problems.len());
            return ExitCode::from(2);
        }
    };
    let summary = format!("虚词 {} 个，同义词组 {} 组", lexicon.filler.len(), lexicon.groups.len());
    if args.dry_run {
        println!("检查通过：{summary}（未写入）");
        return ExitCode::SUCCESS;
    }
    run_async(settings, false, move |settings| async move {
        let store = server_store(&settings).await?;
        let seq = store.put_lexicon(&lexicon).await?;
        tracing::info!(seq, "lexicon imported");
        println!("词库已导入（第 {seq} 版）：{summary}；各终端下次同步后生效");
        Ok(())
    })
}

/// `bianmin lexicon add WORD --like SYNONYM`.
async fn lexicon_add(settings: Settings, word: String, like: String) -> color_eyre::Result<()> {
    let store = server_store(&settings).await?;
    let (_, mut lexicon) = store.lexicon().await?.unwrap_or_default();
    match bianmin::cli::knowledge::add_synonym(&mut lexicon, &word, &like) {
        Ok(said) => {
            let seq = store.put_lexicon(&lexicon).await?;
            tracing::info!(seq, "lexicon word added");
            println!("{said}（词库第 {seq} 版）；各终端下次同步后生效");
            Ok(())
        }
        Err(why) => color_eyre::eyre::bail!(why),
    }
}

/// `bianmin guides unanswered`: the desk's questions the knowledge base does not answer yet.
async fn guides_unanswered(settings: Settings, since: Option<NaiveDate>) -> color_eyre::Result<()> {
    use bianmin::cli::knowledge::{unanswered, unanswered_lines};
    let store = server_store(&settings).await?;
    let (_, guides) = store.guides_since(0).await?;
    for line in unanswered_lines(&unanswered(store.as_ref(), &guides, since).await?) {
        println!("{line}");
    }
    Ok(())
}

/// `bianmin guides alias add CODE ALIAS`: a catalogue change the next sync carries.
async fn guides_alias_add(settings: Settings, code: String, alias: String) -> color_eyre::Result<()> {
    let store = server_store(&settings).await?;
    let actor = server::admin::cli_actor();
    match bianmin::cli::knowledge::add_alias(store.as_ref(), &code, &alias, &actor, chrono::Utc::now()).await {
        Ok(said) => {
            println!("{said}");
            Ok(())
        }
        Err(why) => color_eyre::eyre::bail!(why),
    }
}

/// Exit codes: 0 found, 1 nothing found, 2 an error (unknown code, unreadable catalogue).
fn guides(command: GuidesCommand, settings: &Settings) -> ExitCode {
    use bianmin::cli::guides::{search_command, show_command};
    let guides = match load_catalogue_for_cli(settings) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let mut out = std::io::stdout().lock();
    // What to say, and the exit code, when the command finds nothing.
    let (result, (nothing, nothing_code)) = match &command {
        GuidesCommand::Search { query, limit, json } => (
            search_command(&guides, query, *limit, *json, &mut out),
            (format!("没有找到与“{}”相关的事项", bianmin::domain::text::clean_line(query)), 1),
        ),
        GuidesCommand::Show { code } => (
            show_command(&guides, code, &mut out),
            (format!("没有编码为 {} 的事项", bianmin::domain::text::clean_line(code)), 2),
        ),
        // Dispatched in `main`: they act on the server's database.
        GuidesCommand::Unanswered { .. } | GuidesCommand::Alias(_) => return ExitCode::from(2),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("{nothing}");
            ExitCode::from(nothing_code)
        }
        // `bianmin guides search … | head`: the reader has what it wanted.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("无法输出结果：{e}");
            ExitCode::from(2)
        }
    }
}
