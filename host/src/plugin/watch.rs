//! Noticing new versions of files: notify events on each file's folder
//! (editors and cargo replace a file by renaming another over it, which a
//! watch on the file itself would miss), settled until the file has been
//! quiet for [`SETTLE`] and exists, so a burst of writes is one change and
//! a file briefly missing is no change at all.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::event::{AccessKind, AccessMode};
use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::time::Instant;

/// How long a file must stay quiet before its change counts.
pub const SETTLE: Duration = Duration::from_millis(100);

/// Watches files until dropped; settled changes arrive on [`FileWatcher::changes`].
pub struct FileWatcher {
    _watcher: RecommendedWatcher,
    settled: UnboundedReceiver<PathBuf>,
}

/// Why files cannot be watched.
#[derive(Debug, thiserror::Error)]
#[error("cannot watch {path:?} for changes: {reason}")]
pub struct WatchError {
    path: PathBuf,
    reason: String,
}

impl FileWatcher {
    /// Starts watching `files` (as the run names them). Must be called
    /// within a tokio runtime.
    pub fn start(files: &[PathBuf]) -> Result<FileWatcher, WatchError> {
        // Events name files by absolute path; map them back to the names the run uses.
        let mut names = HashMap::new();
        let mut folders = BTreeSet::new();
        for file in files {
            let absolute =
                std::path::absolute(file).map_err(|err| WatchError { path: file.clone(), reason: err.to_string() })?;
            let folder = absolute.parent().unwrap_or(Path::new("/")).to_path_buf();
            let folder = folder.canonicalize().unwrap_or(folder);
            let Some(name) = absolute.file_name() else { continue };
            names.insert(folder.join(name), file.clone());
            folders.insert(folder);
        }
        let (raw, events) = unbounded_channel();
        let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            if let Ok(event) = event
                && writes(&event.kind)
            {
                for path in event.paths {
                    if let Some(file) = names.get(&path) {
                        let _ = raw.send(file.clone());
                    }
                }
            }
        })
        .map_err(|err| WatchError { path: files.first().cloned().unwrap_or_default(), reason: err.to_string() })?;
        for folder in &folders {
            watcher
                .watch(folder, RecursiveMode::NonRecursive)
                .map_err(|err| WatchError { path: folder.clone(), reason: err.to_string() })?;
        }
        let (settled_tx, settled) = unbounded_channel();
        tokio::spawn(settle(events, settled_tx));
        Ok(FileWatcher { _watcher: watcher, settled })
    }

    /// The next settled change: the file as the run names it.
    pub async fn next(&mut self) -> Option<PathBuf> {
        self.settled.recv().await
    }
}

/// Whether an event may have changed a file's content. Reading a file (as
/// a reload does) must not count, or each reload would cause the next.
fn writes(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::Create(_) | EventKind::Modify(_) | EventKind::Access(AccessKind::Close(AccessMode::Write))
    )
}

/// Passes on each file once it has been quiet for [`SETTLE`] and exists; a
/// file missing then is passed on when it is created again.
async fn settle(mut events: UnboundedReceiver<PathBuf>, settled: UnboundedSender<PathBuf>) {
    let mut quiet_at: HashMap<PathBuf, Instant> = HashMap::new();
    loop {
        let next = quiet_at.values().min().copied();
        tokio::select! {
            event = events.recv() => match event {
                Some(file) => { quiet_at.insert(file, Instant::now() + SETTLE); }
                None => return,
            },
            _ = tokio::time::sleep_until(next.unwrap_or_else(Instant::now)), if next.is_some() => {
                let now = Instant::now();
                let due: Vec<PathBuf> = quiet_at.iter().filter(|(_, at)| **at <= now).map(|(f, _)| f.clone()).collect();
                for file in due {
                    quiet_at.remove(&file);
                    if file.exists() && settled.send(file).is_err() {
                        return;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_burst_of_writes_and_a_rename_over_the_file_are_changes() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plugin.wasm");
        std::fs::write(&file, b"one").unwrap();
        let mut watcher = FileWatcher::start(std::slice::from_ref(&file)).unwrap();
        for i in 0..20 {
            std::fs::write(&file, format!("burst {i}")).unwrap();
        }
        assert_eq!(watcher.next().await.as_deref(), Some(file.as_path()));
        // Replaced by rename, as editors and cargo do; the file is briefly missing first.
        let staged = dir.path().join("plugin.wasm.tmp");
        std::fs::write(&staged, b"two").unwrap();
        std::fs::remove_file(&file).unwrap();
        std::fs::rename(&staged, &file).unwrap();
        assert_eq!(watcher.next().await.as_deref(), Some(file.as_path()));
    }
}
