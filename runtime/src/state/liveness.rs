//! Telling whether the process a state file names is still the container's process.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::unistd::Pid;

use crate::sys;

/// Start time of `pid` in clock ticks since boot, or `None` when it is gone or a zombie.
pub fn process_start_time(pid: Pid) -> Option<u64> {
    let stat = procfs::process::Process::new(pid.as_raw())
        .ok()?
        .stat()
        .ok()?;
    (stat.state != 'Z' && stat.state != 'X').then_some(stat.starttime)
}

/// A handle on a container process that is known to be the one the state names.
#[derive(Debug)]
pub struct LiveProcess {
    pidfd: OwnedFd,
    /// Host pid.
    pub pid: Pid,
}

impl LiveProcess {
    /// Pins `pid` with a pidfd, then checks its start time: `None` if it is not that process.
    pub fn open(pid: Pid, start_time: u64) -> Option<LiveProcess> {
        if pid.as_raw() <= 0 {
            return None;
        }
        let pidfd = sys::pidfd_open(pid).ok()?;
        // Checked after pinning: a pid reused before pidfd_open shows another start time.
        (process_start_time(pid)? == start_time).then_some(LiveProcess { pidfd, pid })
    }

    /// The pidfd, for signalling and waiting.
    pub fn pidfd(&self) -> BorrowedFd<'_> {
        self.pidfd.as_fd()
    }
}
