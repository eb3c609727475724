//! The terminal's session token, kept between runs in the data directory, readable by its owner
//! only (0600 on Unix; on Windows the data directory lies in the user's own profile). Signing out
//! removes it.

use std::io::Write;
use std::path::{Path, PathBuf};

/// File name of the token in the data directory.
pub const TOKEN_FILE: &str = "session-token";
/// Longer than any token the server hands out: anything bigger is not ours.
const MAX_TOKEN_BYTES: u64 = 1024;

fn path(dir: &Path) -> PathBuf {
    dir.join(TOKEN_FILE)
}

/// Saves the token, replacing any earlier one. The file is created owner-only before the token
/// is written into it, and replaced whole (a crash leaves the old token or the new, never half).
pub fn save_token(dir: &Path, token: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let target = path(dir);
    let temp = dir.join(format!("{TOKEN_FILE}.tmp"));
    let _ = std::fs::remove_file(&temp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&temp)?;
    file.write_all(token.as_bytes())?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temp, &target)
}

/// The saved token, if there is one. A token file that others could read (or that is not a
/// token) is removed and not used: it may have been seen.
pub fn load_token(dir: &Path) -> std::io::Result<Option<String>> {
    let target = path(dir);
    let meta = match std::fs::metadata(&target) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!("session token file readable by others; removed, sign in again");
            clear_token(dir)?;
            return Ok(None);
        }
    }
    if !meta.is_file() || meta.len() > MAX_TOKEN_BYTES {
        clear_token(dir)?;
        return Ok(None);
    }
    let text = std::fs::read_to_string(&target)?;
    let token = text.trim();
    if token.is_empty() || !token.chars().all(|c| c.is_ascii_alphanumeric()) {
        clear_token(dir)?;
        return Ok(None);
    }
    Ok(Some(token.to_owned()))
}

/// Removes the saved token (sign-out). No token is fine.
pub fn clear_token(dir: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path(dir)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn a_token_is_saved_loaded_and_cleared() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        assert_eq!(load_token(&data).unwrap(), None);
        save_token(&data, TOKEN).unwrap();
        assert_eq!(load_token(&data).unwrap().as_deref(), Some(TOKEN));
        save_token(&data, "feed").unwrap();
        assert_eq!(load_token(&data).unwrap().as_deref(), Some("feed"), "replaced");
        clear_token(&data).unwrap();
        assert_eq!(load_token(&data).unwrap(), None);
        clear_token(&data).unwrap();
    }

    #[test]
    fn garbage_is_not_a_token() {
        let dir = tempfile::tempdir().unwrap();
        save_token(dir.path(), "not a token\n").unwrap();
        assert_eq!(load_token(dir.path()).unwrap(), None);
        assert!(!dir.path().join(TOKEN_FILE).exists());
    }

    #[cfg(unix)]
    #[test]
    fn the_token_file_is_owner_only_and_a_readable_one_is_dropped() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        // Even over a file that was world-readable before.
        std::fs::write(dir.path().join(TOKEN_FILE), "old").unwrap();
        std::fs::set_permissions(dir.path().join(TOKEN_FILE), std::fs::Permissions::from_mode(0o644)).unwrap();
        save_token(dir.path(), TOKEN).unwrap();
        let mode = std::fs::metadata(dir.path().join(TOKEN_FILE)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        assert_eq!(load_token(dir.path()).unwrap().as_deref(), Some(TOKEN));

        std::fs::set_permissions(dir.path().join(TOKEN_FILE), std::fs::Permissions::from_mode(0o640)).unwrap();
        assert_eq!(load_token(dir.path()).unwrap(), None, "a token others could read is not used");
        assert!(!dir.path().join(TOKEN_FILE).exists(), "and is removed");
    }
}
