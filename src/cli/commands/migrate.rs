//! `bianmin migrate --from sqlite://... --to postgres://...`: moves a center's server database to
//! the county's (see `server::store::migrate`). Progress on stderr, the result on stdout.

use crate::cli::args::MigrateArgs;
use crate::server::store::migrate::{self, MigrateOptions, Outcome};

pub async fn migrate(args: MigrateArgs) -> color_eyre::Result<()> {
    let options =
        MigrateOptions { from: args.from, to: args.to, dry_run: args.dry_run, batch_size: args.batch_size as usize };
    let mut progress = |line: String| eprintln!("{line}");
    match migrate::migrate(&options, &mut progress).await? {
        Outcome::Planned { center, tables, left_behind, note } => {
            println!("试运行（未复制任何数据）：中心 {center}，将复制 {} 张表：", tables.len());
            for t in &tables {
                println!("  {}\t{} 行", t.table, t.rows);
            }
            for (table, rows) in &left_behind {
                println!("  不迁移 {table}\t{rows} 行");
            }
            println!("共 {} 行。{note}", tables.iter().map(|t| t.rows).sum::<i64>());
        }
        Outcome::Done { center, tables, without_center } => {
            println!(
                "迁移完成：中心 {center}，{} 张表共 {} 行，每张表的行数和内容摘要两边一致。",
                tables.len(),
                tables.iter().map(|t| t.rows).sum::<i64>()
            );
            for t in &tables {
                println!("  {}\t{} 行\t{}", t.table, t.rows, t.digest);
            }
            for (table, rows) in &without_center {
                println!("  未迁移：表 {table} 中不属于任何中心的 {rows} 行（{}）", migrate::NO_CENTER_REASON);
            }
        }
    }
    Ok(())
}
