//! Noticing new versions of files: notify events on each file's folder
//! (editors and cargo replace a file by renaming another over it, which a
//! watch on the file itself would miss), settled until the file has been
//! quiet for [`SETTLE`] and exists, so a burst of writes is one change and
//! a file briefly missing is no change at all. A source tree is watched
//! the same way, its changes settled as one.

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
            let folder = absolute(file)?.parent().unwrap_or(Path::new("/")).to_path_buf();
            let folder = folder.canonicalize().unwrap_or(folder);
            let Some(name) = file.file_name() else { continue };
            names.insert(folder.join(name), file.clone());
            folders.insert((folder, RecursiveMode::NonRecursive));
        }
        let first = files.first().cloned().unwrap_or_default();
        Self::watching(&first, &folders, move |path| names.get(path).cloned())
    }

    /// Starts watching the files under `root` that `include` accepts (given
    /// their path relative to `root`); a settled change of any of them, or
    /// of several at once, is one change named `root`. Only `root` itself
    /// and its sub-folders for which `include` holds at start are watched,
    /// so a large build folder left out costs nothing.
    pub fn tree(root: &Path, include: impl Fn(&Path) -> bool + Send + 'static) -> Result<FileWatcher, WatchError> {
        let absolute = absolute(root)?;
        let absolute = absolute.canonicalize().unwrap_or(absolute);
        let entries =
            std::fs::read_dir(&absolute).map_err(|err| WatchError { path: root.into(), reason: err.to_string() })?;
        let mut folders = BTreeSet::from([(absolute.clone(), RecursiveMode::NonRecursive)]);
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|kind| kind.is_dir()) && include(Path::new(&entry.file_name())) {
                folders.insert((entry.path(), RecursiveMode::Recursive));
            }
        }
        let name = root.to_path_buf();
        Self::watching(root, &folders, move |path| {
            path.strip_prefix(&absolute).is_ok_and(&include).then(|| name.clone())
        })
    }

    /// Watches `folders`, passing on writes to the paths `name` maps to a
    /// name, settled by name.
    fn watching(
        what: &Path,
        folders: &BTreeSet<(PathBuf, RecursiveMode)>,
        name: impl Fn(&Path) -> Option<PathBuf> + Send + 'static,
    ) -> Result<FileWatcher, WatchError> {
        let (raw, events) = unbounded_channel();
        let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            if let Ok(event) = event
                && writes(&event.kind)
            {
                for file in event.paths.iter().filter_map(|path| name(path)) {
                    let _ = raw.send(file);
                }
            }
        })
        .map_err(|err| WatchError { path: what.to_path_buf(), reason: err.to_string() })?;
        for (folder, mode) in folders {
            watcher.watch(folder, *mode).map_err(|err| WatchError { path: folder.clone(), reason: err.to_string() })?;
        }
        let (settled_tx, settled) = unbounded_channel();
        tokio::spawn(settle(events, settled_tx));
        Ok(FileWatcher { _watcher: watcher, settled })
    }

    /// The next settled change: the file as the run names it.
    pub async fn next(&mut self) -> Option<PathBuf> {
        self.settled.recv().await
    }

    /// A settled change that has already arrived, without waiting.
    pub fn pending(&mut self) -> Option<PathBuf> {
        self.settled.try_recv().ok()
    }
}

fn absolute(path: &Path) -> Result<PathBuf, WatchError> {
    std::path::absolute(path).map_err(|err| WatchError { path: path.to_path_buf(), reason: err.to_string() })
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

    #[tokio::test]
    async fn a_tree_settles_writes_under_it_as_one_change_and_skips_what_is_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("project");
        for folder in ["src/nested", "target"] {
            std::fs::create_dir_all(root.join(folder)).unwrap();
        }
        let mut watcher = FileWatcher::tree(&root, |path| !path.starts_with("target")).unwrap();
        std::fs::write(root.join("target/out.wasm"), b"built").unwrap();
        std::fs::write(root.join("src/lib.rs"), b"one").unwrap();
        std::fs::write(root.join("src/nested/mod.rs"), b"two").unwrap();
        std::fs::write(root.join("Cargo.toml"), b"three").unwrap();
        assert_eq!(watcher.next().await.as_deref(), Some(root.as_path()));
        assert_eq!(watcher.pending(), None, "one change for the burst");
        // Left out: nothing arrives for it, while a later source write does.
        std::fs::write(root.join("target/out.wasm"), b"built again").unwrap();
        std::fs::write(root.join("src/lib.rs"), b"four").unwrap();
        assert_eq!(watcher.next().await.as_deref(), Some(root.as_path()));
    }
}
