//! Writes to procfs on the container's behalf (`linux.sysctl`, `process.oomScoreAdj`), made
//! through a handle on the host's /proc, verified to be procfs, before the container's root is
//! entered: nothing in the rootfs can redirect them.

use std::collections::HashMap;
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;

use nix::fcntl::{open, openat2, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::Mode;
use nix::sys::statfs::{fstatfs, PROC_SUPER_MAGIC};

use crate::error::{Context, Error, Result};

/// An open, verified procfs.
#[derive(Debug)]
pub struct Procfs {
    fd: OwnedFd,
}

impl Procfs {
    /// Opens /proc and checks that it really is procfs.
    pub fn open() -> Result<Procfs> {
        let fd = open(
            "/proc",
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .context("open /proc")?;
        if fstatfs(&fd).context("statfs /proc")?.filesystem_type() != PROC_SUPER_MAGIC {
            return Err(Error::Setup("/proc is not procfs".to_string()));
        }
        Ok(Procfs { fd })
    }

    /// Writes `value` to `relative` (e.g. `sys/net/ipv4/ip_forward`) staying beneath /proc.
    fn write(&self, relative: &str, value: &str) -> std::io::Result<()> {
        let how = OpenHow::new()
            .flags(OFlag::O_WRONLY | OFlag::O_CLOEXEC | OFlag::O_TRUNC)
            .resolve(ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_MAGICLINKS);
        let fd = openat2(self.fd.as_fd(), relative, how)?;
        std::fs::File::from(fd).write_all(value.as_bytes())
    }

    /// Applies `linux.sysctl` in the calling process's namespaces.
    pub fn write_sysctls(&self, sysctls: &HashMap<String, String>) -> Result<()> {
        for (key, value) in sysctls {
            let relative = PathBuf::from("sys").join(key.replace('.', "/"));
            self.write(&relative.to_string_lossy(), value)
                .map_err(|e| Error::config("linux.sysctl", format!("set \"{key}\": {e}")))?;
        }
        Ok(())
    }

    /// Applies `process.oomScoreAdj` to the calling process.
    pub fn write_oom_score_adj(&self, value: i32) -> Result<()> {
        self.write("self/oom_score_adj", &value.to_string())
            .map_err(|e| Error::config("process.oomScoreAdj", e.to_string()))
    }
}
