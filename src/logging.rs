//! Logs go to a daily-rotated file in the data directory, never to the terminal the TUI draws on.

use std::path::Path;

use tracing::level_filters::LevelFilter;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{Builder, Rotation};

/// Log lines waiting for the writer thread before further ones are dropped. The channel's slots
/// are allocated and written when it is made: tracing-appender's default of 128,000 lines took
/// 4 MiB of every process's memory (measured with heaptrack, the largest single block in the
/// terminal after Argon2's), for a queue that only fills if the disk stops taking lines.
const BUFFERED_LINES: usize = 8 * 1024;

/// Starts logging to `dir/bianmin.log.YYYY-MM-DD`. Keep the guard alive until exit: dropping it
/// flushes what is buffered. `also_stderr` is for `bianmin serve`, which owns no screen.
pub fn init(dir: &Path, level: &str, keep_days: usize, also_stderr: bool) -> color_eyre::Result<WorkerGuard> {
    std::fs::create_dir_all(dir)?;
    let appender = Builder::new()
        .rotation(Rotation::DAILY)
        .filename_prefix("bianmin.log")
        .max_log_files(keep_days.max(1))
        .build(dir)?;
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(BUFFERED_LINES)
        .finish(appender);
    let level = level.parse::<LevelFilter>().unwrap_or(LevelFilter::INFO);
    let file_layer = tracing_subscriber::fmt::layer().with_writer(writer).with_ansi(false);
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let stderr_layer = also_stderr.then(|| tracing_subscriber::fmt::layer().with_writer(std::io::stderr));
    tracing_subscriber::registry().with(level).with(file_layer).with(stderr_layer).try_init()?;
    Ok(guard)
}
