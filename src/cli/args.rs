//! The command line: what `bianmin` accepts, with Chinese help. `main` parses it and dispatches to
//! the handlers in [`super::commands`].

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};

pub const HELP_TEMPLATE: &str = "{before-help}{name} {version}\n{about}\n\n用法: {usage}\n\n{all-args}{after-help}";

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
pub struct Cli {
    /// 配置文件路径（默认：用户配置目录下的 config.toml）
    #[arg(long, global = true, value_name = "PATH", env = "BIANMIN_CONFIG")]
    pub config: Option<PathBuf>,
    /// 连接远程服务器（例如 https://bianmin.example.gov.cn）；不填则单机运行
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    /// 咨询导办台：以搜索为主的界面（咨询导办人员登录时自动使用）
    #[arg(long)]
    pub desk: bool,
    /// 显示帮助
    #[arg(short = 'h', long, global = true, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
    /// 显示版本
    #[arg(short = 'V', long, action = clap::ArgAction::Version)]
    pub version: Option<bool>,
    #[command(subcommand)]
    pub command: Option<CliCommand>,
}

#[derive(Debug, Subcommand)]
pub enum CliCommand {
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
    /// 自助取号机：全屏选择业务和绿色通道，打印 58mm 小票（GB18030 编码，经 terminal.print_command）；以本机取号机的设备令牌登录
    #[command(help_template = HELP_TEMPLATE, next_help_heading = "选项")]
    Kiosk(DeviceArgs),
    /// 大厅叫号屏：各窗口当前叫号（大字）、最近呼叫、各类等候人数、今日满意率，并语音播报；以本机叫号屏的设备令牌登录
    #[command(help_template = HELP_TEMPLATE, next_help_heading = "选项")]
    Display(DeviceArgs),
    /// 窗口评价器（面向办事群众的屏幕）：显示为您服务的工作人员、当前号码和办理进度，并请群众评价；以本机评价器的设备令牌登录
    #[command(help_template = HELP_TEMPLATE, next_help_heading = "选项")]
    Evaluator(EvaluatorArgs),
    /// 中心负责人看板：大厅实时状况、空岗告警、临期与超期办件、好差评与差评整改（交办、办结）、导办咨询；以中心负责人或管理员账号登录
    #[command(help_template = HELP_TEMPLATE, next_help_heading = "选项")]
    Board(DeviceArgs),
    /// 账号与窗口排班管理（直接操作服务器数据库，与 serve 相同）
    #[command(help_template = HELP_TEMPLATE, subcommand_help_heading = "子命令", next_help_heading = "选项")]
    Admin(AdminArgs),
    /// 导入数据（直接写入服务器数据库，与 serve 相同）
    #[command(subcommand, help_template = HELP_TEMPLATE, subcommand_help_heading = "子命令")]
    Import(ImportCommand),
    /// 咨询词库：补充群众的说法（直接写入服务器数据库；各终端下次同步后生效）
    #[command(subcommand, help_template = HELP_TEMPLATE, subcommand_help_heading = "子命令")]
    Lexicon(LexiconCommand),
    /// 监督统计报表：按人、按窗口、按事项、按类别（直接读取服务器数据库，与 admin 相同）
    #[command(help_template = HELP_TEMPLATE, subcommand_help_heading = "子命令", next_help_heading = "选项")]
    Report(ReportArgs),
    /// 预约：查看某天各时段剩余名额（直接读取服务器数据库，与 admin 相同）
    #[command(subcommand, help_template = HELP_TEMPLATE, subcommand_help_heading = "子命令")]
    Appointments(AppointmentsCommand),
    /// 把一个中心的服务器数据库（SQLite）迁移到县级数据库（PostgreSQL）：逐表分批复制，核对每张表的行数和内容摘要；中断后重新运行即接着迁移；已迁移完成的中心不会再迁移一次。运行前先停止该中心的服务器并备份两边的数据库
    #[command(help_template = HELP_TEMPLATE, next_help_heading = "选项")]
    Migrate(MigrateArgs),
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// 源数据库：中心服务器的 sqlite://PATH
    #[arg(long, value_name = "URL")]
    pub from: String,
    /// 目标数据库：县级服务器的 postgres://HOST/DATABASE（密码请用 PGPASSWORD 或 .pgpass，不要写在地址里）
    #[arg(long, value_name = "URL")]
    pub to: String,
    /// 只列出将要复制的表和行数，不复制
    #[arg(long)]
    pub dry_run: bool,
    /// 每批复制的行数（每批在县级库中一个事务）
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=20000))]
    pub batch_size: u32,
}

