//! File-system helpers every on-disk structure goes through: atomic file replacement,
//! directory fsyncs, recursive hard links for snapshots and the data-directory lock.
//!
//! The crash-safety rule they implement: a file is written under a temporary name
//! ([`TEMP_SUFFIX`]), fsynced, renamed over its final name, and the directory holding it is
//! fsynced, so after a crash a reader sees either the old file or the new one, never a
//! mix. Leftover temporary files of interrupted writes are removed by
//! [`remove_temp_files`] when the directory is opened again.
//!
//! Every error is an [`Error::Io`] naming the operation and the path.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Suffix appended to a file's name while [`write_file_atomic`] writes it.
pub const TEMP_SUFFIX: &str = ".tmp";

/// Name of the lock file [`DirLock`] creates inside the directory it locks.
pub const LOCK_FILE_NAME: &str = "flock.lock";

/// Replaces `path` with `bytes` atomically and durably.
///
/// The bytes are written to `path` + [`TEMP_SUFFIX`] in the same directory, fsynced,
/// renamed over `path`, and the directory is fsynced. When this returns, `path` holds
/// `bytes` and survives power loss; if the process dies earlier, `path` still holds its
/// previous contents (or does not exist) and at most a temporary file is left behind.
/// Concurrent calls for the same `path` must be serialised by the caller: they share the
/// temporary name.
///
/// # Errors
/// [`Error::Io`] when any step fails (the temporary file is removed on a best-effort
/// basis); `path` then still has its old contents.
pub fn write_file_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_path(path);
    let written = write_and_sync(&tmp, bytes);
    let renamed = written.and_then(|()| {
        fs::rename(&tmp, path).map_err(|e| Error::io("rename temporary file onto", path, e))
    });
    if let Err(err) = renamed {
        // Best effort: the temporary file is also removed by `remove_temp_files` on open.
        let _ = fs::remove_file(&tmp);
        return Err(err);
    }
    sync_dir(parent_of(path))
}

/// The temporary name [`write_file_atomic`] uses for `path`.
fn temp_path(path: &Path) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(TEMP_SUFFIX);
    PathBuf::from(name)
}

/// Creates (truncating) `path`, writes `bytes` and fsyncs the file.
fn write_and_sync(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = File::create(path).map_err(|e| Error::io("create", path, e))?;
    file.write_all(bytes)
        .map_err(|e| Error::io("write", path, e))?;
    file.sync_all().map_err(|e| Error::io("fsync", path, e))
}

/// The directory holding `path` (`.` for a bare file name).
fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Fsyncs the directory `path`, making the creations, renames and removals of its entries
/// durable.
///
/// # Errors
/// [`Error::Io`] when the directory cannot be opened or fsynced.
pub fn sync_dir(path: &Path) -> Result<()> {
    let dir = File::open(path).map_err(|e| Error::io("open directory", path, e))?;
    dir.sync_all()
        .map_err(|e| Error::io("fsync directory", path, e))
}

/// Creates `path` and any missing parents, fsyncing the parent of every directory it
/// creates, so the whole chain survives power loss. An existing directory is not an error.
///
/// # Errors
/// [`Error::Io`] when a directory cannot be created (for example because a file has that
/// name) or a parent cannot be fsynced.
pub fn create_dir_all_synced(path: &Path) -> Result<()> {
    let mut missing = Vec::new();
    let mut cur = path;
    while !cur.as_os_str().is_empty() && !cur.is_dir() {
        missing.push(cur);
        match cur.parent() {
            Some(parent) => cur = parent,
            None => break,
        }
    }
    for dir in missing.into_iter().rev() {
        match fs::create_dir(dir) {
            Ok(()) => sync_dir(parent_of(dir))?,
            // Another thread or process created it meanwhile: still what was asked.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => {}
            Err(e) => return Err(Error::io("create directory", dir, e)),
        }
    }
    Ok(())
}

/// Removes the directory `path` with everything in it, then fsyncs its parent so the
/// removal is durable. A missing `path` is not an error (removal is idempotent, as crash
/// recovery needs).
///
/// # Errors
/// [`Error::Io`] when an entry cannot be removed or the parent cannot be fsynced.
pub fn remove_dir_all_synced(path: &Path) -> Result<()> {
    match fs::remove_dir_all(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io("remove directory", path, e)),
    }
    sync_dir(parent_of(path))
}

