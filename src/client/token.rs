//! The terminal's session token, kept between runs in the data directory, readable by its owner
//! only (0600 on Unix; on Windows an ACL with the current user alone, see
//! [`crate::config::owner_only`]). Signing out removes it.
//!
//! The token is kept with the origin of the server that issued it (`https://host:port`): a
//! terminal started against another URL does not send it there, it signs in again. A sign-out
//! the server did not hear (the terminal was offline) leaves a pending revocation beside it: the
//! token is sent once more, to end the session, at the next contact with that server.

use std::io::Write;
use std::path::{Path, PathBuf};

/// File name of the token in the data directory.
pub const TOKEN_FILE: &str = "session-token";
/// File name of a token whose session is still to be ended on the server.
pub const REVOCATION_FILE: &str = "session-token.revoke";
/// Longer than any token and origin we keep: anything bigger is not ours.
const MAX_FILE_BYTES: u64 = 4096;

/// The origin a token is bound to: scheme, host and port of a server URL, as the browser
/// security model means it (`https://a.example:8443`); the text itself if it is no URL.
pub fn origin_of(server_url: &str) -> String {
    match reqwest::Url::parse(server_url.trim()) {
        Ok(url) => url.origin().ascii_serialization(),
        Err(_) => server_url.trim().to_owned(),
    }
}

fn path(dir: &Path) -> PathBuf {
    dir.join(TOKEN_FILE)
}

/// Saves the token issued by `origin`, replacing any earlier one. The file is created owner-only
/// before the token is written into it, and replaced whole (a crash leaves the old token or the
/// new, never half).
pub fn save_token(dir: &Path, origin: &str, token: &str) -> std::io::Result<()> {
    write_owner_only(dir, TOKEN_FILE, origin, token)
}

fn write_owner_only(dir: &Path, name: &str, origin: &str, token: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let target = dir.join(name);
    let temp = dir.join(format!("{name}.tmp"));
    let _ = std::fs::remove_file(&temp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&temp)?;
    #[cfg(windows)]
    if let Err(e) = crate::config::owner_only::restrict(&temp) {
        drop(file);
        let _ = std::fs::remove_file(&temp);
        return Err(e);
    }
    file.write_all(format!("{}\n{token}\n", origin.trim()).as_bytes())?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temp, &target)
}

/// The saved token, if there is one and `origin` issued it. A token file that others could read
/// (or that is not a token) is removed and not used: it may have been seen. A token of another
/// server is not sent: this terminal now talks to `origin`, and signs in there (which replaces
/// the kept token).
pub fn load_token(dir: &Path, origin: &str) -> std::io::Result<Option<String>> {
    let Some((kept_origin, token)) = read_owner_only(dir, TOKEN_FILE)? else { return Ok(None) };
    if kept_origin != origin.trim() {
        tracing::info!(kept = %kept_origin, now = %origin, "kept session belongs to another server; sign in again");
        return Ok(None);
    }
    Ok(Some(token))
}

/// `(origin, token)` of a file written by [`write_owner_only`]; anything else is removed.
fn read_owner_only(dir: &Path, name: &str) -> std::io::Result<Option<(String, String)>> {
    let target = dir.join(name);
    let meta = match std::fs::metadata(&target) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let remove = || match std::fs::remove_file(&target) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(None),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(file = name, "session token file readable by others; removed, sign in again");
            return remove();
        }
    }
    #[cfg(windows)]
    if meta.is_file() && !crate::config::owner_only::is_owner_only(&target)? {
        tracing::warn!(file = name, "session token file readable by others; removed, sign in again");
        return remove();
    }
    if !meta.is_file() || meta.len() > MAX_FILE_BYTES {
        return remove();
    }
    let text = std::fs::read_to_string(&target)?;
    let mut lines = text.lines();
    let (Some(origin), Some(token), None) = (lines.next(), lines.next(), lines.next()) else {
        // Also a file of an earlier version, which kept no origin.
        return remove();
    };
    let token = token.trim();
    if origin.trim().is_empty() || token.is_empty() || !token.chars().all(|c| c.is_ascii_alphanumeric()) {
        return remove();
    }
    Ok(Some((origin.trim().to_owned(), token.to_owned())))
}

/// File name of a hall device's token in the data directory: `device-kiosk.token`, one per kind
/// (a PC may be both the kiosk and the display).
pub fn device_token_file(word: &str) -> String {
    format!("device-{word}.token")
}

