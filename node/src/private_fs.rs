//! Files and directories only their owner may read, like the seed and the API token: the
//! SQLite databases (`wallet.sqlite`, `payments.sqlite`, mode 0600) and LDK's state directory
//! (`ldk/`, mode 0700). Each is created with its mode (never briefly readable by others), and
//! one found with broader permissions (left by an older version, or a copy) is tightened.
//! No-ops off Unix.

use std::io;
use std::path::Path;

/// Creates the directory `path` (its parent must exist) with mode 0700, or tightens an
/// existing one to its owner.
pub(crate) fn dir(path: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    match builder.create(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && path.is_dir() => tighten(path),
        Err(e) => Err(e),
    }
}

/// Creates the file `path` empty with mode 0600 if absent (SQLite reads an empty file as an
/// empty database, and gives its `-wal` and `-shm` files the database's mode), or tightens an
/// existing one, and the `-wal` and `-shm` files beside it, to their owner.
pub(crate) fn database(path: &Path) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            tighten(path)?;
            for suffix in ["-wal", "-shm"] {
                let mut side = path.as_os_str().to_owned();
                side.push(suffix);
                match tighten(Path::new(&side)) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
            }
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// Drops the group and other permission bits of `path` if it has any.
#[cfg(unix)]
fn tighten(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)?.permissions().mode();
    if mode & 0o077 != 0 {
        tracing::info!(
            path = %path.display(),
            "readable by others (mode {:o}); making it owner-only",
            mode & 0o777
        );
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn tighten(path: &Path) -> io::Result<()> {
    std::fs::metadata(path).map(drop)
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn created_private_and_tightened_when_found_open() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().join("ldk");
        dir(&d).unwrap();
        assert_eq!(mode(&d), 0o700);
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
        dir(&d).unwrap();
        assert_eq!(mode(&d), 0o700);

        let db = tmp.path().join("x.sqlite");
        database(&db).unwrap();
        assert_eq!(mode(&db), 0o600);
        std::fs::write(&db, b"kept").unwrap();
        let wal = tmp.path().join("x.sqlite-wal");
        std::fs::write(&wal, b"").unwrap();
        for p in [&db, &wal] {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        database(&db).unwrap();
        assert_eq!(mode(&db), 0o600);
        assert_eq!(mode(&wal), 0o600);
        assert_eq!(std::fs::read(&db).unwrap(), b"kept");

        // A file where the directory should be is an error, not silently accepted.
        let file = tmp.path().join("file");
        std::fs::write(&file, b"").unwrap();
        assert!(dir(&file).is_err());
    }
}
