//! Owner-only files and directories on Windows, the counterpart of Unix's 0600/0700: a protected
//! DACL (nothing inherited from the parent folder) with one entry, full access for the user this
//! process runs as. On a directory the entry is inherited by everything created in it later, as
//! umask 077 does on Unix. Administrators can still take ownership, as root can read a 0600 file.
//!
//! Written on `windows-sys` (Microsoft's raw bindings, already in the tree through tokio, mio and
//! crossterm) rather than the `windows-acl` or `windows-permissions` crates: both are unmaintained
//! since 2019/2021 and would add `winapi` to the build for four calls.

use std::ffi::c_void;
use std::io;
use std::os::windows::ffi::OsStrExt;
use std::path::Path;
use std::ptr::{null, null_mut};

use windows_sys::Win32::Foundation::{CloseHandle, ERROR_SUCCESS, HANDLE, LocalFree};
use windows_sys::Win32::Security::Authorization::{GetNamedSecurityInfoW, SE_FILE_OBJECT, SetNamedSecurityInfoW};
use windows_sys::Win32::Security::{
    ACCESS_ALLOWED_ACE, ACE_HEADER, ACL, ACL_REVISION, AddAccessAllowedAceEx, CONTAINER_INHERIT_ACE,
    DACL_SECURITY_INFORMATION, EqualSid, GetAce, GetLengthSid, GetTokenInformation, InitializeAcl, OBJECT_INHERIT_ACE,
    PROTECTED_DACL_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR, PSID, TOKEN_QUERY, TOKEN_USER, TokenUser,
};
use windows_sys::Win32::Storage::FileSystem::FILE_ALL_ACCESS;
use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};

/// `ACE_HEADER::AceType` of an allow and a deny entry (winnt.h).
const ACCESS_ALLOWED_ACE_TYPE: u8 = 0;
const ACCESS_DENIED_ACE_TYPE: u8 = 1;

/// The SID of the user this process runs as, inside the `TOKEN_USER` buffer it points into.
struct CurrentUser {
    buffer: Vec<u64>,
}

impl CurrentUser {
    fn get() -> io::Result<Self> {
        // SAFETY: the token handle is closed on every path; the buffer is sized by the first call
        // and 8-byte aligned, as TOKEN_USER needs.
        unsafe {
            let mut token: HANDLE = null_mut();
            if OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) == 0 {
                return Err(io::Error::last_os_error());
            }
            let mut len = 0u32;
            GetTokenInformation(token, TokenUser, null_mut(), 0, &mut len);
            let mut buffer = vec![0u64; (len as usize).div_ceil(8).max(1)];
            let ok = GetTokenInformation(token, TokenUser, buffer.as_mut_ptr().cast(), len, &mut len);
            let error = io::Error::last_os_error();
            CloseHandle(token);
            if ok == 0 {
                return Err(error);
            }
            Ok(Self { buffer })
        }
    }

    fn sid(&self) -> PSID {
        // SAFETY: `buffer` holds the TOKEN_USER that GetTokenInformation wrote.
        unsafe { (*self.buffer.as_ptr().cast::<TOKEN_USER>()).User.Sid }
    }
}

fn wide(path: &Path) -> Vec<u16> {
    path.as_os_str().encode_wide().chain(std::iter::once(0)).collect()
}

/// Sets the DACL of `path` to `acl` (null: no DACL at all), protected from inheritance.
fn set_dacl(path: &Path, acl: *const ACL, protected: bool) -> io::Result<()> {
    let name = wide(path);
    let mut info = DACL_SECURITY_INFORMATION;
    if protected {
        info |= PROTECTED_DACL_SECURITY_INFORMATION;
    }
    // SAFETY: `name` is NUL-terminated; `acl` is null or a valid ACL that outlives the call.
    let status =
        unsafe { SetNamedSecurityInfoW(name.as_ptr(), SE_FILE_OBJECT, info, null_mut(), null_mut(), acl, null()) };
    if status != ERROR_SUCCESS {
        return Err(io::Error::from_raw_os_error(status as i32));
    }
    Ok(())
}

