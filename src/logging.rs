//! Logs go to a daily-rotated file in the data directory, never to the terminal the TUI draws on.

use std::io::{self, Write};
use std::path::Path;
use std::sync::{Arc, OnceLock};

use tracing::dispatcher::{Dispatch, WeakDispatch};
use tracing::level_filters::LevelFilter;
use tracing_appender::non_blocking::{ErrorCounter, NonBlockingBuilder, WorkerGuard};
use tracing_appender::rolling::{Builder, Rotation};
use tracing_subscriber::layer::SubscriberExt;

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
    let level = level.parse::<LevelFilter>().unwrap_or(LevelFilter::INFO);
    let (dispatch, guard) = dispatch(appender, BUFFERED_LINES, level, also_stderr);
    tracing::dispatcher::set_global_default(dispatch)?;
    Ok(guard)
}

/// The subscriber writing formatted lines to `file` through a queue of `lines` lines, so that no
/// caller (the TUI's event loop, a request) ever waits on the disk. The queue is lossy by
/// design: when it is full a line is dropped rather than the caller blocked, and the drop is
/// then told in the log itself (see [`DropNotice`]).
fn dispatch<W: Write + Send + 'static>(
    file: W,
    lines: usize,
    level: LevelFilter,
    also_stderr: bool,
) -> (Dispatch, WorkerGuard) {
    let reporter = Arc::new(OnceLock::new());
    let notice = DropNotice { file, reporter: Arc::clone(&reporter), reported: 0 };
    let (writer, guard) = NonBlockingBuilder::default().buffered_lines_limit(lines).finish(notice);
    let dropped = writer.error_counter();
    let file_layer = tracing_subscriber::fmt::layer().with_writer(writer).with_ansi(false);
    let stderr_layer = also_stderr.then(|| tracing_subscriber::fmt::layer().with_writer(std::io::stderr));
    let dispatch = Dispatch::new(tracing_subscriber::registry().with(level).with(file_layer).with(stderr_layer));
    // Weak: the dispatch owns the queue's sender, and the writer thread must not keep it alive.
    let _ = reporter.set(Reporter { dropped, dispatch: dispatch.downgrade() });
    (dispatch, guard)
}

/// What the writer thread needs to tell of dropped lines; set once the subscriber exists, which
/// is after the writer it wraps was handed to the queue.
struct Reporter {
    dropped: ErrorCounter,
    dispatch: WeakDispatch,
}

/// The log file as the queue's writer thread sees it. tracing-appender counts the lines it drops
/// but writes nothing about them, so a stalled disk would leave a silent gap in the log. The
/// writer thread flushes each time it has emptied the queue: that is when lines can be written
/// again, and when the count of lines dropped since the last notice is logged as a warning.
/// The notice goes through the subscriber (same format, same destinations) and so through the
/// same non-blocking queue; should it be dropped too, it is counted and told next time.
struct DropNotice<W> {
    file: W,
    reporter: Arc<OnceLock<Reporter>>,
    reported: usize,
}

impl<W: Write> Write for DropNotice<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()?;
        let Some(reporter) = self.reporter.get() else { return Ok(()) };
        let dropped = reporter.dropped.dropped_lines();
        if dropped > self.reported {
            let count = dropped - self.reported;
            self.reported = dropped;
            if let Some(dispatch) = reporter.dispatch.upgrade() {
                tracing::dispatcher::with_default(&dispatch, || {
                    tracing::warn!(dropped = count, "dropped {count} log lines while the log file was not keeping up");
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use super::*;

    /// A log file whose first write stalls until the test lets it go (or 5 s have passed, so
    /// that a logger that waited on it fails the test rather than hangs it), like a disk that
    /// stops taking lines; everything written lands in `text`.
    struct StalledFile {
        text: Arc<Mutex<Vec<u8>>>,
        stalled: Option<(mpsc::Sender<()>, mpsc::Receiver<()>)>,
    }

    impl Write for StalledFile {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if let Some((entered, release)) = self.stalled.take() {
                entered.send(()).unwrap();
                let _ = release.recv_timeout(STALL);
            }
            self.text.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    const STALL: Duration = Duration::from_secs(5);

    #[test]
    fn lines_dropped_while_the_file_stalls_are_counted_in_the_log_once_it_takes_lines_again() {
        let text = Arc::new(Mutex::new(Vec::new()));
        let (entered_tx, entered) = mpsc::channel();
        let (release, release_rx) = mpsc::channel();
        let file = StalledFile { text: Arc::clone(&text), stalled: Some((entered_tx, release_rx)) };
        let (dispatch, guard) = dispatch(file, 2, LevelFilter::INFO, false);
        tracing::dispatcher::with_default(&dispatch, || {
            tracing::info!("line 0");
            // The writer thread holds line 0 and is stuck writing it; the queue holds 2 more.
            entered.recv_timeout(Duration::from_secs(10)).unwrap();
            let started = Instant::now();
            for i in 1..=10 {
                tracing::info!("line {i}");
            }
            // Logging never waited on the stalled file (it would have, until the stall ended).
            assert!(started.elapsed() < STALL / 2, "logging waited {:?} on the file", started.elapsed());
        });
        release.send(()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let log = loop {
            let log = String::from_utf8(text.lock().unwrap().clone()).unwrap();
            if log.contains("dropped") || Instant::now() > deadline {
                break log;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        drop(guard);
        assert!(log.contains("line 0") && log.contains("line 2") && !log.contains("line 3"), "{log}");
        let notice = log.lines().find(|l| l.contains("dropped")).unwrap_or_else(|| panic!("no notice in:\n{log}"));
        assert!(notice.contains("WARN"), "{notice}");
        assert!(notice.contains("dropped 8 log lines while the log file was not keeping up"), "{notice}");
    }
}