#[derive(Debug, Subcommand)]
pub enum AppointmentsCommand {
    /// 某天各预约时段的名额和剩余（余N、已满、不可约）
    #[command(help_template = HELP_TEMPLATE, next_help_heading = "选项")]
    Free {
        /// 日期 YYYY-MM-DD（默认：今天，北京时间）
        #[arg(long, value_name = "DATE")]
        day: Option<NaiveDate>,
        /// 只看这个排队类别（字母）
        #[arg(long, value_name = "字母")]
        category: Option<char>,
        /// 输出格式：text（表格）或 json
        #[arg(long, value_enum, default_value = "text")]
        format: FreeFormat,
        /// 数据库地址：sqlite://PATH（默认：配置中的服务器数据库）
        #[arg(long, value_name = "URL")]
        database: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FreeFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// 输出格式：text（终端）、csv（Excel/WPS，UTF-8 带 BOM）、html（可打印 A4，含图表）
    #[arg(long, value_enum, default_value = "text", global = true)]
    pub format: ReportFormat,
    /// 写入文件（默认：输出到屏幕）
    #[arg(long, value_name = "FILE", global = true)]
    pub out: Option<PathBuf>,
    /// 数据库地址：sqlite://PATH（默认：配置中的服务器数据库）
    #[arg(long, value_name = "URL", global = true)]
    pub database: Option<String>,
    #[command(subcommand)]
    pub period: ReportPeriod,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Text,
    Csv,
    Html,
}

#[derive(Debug, Subcommand)]
pub enum ReportPeriod {
    /// 日报（默认：今天）
    #[command(help_template = HELP_TEMPLATE, next_help_heading = "选项")]
    Day {
        /// 日期 YYYY-MM-DD
        #[arg(long, value_name = "DATE")]
        date: Option<NaiveDate>,
    },
    /// 月报（默认：本月）
    #[command(help_template = HELP_TEMPLATE, next_help_heading = "选项")]
    Month {
        /// 月份 YYYY-MM
        #[arg(long, value_name = "MONTH", value_parser = parse_month)]
        month: Option<NaiveDate>,
    },
    /// 任意起止日期（含首尾两天）
    #[command(help_template = HELP_TEMPLATE, next_help_heading = "选项")]
    Range {
        /// 开始日期 YYYY-MM-DD
        #[arg(long, value_name = "DATE")]
        from: NaiveDate,
        /// 结束日期 YYYY-MM-DD
        #[arg(long, value_name = "DATE")]
        to: NaiveDate,
    },
}

/// `2026-12` as the first day of that month.
pub fn parse_month(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(&format!("{}-01", text.trim()), "%Y-%m-%d")
        .map_err(|_| format!("月份“{text}”格式不对，应写成 2026-12"))
}

#[derive(Debug, Subcommand)]
pub enum LexiconCommand {
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
pub enum ImportCommand {
    /// 导入办事指南目录：先检查整个文件，有错误则逐条列出、一项也不导入（退出码 2）；否则在一个事务中全部写入，内容有变的事项版本号加 1
    #[command(help_template = HELP_TEMPLATE, next_help_heading = "选项")]
    Guides(ImportGuidesArgs),
    /// 导入咨询词库（TOML，与 assets/lexicon.toml 相同，格式见 docs/lexicon-format.md）：先检查整个文件，有错误则逐条列出、不导入（退出码 2）；否则整体替换
    #[command(help_template = HELP_TEMPLATE, next_help_heading = "选项")]
    Lexicon(ImportLexiconArgs),
}

#[derive(Debug, Args)]
pub struct ImportLexiconArgs {
    /// 词库文件（TOML）
    #[arg(help_heading = "参数", value_name = "FILE")]
    pub file: PathBuf,
    /// 数据库地址：sqlite://PATH（默认：配置中的服务器数据库）
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,
    /// 只检查文件，不写入数据库
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct ImportGuidesArgs {
    /// 目录文件：JSON（与 assets/guides.json 相同），或以 .toml 结尾的 TOML；格式见 docs/catalogue-format.md
    #[arg(help_heading = "参数", value_name = "FILE")]
    pub file: PathBuf,
    /// 数据库地址：sqlite://PATH（默认：配置中的服务器数据库）
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,
    /// 只检查文件并列出将新增、更新的事项，不写入数据库
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct AdminArgs {
    /// 数据库地址：sqlite://PATH（默认：配置中的服务器数据库）
    #[arg(long, value_name = "URL", global = true)]
    pub database: Option<String>,
    #[command(subcommand)]
    pub command: AdminCommand,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// 人员账号：添加、修改密码、停用、启用、列出
    #[command(subcommand, help_template = HELP_TEMPLATE, subcommand_help_heading = "子命令")]
    Staff(StaffCommand),
    /// 窗口排班：设置A岗和B岗
    #[command(subcommand, help_template = HELP_TEMPLATE, subcommand_help_heading = "子命令")]
    Roster(RosterCommand),
    /// 设备账号：自助取号机、叫号屏、评价器、网上预约渠道（凭令牌自动登录，不用密码）
    #[command(subcommand, help_template = HELP_TEMPLATE, subcommand_help_heading = "子命令")]
    Device(DeviceCommand),
    /// 预约时段：每个排队类别在工作日的时段和名额（精确到时段预约）
    #[command(subcommand, help_template = HELP_TEMPLATE, subcommand_help_heading = "子命令")]
    Slots(SlotsCommand),
    /// 中心（乡镇便民服务中心）：列出、添加
    #[command(subcommand, help_template = HELP_TEMPLATE, subcommand_help_heading = "子命令")]
    Center(CenterCommand),
    /// 本中心的事项设置（叠加在县级事项目录上）：隐藏、本地别名、办理地点、电话
    #[command(subcommand, help_template = HELP_TEMPLATE, subcommand_help_heading = "子命令")]
    Guide(GuideOverlayCommand),
}

/// `bianmin admin guide ...`: one center's overlay on the county catalogue. `--center` names the
/// center (default: the database's only center).
#[derive(Debug, Subcommand)]
pub enum GuideOverlayCommand {
    /// 在本中心隐藏一个事项：本中心各终端下次同步后不再有该事项
    #[command(help_template = HELP_TEMPLATE, next_help_heading = "参数")]
    Hide(OverlayTarget),
    /// 取消隐藏
    #[command(help_template = HELP_TEMPLATE, next_help_heading = "参数")]
    Show(OverlayTarget),
    /// 为事项添加本中心的本地别名（只有本中心的终端能搜到）
    #[command(help_template = HELP_TEMPLATE, next_help_heading = "参数")]
    Alias {
        #[command(flatten)]
        target: OverlayTarget,
        /// 别名，例如 办林权证
        alias: String,
    },
    /// 删除本中心的一个本地别名
    #[command(help_template = HELP_TEMPLATE, next_help_heading = "参数")]
    Unalias {
        #[command(flatten)]
        target: OverlayTarget,
        /// 要删除的本地别名
        alias: String,
    },
    /// 设置事项在本中心的办理地点（窗口）；不写地点即恢复县级目录的
    #[command(help_template = HELP_TEMPLATE, next_help_heading = "参数")]
    SetWindow {
        #[command(flatten)]
        target: OverlayTarget,
        /// 办理地点，例如 便民服务中心3号窗口
        location: Option<String>,
    },
    /// 设置事项在本中心的咨询电话和监督投诉电话；都不写即恢复县级目录的
    #[command(help_template = HELP_TEMPLATE, next_help_heading = "参数")]
    SetPhone {
        #[command(flatten)]
        target: OverlayTarget,
        /// 咨询电话
        #[arg(long, value_name = "电话", help_heading = "选项")]
        consult: Option<String>,
        /// 监督投诉电话
        #[arg(long, value_name = "电话", help_heading = "选项")]
        complaint: Option<String>,
    },
    /// 列出一个中心的全部事项设置
    #[command(help_template = HELP_TEMPLATE, next_help_heading = "选项")]
    List {
        /// 中心代码（默认：数据库中唯一的中心）
        #[arg(long, value_name = "代码")]
        center: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct OverlayTarget {
    /// 事项编码，例如 HB-QS-0027
    pub code: String,
    /// 中心代码（默认：数据库中唯一的中心）
    #[arg(long, value_name = "代码", help_heading = "选项")]
    pub center: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum CenterCommand {
    /// 列出本数据库的中心
    #[command(help_template = HELP_TEMPLATE)]
    List,
    /// 添加中心（一个乡镇）：按内置模板建立窗口和排队类别，人员另用 staff add --center 添加
    #[command(help_template = HELP_TEMPLATE, next_help_heading = "参数")]
    Add {
        /// 中心代码，例如 qingshi
        code: String,
        /// 中心名称
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum SlotsCommand {
    /// 设置一个类别的全部预约时段（替换原有时段；已有的预约不变），例如 set A 09:00-10:00/5 10:00-11:00/5；不写时段即不再接受该类别预约
    #[command(help_template = HELP_TEMPLATE, next_help_heading = "参数")]
    Set {
        /// 排队类别字母
        category: char,
        /// 时段：开始-结束/名额，办公时间 08:00-18:00 以内，互不重叠
        #[arg(value_name = "时段")]
        slots: Vec<String>,
        /// 中心的代码（默认：数据库中唯一的中心）
        #[arg(long, value_name = "代码")]
        center: Option<String>,
    },
    /// 列出所有类别的预约时段
    #[command(help_template = HELP_TEMPLATE, next_help_heading = "选项")]
    List {
        /// 中心的代码（默认：数据库中唯一的中心）
        #[arg(long, value_name = "代码")]
        center: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum DeviceCommand {
    /// 添加设备账号并发放令牌：令牌保存在本机数据目录的 device-<类型>.token（仅本用户可读），复制到设备电脑的数据目录即可
    #[command(help_template = HELP_TEMPLATE, next_help_heading = "选项")]
    Add {
        /// 设备类型：自助取号机（kiosk）、叫号屏（display）、评价器（evaluator）或 网上预约渠道（online）
        #[arg(help_heading = "参数", value_name = "类型", value_parser = parse_device)]
        kind: crate::domain::staff::Role,
        /// 评价器面向的窗口号
        #[arg(long, value_name = "N")]
        window: Option<u32>,
        /// 所属中心的代码（默认：数据库中唯一的中心）
        #[arg(long, value_name = "代码")]
        center: Option<String>,
    },
    /// 重新发放设备令牌：旧令牌立即失效（设备更换、令牌外泄时）
    #[command(help_template = HELP_TEMPLATE, next_help_heading = "参数")]
    Token {
        /// 设备账号，例如 kiosk-1、evaluator-2
        id: String,
    },
}

pub fn parse_device(text: &str) -> Result<crate::domain::staff::Role, String> {
    crate::domain::staff::Role::parse_device(text).ok_or_else(|| {
        format!(
            "设备类型应为 自助取号机（kiosk）、叫号屏（display）、评价器（evaluator）或 网上预约渠道（online），而不是“{text}”"
        )
    })
}

#[derive(Debug, Subcommand)]
pub enum StaffCommand {
    /// 添加人员。密码取自 BIANMIN_NEW_PASSWORD，未设置时询问两次（不回显），至少 8 个字符
    #[command(help_template = HELP_TEMPLATE, next_help_heading = "选项")]
    Add {
        /// 工号，例如 s008
        #[arg(help_heading = "参数")]
        id: String,
        /// 姓名
        #[arg(help_heading = "参数")]
        name: String,
        /// 角色：窗口人员、咨询导办、管理员、中心负责人 或 县级管理员（不属于任何中心，不写 --center）
        #[arg(long, value_name = "角色", value_parser = parse_role)]
        role: crate::domain::staff::Role,
        /// 所属中心的代码（默认：数据库中唯一的中心）
        #[arg(long, value_name = "代码")]
        center: Option<String>,
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
pub enum RosterCommand {
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
        /// 窗口所在中心的代码（默认：数据库中唯一的中心）
        #[arg(long, value_name = "代码")]
        center: Option<String>,
    },
}

pub fn parse_role(text: &str) -> Result<crate::domain::staff::Role, String> {
    let roles = crate::domain::staff::PERSON_ROLES;
    roles.iter().copied().find(|r| r.label() == text.trim()).ok_or_else(|| {
        let names: Vec<&str> = roles.iter().map(|r| r.label()).collect();
        format!("角色应为 {}，而不是“{text}”", names.join("、"))
    })
}

#[derive(Debug, Subcommand)]
pub enum TicketCommand {
    /// 取一个号并打印号码（如 C001），以本机自助取号机的设备令牌登录（数据目录的 device-kiosk.token 或 BIANMIN_DEVICE_TOKEN），从不询问
    #[command(help_template = HELP_TEMPLATE, next_help_heading = "选项")]
    Issue(IssueArgs),
}

#[derive(Debug, Args)]
pub struct IssueArgs {
    /// 排队类别字母，例如 C
    #[arg(long, value_name = "字母")]
    pub category: String,
    /// 绿色通道：老年人、残疾人、孕妇、军人 或 帮办代办
    #[arg(long, value_name = "类别", value_parser = parse_green)]
    pub priority: Option<crate::domain::ticket::GreenReason>,
    /// 服务器地址（默认取配置中的服务器）
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
}

#[derive(Debug, Args)]
pub struct DeviceArgs {
    /// 服务器地址（默认取配置中的服务器）
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
}

#[derive(Debug, Args)]
pub struct EvaluatorArgs {
    /// 评价器面向的窗口号（须与设备账号一致）
    #[arg(long, value_name = "N")]
    pub window: u32,
    /// 服务器地址（默认取配置中的服务器）
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
}

pub fn parse_green(text: &str) -> Result<crate::domain::ticket::GreenReason, String> {
    text.parse().map_err(|e: crate::domain::Invalid| e.message)
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// 监听地址，例如 0.0.0.0:8734
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// 数据库地址：sqlite://PATH
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum GuidesCommand {
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
pub enum AliasCommand {
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
pub enum WorkdaysCommand {
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
