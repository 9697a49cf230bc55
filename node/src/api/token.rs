//! The admin API's bearer token: 32 random bytes in hex, kept in a file readable by its owner
//! only (mode 0600), created at first start and read back on later starts.

use std::io::{ErrorKind, Write};
use std::path::Path;

use super::ApiError;

/// Length of the token in hex characters.
const TOKEN_HEX_LEN: usize = 64;

/// Reads the token from `path`, or creates the file with a fresh token if it does not exist.
pub(crate) fn load_or_create(path: &Path) -> Result<String, ApiError> {
    let io_err = |source| ApiError::TokenFile {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io_err)?;
    }
    let token = random_token()?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(format!("{token}\n").as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(io_err)?;
            Ok(token)
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => read(path),
        Err(e) => Err(io_err(e)),
    }
}

/// Reads and checks an existing token file.
fn read(path: &Path) -> Result<String, ApiError> {
    let text = std::fs::read_to_string(path).map_err(|source| ApiError::TokenFile {
        path: path.to_path_buf(),
        source,
    })?;
    let token = text.trim();
    if token.len() != TOKEN_HEX_LEN || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::BadTokenFile {
            path: path.to_path_buf(),
            reason: format!("expected {TOKEN_HEX_LEN} hex characters"),
        });
    }
    Ok(token.to_ascii_lowercase())
}

fn random_token() -> Result<String, ApiError> {
    let mut bytes = [0u8; TOKEN_HEX_LEN / 2];
    getrandom::getrandom(&mut bytes).map_err(|e| ApiError::Random(e.to_string()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Whether an `Authorization` header value carries `token` as a bearer token: the scheme
/// `Bearer` in any case (RFC 9110 §11.1: auth schemes are case-insensitive), one or more
/// spaces, the token. The comparison of the token bytes takes the same time wherever they
/// differ.
pub(crate) fn authorized(header: Option<&[u8]>, token: &str) -> bool {
    let Some(value) = header else {
        return false;
    };
    let Some((scheme, credentials)) = value.split_at_checked(b"Bearer".len()) else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case(b"Bearer") || credentials.first() != Some(&b' ') {
        return false;
    }
    let given = credentials.trim_ascii_start();
    let want = token.as_bytes();
    if given.len() != want.len() {
        return false;
    }
    given
        .iter()
        .zip(want)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_header_is_checked_exactly() {
        let token = "ab".repeat(32);
        let good = format!("Bearer {token}");
        assert!(authorized(Some(good.as_bytes()), &token));
        assert!(!authorized(None, &token));
        assert!(!authorized(Some(token.as_bytes()), &token));
        assert!(!authorized(Some(b"Bearer "), &token));
        let wrong = format!("Bearer {}", "ac".repeat(32));
        assert!(!authorized(Some(wrong.as_bytes()), &token));
        let longer = format!("Bearer {token}0");
        assert!(!authorized(Some(longer.as_bytes()), &token));
        // The scheme is case-insensitive and may be followed by several spaces (RFC 9110).
        for scheme in ["bearer", "BEARER", "bEaReR"] {
            let header = format!("{scheme} {token}");
            assert!(authorized(Some(header.as_bytes()), &token), "{header}");
        }
        let spaced = format!("Bearer   {token}");
        assert!(authorized(Some(spaced.as_bytes()), &token));
        // But it is still the bearer scheme, a space, and exactly the token.
        for bad in [
            format!("Bearer{token}"),
            format!("Bearer\t{token}"),
            format!("Basic {token}"),
            format!("Bearers {token}"),
            format!("Bearer {}", token.to_ascii_uppercase()),
            "Bearer".to_string(),
        ] {
            assert!(!authorized(Some(bad.as_bytes()), &token), "{bad}");
        }
    }

    #[test]
    fn token_file_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("api_token");
        let first = load_or_create(&path).unwrap();
        assert_eq!(first.len(), 64);
        assert_eq!(load_or_create(&path).unwrap(), first);
        std::fs::write(&path, "not a token").unwrap();
        assert!(matches!(
            load_or_create(&path),
            Err(ApiError::BadTokenFile { .. })
        ));
    }
}