/// Makes `path` (a file or a directory) readable and writable by the current user only. On a
/// directory the entry is inherited by files and folders created in it from now on.
pub fn restrict(path: &Path) -> io::Result<()> {
    let user = CurrentUser::get()?;
    let inherit = if std::fs::metadata(path)?.is_dir() { OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE } else { 0 };
    // SAFETY: the ACL buffer is sized for its header and one allow entry holding the SID, and
    // 8-byte aligned; the SID stays alive in `user`.
    unsafe {
        let sid = user.sid();
        let len = size_of::<ACL>() + size_of::<ACCESS_ALLOWED_ACE>() - size_of::<u32>() + GetLengthSid(sid) as usize;
        let mut buffer = vec![0u64; len.div_ceil(8)];
        let acl = buffer.as_mut_ptr().cast::<ACL>();
        if InitializeAcl(acl, len as u32, ACL_REVISION) == 0
            || AddAccessAllowedAceEx(acl, ACL_REVISION, inherit, FILE_ALL_ACCESS, sid) == 0
        {
            return Err(io::Error::last_os_error());
        }
        set_dacl(path, acl, true)
    }
}

/// Whether nobody but the current user is allowed in: every allow entry of the DACL names this
/// user. A missing (null) DACL lets everyone in.
pub fn is_owner_only(path: &Path) -> io::Result<bool> {
    let user = CurrentUser::get()?;
    let name = wide(path);
    let mut dacl: *mut ACL = null_mut();
    let mut descriptor: PSECURITY_DESCRIPTOR = null_mut();
    // SAFETY: the descriptor GetNamedSecurityInfoW allocates is freed below; `dacl` points into
    // it and every entry is read through GetAce within the ACL's own count.
    unsafe {
        let status = GetNamedSecurityInfoW(
            name.as_ptr(),
            SE_FILE_OBJECT,
            DACL_SECURITY_INFORMATION,
            null_mut(),
            null_mut(),
            &mut dacl,
            null_mut(),
            &mut descriptor,
        );
        if status != ERROR_SUCCESS {
            return Err(io::Error::from_raw_os_error(status as i32));
        }
        let mut only = !dacl.is_null();
        if only {
            for index in 0..u32::from((*dacl).AceCount) {
                let mut ace: *mut c_void = null_mut();
                if GetAce(dacl, index, &mut ace) == 0 {
                    only = false;
                    break;
                }
                match (*ace.cast::<ACE_HEADER>()).AceType {
                    ACCESS_DENIED_ACE_TYPE => {}
                    ACCESS_ALLOWED_ACE_TYPE => {
                        let sid: PSID = (&raw mut (*ace.cast::<ACCESS_ALLOWED_ACE>()).SidStart).cast();
                        if EqualSid(sid, user.sid()) == 0 {
                            only = false;
                            break;
                        }
                    }
                    // Object and callback entries: not ours, so not owner-only.
                    _ => {
                        only = false;
                        break;
                    }
                }
            }
        }
        LocalFree(descriptor);
        Ok(only)
    }
}

/// Test helper: removes the DACL, so that everyone may read and write `path`.
#[cfg(test)]
pub fn open_to_everyone(path: &Path) -> io::Result<()> {
    set_dacl(path, null(), false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restricted_file_and_folder_are_the_owners_alone() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("data");
        std::fs::create_dir(&folder).unwrap();
        restrict(&folder).unwrap();
        assert!(is_owner_only(&folder).unwrap());
        // A file created later inherits the folder's one entry.
        let file = folder.join("session-token");
        std::fs::write(&file, "x").unwrap();
        assert!(is_owner_only(&file).unwrap(), "inherited from the folder");
        open_to_everyone(&file).unwrap();
        assert!(!is_owner_only(&file).unwrap(), "a null DACL lets everyone in");
        restrict(&file).unwrap();
        assert!(is_owner_only(&file).unwrap());
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "x", "the owner still reads it");
    }
}
