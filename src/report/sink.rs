//! Where a command's results go: standard output, or with `-o FILE` a file that appears only
//! once the command has succeeded, so that a failed or interrupted command never leaves half
//! a result where a whole one is expected.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context, Result};

/// A file written under a hidden name beside its path and renamed onto it at the end.
#[derive(Debug)]
pub struct PartialFile {
    path: PathBuf,
    partial: PathBuf,
    writer: BufWriter<File>,
}

impl PartialFile {
    /// Creates the hidden file; a path that cannot be written fails here, before any work.
    pub fn create(path: &Path) -> Result<Self> {
        let name = path
            .file_name()
            .with_context(|| format!("`{}` is not a file name", path.display()))?;
        let partial = path.with_file_name(format!(
            ".{}.partial-{}",
            name.to_string_lossy(),
            std::process::id()
        ));
        let file = File::create_new(&partial)
            .with_context(|| format!("cannot write `{}`", path.display()))?;
        Ok(Self {
            path: path.to_owned(),
            partial,
            writer: BufWriter::with_capacity(1 << 20, file),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes, syncs and renames the file onto its path.
    pub fn finish(self) -> Result<()> {
        let Self {
            path,
            partial,
            writer,
        } = self;
        let done = writer
            .into_inner()
            .map_err(|e| e.into_error())
            .and_then(|file| file.sync_all())
            .and_then(|()| std::fs::rename(&partial, &path));
        if let Err(e) = done {
            let _ = std::fs::remove_file(&partial);
            return Err(e).with_context(|| format!("writing `{}`", path.display()));
        }
        Ok(())
    }

    /// Removes what was written.
    pub fn abandon(self) {
        let _ = std::fs::remove_file(&self.partial);
    }
}

impl Write for PartialFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

/// The file standing in for standard output under `-o`, for the whole process: one command
/// runs per process, and everything it prints goes to the same place.
static REDIRECT: Mutex<Option<PartialFile>> = Mutex::new(None);

/// From now on, what the command prints goes to `path` (see [`finish`]).
pub fn redirect(path: &Path) -> Result<()> {
    let file = PartialFile::create(path)?;
    *lock() = Some(file);
    Ok(())
}

/// Ends the redirection: on success the file takes its name, on failure it is removed.
pub fn finish(succeeded: bool) -> Result<()> {
    match lock().take() {
        Some(file) if succeeded => file.finish(),
        Some(file) => {
            file.abandon();
            Ok(())
        }
        None => Ok(()),
    }
}

fn lock() -> std::sync::MutexGuard<'static, Option<PartialFile>> {
    // A panic while writing leaves the file as it was: still the one to finish or remove.
    REDIRECT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs `on_file` on the `-o` file, or `on_stdout` on standard output when there is none.
fn on_target<T>(
    on_file: impl FnOnce(&mut PartialFile) -> T,
    on_stdout: impl FnOnce(&mut io::StdoutLock<'static>) -> T,
) -> T {
    let mut redirect = lock();
    match redirect.as_mut() {
        Some(file) => on_file(file),
        None => {
            drop(redirect);
            on_stdout(&mut io::stdout().lock())
        }
    }
}

/// Writes `bytes` where results go. A closed pipe (`| head`) is the reader's choice, not an
/// error: the command ends quietly with success.
pub fn write_all(bytes: &[u8]) -> Result<()> {
    on_target(
        |file| {
            file.write_all(bytes)
                .with_context(|| format!("writing `{}`", file.path().display()))
        },
        |stdout| super::stdout_written(stdout.write_all(bytes).and_then(|()| stdout.flush())),
    )
}

/// Where results go, as a writer: for encoders that write as they go (Arrow IPC).
#[derive(Debug, Clone, Copy, Default)]
pub struct Results;

impl Write for Results {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if super::silenced_now() {
            return Ok(buf.len());
        }
        on_target(|file| file.write(buf), |stdout| stdout.write(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        on_target(|file| file.flush(), |stdout| stdout.flush())
    }
}

/// Work done on a thread of its own, an item at a time, while the caller reads the next item:
/// turning pages of rows into tables and writing them overlaps the server producing the next
/// page. The thread holds the item it works on and the caller the one it reads, no more: memory
/// stays two pages whatever the total.
#[derive(Debug)]
pub struct Behind<T, S> {
    send: std::sync::mpsc::SyncSender<T>,
    thread: std::thread::JoinHandle<Result<S>>,
}

impl<T: Send + 'static, S: Send + 'static> Behind<T, S> {
    /// Starts the thread, which calls `each` with `state` and every item sent. Results
    /// silenced where it starts ([`super::silenced`]) are silenced on it too.
    pub fn spawn(
        mut state: S,
        mut each: impl FnMut(&mut S, T) -> Result<()> + Send + 'static,
    ) -> Self {
        let (send, receive) = std::sync::mpsc::sync_channel::<T>(0);
        let silenced = super::silenced_now();
        let thread = std::thread::spawn(move || {
            let work = move || -> Result<S> {
                for item in receive {
                    each(&mut state, item)?;
                }
                Ok(state)
            };
            match silenced {
                true => super::SILENCED.sync_scope((), work),
                false => work(),
            }
        });
        Self { send, thread }
    }

    /// Hands `item` over, waiting until the thread is done with the one before. A thread that
    /// stopped (an error, a closed pipe) fails this: its own outcome comes from
    /// [`Behind::finish`].
    pub fn send(&self, item: T) -> Result<()> {
        self.send
            .send(item)
            .map_err(|_| anyhow::anyhow!("the writer stopped"))
    }

    /// Waits for the thread to take every item sent before `read` (the reading that fed it)
    /// ended; its state, or its error before `read`'s: a thread that stopped is why reading
    /// failed to hand it more.
    pub fn finish(self, read: Result<()>) -> Result<S> {
        drop(self.send);
        let state = match self.thread.join() {
            Ok(outcome) => outcome?,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        read?;
        Ok(state)
    }
}