/// Removes the leftovers of interrupted [`write_file_atomic`] calls: the files of `dir`
/// (not of its subdirectories) whose name ends with [`TEMP_SUFFIX`]. Returns how many were
/// removed. The directory is fsynced when something was removed.
///
/// # Errors
/// [`Error::Io`] when `dir` cannot be listed or a file cannot be removed.
pub fn remove_temp_files(dir: &Path) -> Result<u64> {
    let mut removed = 0;
    for entry in read_dir(dir)? {
        let entry = entry.map_err(|e| Error::io("list directory", dir, e))?;
        let is_temp = entry.file_name().to_string_lossy().ends_with(TEMP_SUFFIX);
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        if is_temp && is_file {
            let path = entry.path();
            fs::remove_file(&path).map_err(|e| Error::io("remove temporary file", &path, e))?;
            removed += 1;
        }
    }
    if removed > 0 {
        sync_dir(dir)?;
    }
    Ok(removed)
}

fn read_dir(dir: &Path) -> Result<fs::ReadDir> {
    fs::read_dir(dir).map_err(|e| Error::io("list directory", dir, e))
}

/// Makes `dst` a copy of the tree `src` made of hard links: every directory is created
/// anew, every other entry (files, symbolic links) is hard-linked, so the copy costs no
/// data and stays valid when `src`'s files are later deleted. Used for snapshots, which
/// only ever link immutable files. `dst` must not exist; its parent must. Every created
/// directory and `dst`'s parent are fsynced.
///
/// # Errors
/// [`Error::Io`] when `dst` exists, `src` cannot be listed, or a link cannot be made (for
/// example across file systems).
pub fn hard_link_dir(src: &Path, dst: &Path) -> Result<()> {
    link_tree(src, dst)?;
    sync_dir(parent_of(dst))
}

fn link_tree(src: &Path, dst: &Path) -> Result<()> {
    fs::create_dir(dst).map_err(|e| Error::io("create directory", dst, e))?;
    for entry in read_dir(src)? {
        let entry = entry.map_err(|e| Error::io("list directory", src, e))?;
        let from = entry.path();
        let to = dst.join(entry.file_name());
        let file_type = entry.file_type().map_err(|e| Error::io("stat", &from, e))?;
        if file_type.is_dir() {
            link_tree(&from, &to)?;
        } else {
            fs::hard_link(&from, &to).map_err(|e| Error::io("hard-link", &from, e))?;
        }
    }
    sync_dir(dst)
}

/// Total size in bytes of the files under `path` (recursively; a file's own size when
/// `path` is a file). Best effort, for statistics: entries that vanish while it runs (a
/// merge deleting a part) or cannot be read count as zero.
pub fn dir_size(path: &Path) -> u64 {
    let Ok(meta) = fs::symlink_metadata(path) else {
        return 0;
    };
    if !meta.is_dir() {
        return meta.len();
    }
    let Ok(entries) = fs::read_dir(path) else {
        return 0;
    };
    entries
        .filter_map(|entry| entry.ok())
        .map(|entry| dir_size(&entry.path()))
        .sum()
}

/// An exclusive lock on a directory, held while the value lives.
///
/// Implemented with `flock(LOCK_EX | LOCK_NB)` on `dir/`[`LOCK_FILE_NAME`]: the kernel
/// releases it when the process dies, so a crash never leaves a stale lock. `flock` locks
/// belong to an open file description, so two `DirLock`s of the same directory conflict
/// even inside one process.
#[derive(Debug)]
pub struct DirLock {
    dir: PathBuf,
    // Held for its open file description: closing it (on drop) releases the lock.
    file: File,
}

