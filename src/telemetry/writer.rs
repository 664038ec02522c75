//! Where log lines go: a shared buffer that a thread of its own writes to stdout a few times a
//! second (sooner when it fills), so that logging a line costs a short lock and a copy, never
//! a `write` or a wake-up of another thread.
//!
//! With one access line per request, writing each line as it came (or handing each to a writer
//! thread through a channel, which wakes that thread per line) cost more than the line's
//! formatting. A line waits at most [`FLUSH_EVERY`] before it is written, and the buffer is
//! written out when the guard drops (at shutdown). Lines are never dropped: if stdout stops
//! taking them and [`BLOCK_AT`] bytes are waiting, loggers wait for the writer.

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// The longest a line waits before it is written.
const FLUSH_EVERY: Duration = Duration::from_millis(100);
/// Past this many bytes waiting the writer is woken at once.
const WAKE_AT: usize = 256 * 1024;
/// Past this many bytes waiting, loggers wait for the writer (stdout is not keeping up).
const BLOCK_AT: usize = 16 * 1024 * 1024;

#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    stopping: bool,
}

#[derive(Default)]
struct Shared {
    pending: Mutex<Pending>,
    /// Wakes the writer (buffer full, or stopping).
    wake_writer: Condvar,
    /// Wakes loggers waiting for room.
    room: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The `MakeWriter` the subscriber logs through.
#[derive(Clone)]
pub struct BatchedStdout {
    shared: Arc<Shared>,
}

/// Stops the writer thread and writes out what is left, when dropped.
pub struct FlushGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// The writer for `out` (stdout in the app, a buffer in tests), and the guard that flushes it.
pub fn batched<W: Write + Send + 'static>(out: W) -> (BatchedStdout, FlushGuard) {
    let shared = Arc::new(Shared::default());
    let writer = shared.clone();
    let thread =
        std::thread::Builder::new().name("skyhigh-log".into()).spawn(move || write_until_stopped(&writer, out)).ok();
    (BatchedStdout { shared: shared.clone() }, FlushGuard { shared, thread })
}

fn write_until_stopped<W: Write>(shared: &Shared, mut out: W) {
    let mut writing = Vec::new();
    loop {
        let stopping = {
            let mut pending = shared.lock();
            if pending.bytes.len() < WAKE_AT && !pending.stopping {
                pending = shared
                    .wake_writer
                    .wait_timeout(pending, FLUSH_EVERY)
                    .map(|(guard, _)| guard)
                    .unwrap_or_else(|poisoned| poisoned.into_inner().0);
            }
            std::mem::swap(&mut pending.bytes, &mut writing);
            pending.stopping
        };
        shared.room.notify_all();
        if !writing.is_empty() {
            // Nowhere to report a failed write to but the log itself: drop those lines.
            let _ = out.write_all(&writing).and_then(|()| out.flush());
            writing.clear();
        }
        if stopping {
            // Whatever arrived while the last batch was written.
            let rest = std::mem::take(&mut shared.lock().bytes);
            let _ = out.write_all(&rest).and_then(|()| out.flush());
            return;
        }
    }
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        self.shared.lock().stopping = true;
        self.shared.wake_writer.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Write for BatchedStdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut pending = self.shared.lock();
        while pending.bytes.len() >= BLOCK_AT && !pending.stopping {
            pending = self.shared.room.wait(pending).unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        let before = pending.bytes.len();
        pending.bytes.extend_from_slice(buf);
        let crossed = before < WAKE_AT && pending.bytes.len() >= WAKE_AT;
        drop(pending);
        if crossed {
            self.shared.wake_writer.notify_one();
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for BatchedStdout {
    type Writer = BatchedStdout;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::super::captured::Captured;
    use super::*;

    #[test]
    fn lines_arrive_whole_in_order_and_the_guard_writes_out_the_rest() {
        let sink = Captured::default();
        let (writer, guard) = batched(sink.clone());
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let mut writer = writer.clone();
                std::thread::spawn(move || {
                    for i in 0..5000 {
                        writer.write_all(format!("thread {t} line {i}\n").as_bytes()).unwrap();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        drop(guard);
        let text = sink.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 20_000, "nothing lost, nothing doubled");
        for t in 0..4 {
            let own: Vec<&str> = lines.iter().copied().filter(|l| l.starts_with(&format!("thread {t} "))).collect();
            let expected: Vec<String> = (0..5000).map(|i| format!("thread {t} line {i}")).collect();
            assert_eq!(own, expected, "each thread's lines whole and in its order");
        }
    }

    #[test]
    fn a_line_is_written_within_a_flush_interval_without_the_guard() {
        let sink = Captured::default();
        let (mut writer, _guard) = batched(sink.clone());
        writer.write_all(b"soon\n").unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while sink.text().is_empty() {
            assert!(std::time::Instant::now() < deadline, "never written");
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(sink.text(), "soon\n");
    }
}
