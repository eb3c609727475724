//! A small real filesystem for disk-full tests: a 2 MiB tmpfs mounted on a temporary directory
//! when the machine allows it (CI runs as root), unmounted on drop. Where it does not, tests fall
//! back to SQLite's page limit and say so.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct SmallDisk {
    dir: tempfile::TempDir,
    mounted: bool,
}

impl SmallDisk {
    /// A 2 MiB tmpfs, or `None` when this machine cannot mount one (not root, no tmpfs).
    pub fn mount() -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let root = Command::new("id").arg("-u").output().ok()?;
        if String::from_utf8_lossy(&root.stdout).trim() != "0" {
            eprintln!("not root: no tmpfs, falling back to SQLite's page limit");
            return None;
        }
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .ok()?;
        if !status.success() {
            eprintln!("mount -t tmpfs failed: falling back to SQLite's page limit");
            return None;
        }
        Some(Self { dir, mounted: true })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    fn filler(&self) -> PathBuf {
        self.dir.path().join("filler")
    }

    /// Fills every free byte (like `dd if=/dev/zero of=filler`).
    pub fn fill(&self) {
        let mut file = std::fs::File::create(self.filler()).unwrap();
        let block = vec![0u8; 4096];
        loop {
            match file.write(&block) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        // The last partial block, byte by byte.
        while file.write(&[0u8]).is_ok_and(|n| n == 1) {}
        let _ = file.sync_all();
    }

    /// Gives `bytes` of what `fill` took back, so the disk is nearly but not quite full.
    pub fn release(&self, bytes: u64) {
        let file = std::fs::OpenOptions::new().write(true).open(self.filler()).unwrap();
        let len = file.metadata().unwrap().len();
        file.set_len(len.saturating_sub(bytes)).unwrap();
        let _ = file.sync_all();
    }

    /// Frees what `fill` took.
    pub fn free(&self) {
        std::fs::remove_file(self.filler()).unwrap();
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        if self.mounted {
            let _ = Command::new("umount").arg("-l").arg(self.dir.path()).status();
        }
    }
}
