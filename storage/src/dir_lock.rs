//! One process per data directory: an advisory lock (`flock` on Unix) on `<dir>/lock`, which
//! holds the holder's process id so that a refused second process can name it.
//!
//! The operating system releases the lock when the holder closes the file or dies, so a crash
//! never leaves a stale lock behind; the file itself stays (removing it would let two processes
//! lock two different files of the same name).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Name of the lock file inside the directory.
pub const LOCK_FILE: &str = "lock";

/// Why [`DirLock::acquire`] failed.
#[derive(Debug, thiserror::Error)]
pub enum DirLockError {
    /// Another process (or another open of the same directory in this process) holds the lock.
    #[error("data dir {} is in use by {}", dir.display(), holder_text(*holder))]
    InUse {
        /// The directory.
        dir: PathBuf,
        /// The holder's process id, when it could be read from the lock file.
        holder: Option<u32>,
    },
    /// The lock file could not be opened, locked or written.
    #[error("cannot lock data dir {}: {source}", dir.display())]
    Io {
        /// The directory.
        dir: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

fn holder_text(holder: Option<u32>) -> String {
    match holder {
        Some(pid) => format!("process {pid}"),
        None => "another process".to_string(),
    }
}

/// A held lock on a directory; released when dropped (or when the process exits).
#[derive(Debug)]
pub struct DirLock {
    file: File,
    dir: PathBuf,
}

impl DirLock {
    /// Locks `dir` (which must exist) for this process, writing our pid into `<dir>/lock`.
    /// Fails at once with [`DirLockError::InUse`] if it is held, even by this process.
    pub fn acquire(dir: &Path) -> Result<Self, DirLockError> {
        let io = |source| DirLockError::Io {
            dir: dir.to_path_buf(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(dir.join(LOCK_FILE))
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                // The holder may not have written its pid yet: then it is unnamed.
                let _ = file.read_to_string(&mut text);
                return Err(DirLockError::InUse {
                    dir: dir.to_path_buf(),
                    holder: text.trim().parse().ok(),
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(format!("{}\n", std::process::id()).as_bytes()))
            .and_then(|()| file.flush())
            .map_err(io)?;
        Ok(DirLock {
            file,
            dir: dir.to_path_buf(),
        })
    }

    /// The locked directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        // Still holding the lock: nobody reads a pid that is about to be wrong. Closing the
        // file releases the lock.
        let _ = self.file.set_len(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused_with_the_pid_until_the_first_drops() {
        let dir = tempfile::tempdir().unwrap();
        let first = DirLock::acquire(dir.path()).unwrap();
        assert_eq!(first.dir(), dir.path());
        let e = DirLock::acquire(dir.path()).unwrap_err();
        match &e {
            DirLockError::InUse { holder, .. } => assert_eq!(*holder, Some(std::process::id())),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            e.to_string(),
            format!(
                "data dir {} is in use by process {}",
                dir.path().display(),
                std::process::id()
            )
        );
        drop(first);
        let again = DirLock::acquire(dir.path()).unwrap();
        drop(again);
    }
}
