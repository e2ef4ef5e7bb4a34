//! Waiting in the foreground for a container's process (`run`, `exec`): berth relays the
//! signals it receives to the process and exits with the process's status.

use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::error::{Context, Result};

/// Signals that report a fault in berth itself and must never be blocked.
const SYNCHRONOUS: [Signal; 6] = [
    Signal::SIGSEGV,
    Signal::SIGBUS,
    Signal::SIGFPE,
    Signal::SIGILL,
    Signal::SIGTRAP,
    Signal::SIGSYS,
];

/// Called before the process is cloned. Unless `detach`, makes berth the subreaper of what it
/// starts (the process may be a grandchild; its orphans come to us) and blocks the signals to
/// relay, so none is lost (the process unblocks them at exec). Returns the relayed set.
pub fn prepare(detach: bool) -> Result<SigSet> {
    let mut relayed = SigSet::all();
    for signal in SYNCHRONOUS {
        relayed.remove(signal);
    }
    if !detach {
        nix::sys::prctl::set_child_subreaper(true).context("become a subreaper")?;
        relayed.thread_block().context("block signals")?;
    }
    Ok(relayed)
}

/// Forwards every signal berth receives to `pid` and reaps children until `pid` exits; returns
/// its exit code (128+N when killed by signal N).
pub fn relay_until_exit(signals: &SigSet, pid: Pid) -> Result<i32> {
    loop {
        if let Some(code) = reap(pid)? {
            return Ok(code);
        }
        let signal = signals.wait().context("wait for signals")?;
        if signal != Signal::SIGCHLD {
            let _ = kill(pid, signal);
        }
    }
}

/// Reaps every exited child; returns the exit code once `pid` is among them.
fn reap(pid: Pid) -> Result<Option<i32>> {
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(p, code)) if p == pid => return Ok(Some(code)),
            Ok(WaitStatus::Signaled(p, signal, _)) if p == pid => {
                return Ok(Some(128 + signal as i32))
            }
            Ok(WaitStatus::StillAlive) | Err(nix::Error::ECHILD) => return Ok(None),
            Ok(_) => continue,
            Err(e) => return Err(e).context("wait for the container"),
        }
    }
}