/// Environment variable that gives a device its token instead of the file.
pub const DEVICE_TOKEN_ENV: &str = "BIANMIN_DEVICE_TOKEN";

/// Keeps a device's token (`bianmin admin device add`), owner-only, with its account id on the
/// first line so that a person looking at the file knows which device it is.
pub fn save_device_token(dir: &Path, word: &str, account: &str, token: &str) -> std::io::Result<PathBuf> {
    let name = device_token_file(word);
    write_owner_only(dir, &name, account, token)?;
    Ok(dir.join(name))
}

/// A device's token: `BIANMIN_DEVICE_TOKEN`, or the file kept in the data directory (a file
/// others could read is removed and not used, as for the session token).
pub fn load_device_token(dir: &Path, word: &str) -> std::io::Result<Option<String>> {
    if let Ok(token) = std::env::var(DEVICE_TOKEN_ENV)
        && !token.trim().is_empty()
    {
        return Ok(Some(token.trim().to_owned()));
    }
    Ok(read_owner_only(dir, &device_token_file(word))?.map(|(_, token)| token))
}

/// Removes the saved token (sign-out). No token is fine.
pub fn clear_token(dir: &Path) -> std::io::Result<()> {
    remove_if_there(&path(dir))
}

fn remove_if_there(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Remembers that the session of `token` at `origin` is still to be ended: the sign-out did not
/// reach the server. Replaces an earlier mark (a terminal has one session at a time).
pub fn mark_revocation(dir: &Path, origin: &str, token: &str) -> std::io::Result<()> {
    write_owner_only(dir, REVOCATION_FILE, origin, token)
}

/// The token whose session `origin` has still to end, if any. A mark for another server is left
/// for when the terminal talks to that one again.
pub fn pending_revocation(dir: &Path, origin: &str) -> std::io::Result<Option<String>> {
    Ok(read_owner_only(dir, REVOCATION_FILE)?.filter(|(o, _)| o == origin.trim()).map(|(_, token)| token))
}

pub fn clear_revocation(dir: &Path) -> std::io::Result<()> {
    remove_if_there(&dir.join(REVOCATION_FILE))
}

/// Ends the session of a pending revocation at the client's server, if there is one. `Ok(true)`
/// when one was ended (or the server no longer knew it); an offline server leaves the mark for
/// the next contact.
pub async fn revoke_pending(dir: &Path, client: &super::ApiClient) -> Result<bool, super::ClientError> {
    let origin = client.base().origin().ascii_serialization();
    let Ok(Some(token)) = pending_revocation(dir, &origin) else { return Ok(false) };
    client.revoke(&token).await?;
    if let Err(e) = clear_revocation(dir) {
        tracing::warn!(error = %e, "pending revocation done but its mark not removed");
    }
    tracing::info!("a session signed out while offline has been ended on the server");
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    const ORIGIN: &str = "https://bianmin.example:8443";

    #[test]
    fn a_device_token_is_kept_owner_only_and_not_used_once_others_could_read_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = save_device_token(dir.path(), "kiosk", "kiosk-1", TOKEN).unwrap();
        if std::env::var(DEVICE_TOKEN_ENV).is_err() {
            assert_eq!(load_device_token(dir.path(), "kiosk").unwrap().as_deref(), Some(TOKEN));
            assert_eq!(load_device_token(dir.path(), "display").unwrap(), None, "one file per kind");
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            if std::env::var(DEVICE_TOKEN_ENV).is_err() {
                assert_eq!(load_device_token(dir.path(), "kiosk").unwrap(), None);
                assert!(!path.exists(), "a token others could read is removed");
            }
        }
        #[cfg(windows)]
        {
            use crate::config::owner_only;
            assert!(owner_only::is_owner_only(&path).unwrap());
            owner_only::open_to_everyone(&path).unwrap();
            if std::env::var(DEVICE_TOKEN_ENV).is_err() {
                assert_eq!(load_device_token(dir.path(), "kiosk").unwrap(), None);
                assert!(!path.exists(), "a token others could read is removed");
            }
        }
    }

    #[test]
    fn origins_are_scheme_host_and_port() {
        assert_eq!(origin_of("https://Bianmin.Example:8443/api/"), ORIGIN);
        assert_eq!(origin_of("https://bianmin.example:443"), "https://bianmin.example");
        assert_eq!(origin_of("http://127.0.0.1:9000"), "http://127.0.0.1:9000");
        assert_ne!(origin_of("http://bianmin.example:8443"), ORIGIN, "the scheme counts");
    }

    #[test]
    fn a_token_is_used_only_with_the_server_that_issued_it() {
        let dir = tempfile::tempdir().unwrap();
        save_token(dir.path(), ORIGIN, TOKEN).unwrap();
        assert_eq!(
            load_token(dir.path(), &origin_of("https://bianmin.example:8443/")).unwrap().as_deref(),
            Some(TOKEN)
        );
        assert_eq!(load_token(dir.path(), "https://evil.example").unwrap(), None, "not sent to another server");
        assert_eq!(load_token(dir.path(), "http://bianmin.example:8443").unwrap(), None, "nor over plain HTTP");
        save_token(dir.path(), "https://evil.example", "feed").unwrap();
        assert_eq!(load_token(dir.path(), ORIGIN).unwrap(), None, "signing in elsewhere replaces it");
    }

    #[test]
    fn a_pending_revocation_is_kept_per_server_until_cleared() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(pending_revocation(dir.path(), ORIGIN).unwrap(), None);
        mark_revocation(dir.path(), ORIGIN, TOKEN).unwrap();
        assert_eq!(pending_revocation(dir.path(), "https://other.example").unwrap(), None);
        assert_eq!(pending_revocation(dir.path(), ORIGIN).unwrap().as_deref(), Some(TOKEN));
        clear_revocation(dir.path()).unwrap();
        assert_eq!(pending_revocation(dir.path(), ORIGIN).unwrap(), None);
    }

    #[test]
    fn a_token_is_saved_loaded_and_cleared() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        assert_eq!(load_token(&data, ORIGIN).unwrap(), None);
        save_token(&data, ORIGIN, TOKEN).unwrap();
        assert_eq!(load_token(&data, ORIGIN).unwrap().as_deref(), Some(TOKEN));
        save_token(&data, ORIGIN, "feed").unwrap();
        assert_eq!(load_token(&data, ORIGIN).unwrap().as_deref(), Some("feed"), "replaced");
        clear_token(&data).unwrap();
        assert_eq!(load_token(&data, ORIGIN).unwrap(), None);
        clear_token(&data).unwrap();
    }

    #[test]
    fn garbage_is_not_a_token() {
        let dir = tempfile::tempdir().unwrap();
        save_token(dir.path(), ORIGIN, "not a token\n").unwrap();
        assert_eq!(load_token(dir.path(), ORIGIN).unwrap(), None);
        assert!(!dir.path().join(TOKEN_FILE).exists());
        // A file of an earlier version: a token without its origin.
        std::fs::write(dir.path().join(TOKEN_FILE), TOKEN).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path().join(TOKEN_FILE), std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        assert_eq!(load_token(dir.path(), ORIGIN).unwrap(), None);
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
        save_token(dir.path(), ORIGIN, TOKEN).unwrap();
        let mode = std::fs::metadata(dir.path().join(TOKEN_FILE)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        assert_eq!(load_token(dir.path(), ORIGIN).unwrap().as_deref(), Some(TOKEN));

        std::fs::set_permissions(dir.path().join(TOKEN_FILE), std::fs::Permissions::from_mode(0o640)).unwrap();
        assert_eq!(load_token(dir.path(), ORIGIN).unwrap(), None, "a token others could read is not used");
        assert!(!dir.path().join(TOKEN_FILE).exists(), "and is removed");
    }

    #[cfg(windows)]
    #[test]
    fn the_token_file_is_owner_only_and_a_readable_one_is_dropped() {
        use crate::config::owner_only;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(TOKEN_FILE);
        // Even over a file that everyone could read before.
        std::fs::write(&file, "old").unwrap();
        owner_only::open_to_everyone(&file).unwrap();
        save_token(dir.path(), ORIGIN, TOKEN).unwrap();
        assert!(owner_only::is_owner_only(&file).unwrap());
        assert_eq!(load_token(dir.path(), ORIGIN).unwrap().as_deref(), Some(TOKEN));

        owner_only::open_to_everyone(&file).unwrap();
        assert_eq!(load_token(dir.path(), ORIGIN).unwrap(), None, "a token others could read is not used");
        assert!(!file.exists(), "and is removed");
    }
}
