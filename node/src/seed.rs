//! The node seed: 32 random bytes in `<data dir>/seed`, created with mode 0600 at first start.

use std::io::Write;
use std::path::Path;

use crate::error::BuildError;

/// Reads the seed at `path`, creating it (mode 0600, never overwritten) if absent.
pub fn load_or_create(path: &Path) -> Result<[u8; 32], BuildError> {
    match std::fs::read(path) {
        Ok(bytes) => bytes.try_into().map_err(|b: Vec<u8>| BuildError::BadSeed {
            path: path.to_path_buf(),
            len: b.len(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut seed = [0u8; 32];
            getrandom::getrandom(&mut seed)
                .map_err(|e| BuildError::io("drawing the seed", std::io::Error::other(e)))?;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut file = options
                .open(path)
                .map_err(|e| BuildError::io(format!("creating seed {}", path.display()), e))?;
            file.write_all(&seed)
                .and_then(|()| file.sync_all())
                .map_err(|e| BuildError::io(format!("writing seed {}", path.display()), e))?;
            Ok(seed)
        }
        Err(e) => Err(BuildError::io(
            format!("reading seed {}", path.display()),
            e,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_with_mode_0600_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seed");
        let first = load_or_create(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(load_or_create(&path).unwrap(), first);
        std::fs::write(&path, [1u8; 31]).unwrap();
        assert!(matches!(
            load_or_create(&path),
            Err(BuildError::BadSeed { len: 31, .. })
        ));
    }
}