impl DirLock {
    /// Creates `dir` if needed and locks it.
    ///
    /// # Errors
    /// [`Error::Locked`] when another process (or another `DirLock`) holds the lock;
    /// [`Error::Io`] when the directory or the lock file cannot be created.
    pub fn acquire(dir: &Path) -> Result<DirLock> {
        create_dir_all_synced(dir)?;
        let path = dir.join(LOCK_FILE_NAME);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io("open lock file", &path, e))?;
        // SAFETY: `flock` only reads its two integer arguments; the descriptor is owned by
        // `file`, which is alive for the duration of the call.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let err = io::Error::last_os_error();
            return Err(if err.kind() == io::ErrorKind::WouldBlock {
                Error::Locked {
                    path: dir.to_path_buf(),
                }
            } else {
                Error::io("flock", &path, err)
            });
        }
        Ok(DirLock {
            dir: dir.to_path_buf(),
            file,
        })
    }

    /// The locked directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        // Closing the descriptor (right after this) releases the lock too; unlocking first
        // makes the release independent of other descriptors sharing the description.
        // SAFETY: as in `acquire`; the descriptor is still owned by `self.file`.
        unsafe {
            libc::flock(self.file.as_raw_fd(), libc::LOCK_UN);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::MetadataExt;

    use super::*;

    #[test]
    fn write_file_atomic_replaces_contents_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("manifest");
        write_file_atomic(&path, b"first").unwrap();
        write_file_atomic(&path, b"second, longer").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second, longer");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![OsString::from("manifest")]);
    }

    #[test]
    fn write_file_atomic_reports_missing_directory_with_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no-such-dir").join("file");
        let err = write_file_atomic(&path, b"x").unwrap_err();
        match err {
            Error::Io { op, path: p, .. } => {
                assert_eq!(op, "create");
                assert_eq!(p, temp_path(&path));
            }
            other => panic!("unexpected error {other:?}"),
        }
    }

    #[test]
    fn remove_temp_files_removes_only_temp_files_of_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::write(d.join("a.tmp"), b"x").unwrap();
        fs::write(d.join("b.tmp"), b"x").unwrap();
        fs::write(d.join("keep"), b"x").unwrap();
        fs::create_dir(d.join("sub")).unwrap();
        fs::write(d.join("sub").join("c.tmp"), b"x").unwrap();
        assert_eq!(remove_temp_files(d).unwrap(), 2);
        assert!(d.join("keep").exists());
        assert!(d.join("sub").join("c.tmp").exists());
        assert!(!d.join("a.tmp").exists());
        assert_eq!(remove_temp_files(d).unwrap(), 0);
    }

    #[test]
    fn create_and_remove_dir_all_synced() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("a").join("b").join("c");
        create_dir_all_synced(&deep).unwrap();
        assert!(deep.is_dir());
        create_dir_all_synced(&deep).unwrap();
        fs::write(deep.join("f"), b"data").unwrap();
        remove_dir_all_synced(&dir.path().join("a")).unwrap();
        assert!(!dir.path().join("a").exists());
        remove_dir_all_synced(&dir.path().join("a")).unwrap();
    }

    #[test]
    fn create_dir_all_synced_fails_on_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        fs::write(&file, b"").unwrap();
        let err = create_dir_all_synced(&file).unwrap_err();
        assert!(matches!(err, Error::Io { op: "create directory", ref path, .. } if *path == file));
    }

    #[test]
    fn hard_link_dir_links_every_file_and_sizes_add_up() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        fs::create_dir_all(src.join("part").join("inner")).unwrap();
        fs::write(src.join("top"), vec![1u8; 10]).unwrap();
        fs::write(src.join("part").join("data"), vec![2u8; 100]).unwrap();
        fs::write(src.join("part").join("inner").join("idx"), vec![3u8; 1000]).unwrap();
        let dst = dir.path().join("snap");
        hard_link_dir(&src, &dst).unwrap();
        for rel in ["top", "part/data", "part/inner/idx"] {
            let a = fs::metadata(src.join(rel)).unwrap();
            let b = fs::metadata(dst.join(rel)).unwrap();
            assert_eq!(a.ino(), b.ino(), "{rel} is not a hard link");
        }
        assert_eq!(dir_size(&src), 1110);
        assert_eq!(dir_size(&dst), 1110);
        assert_eq!(dir_size(&src.join("top")), 10);
        assert_eq!(dir_size(&dir.path().join("missing")), 0);
        let err = hard_link_dir(&src, &dst).unwrap_err();
        assert!(matches!(err, Error::Io { op: "create directory", ref path, .. } if *path == dst));
    }

    #[test]
    fn dir_lock_refuses_a_second_lock_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let first = DirLock::acquire(&data).unwrap();
        assert_eq!(first.dir(), data);
        match DirLock::acquire(&data).unwrap_err() {
            Error::Locked { path } => assert_eq!(path, data),
            other => panic!("unexpected error {other:?}"),
        }
        drop(first);
        let again = DirLock::acquire(&data).unwrap();
        drop(again);
    }
}
