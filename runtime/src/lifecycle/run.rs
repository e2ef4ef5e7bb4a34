//! `run`: create and start; in the foreground, relay signals and exit with the container.

use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use super::{create, delete, start};
use crate::cli::RunArgs;
use crate::error::{Context, Result};
use crate::state::Store;

/// Signals that report a fault in berth itself and must never be blocked.
const SYNCHRONOUS: [Signal; 6] = [
    Signal::SIGSEGV,
    Signal::SIGBUS,
    Signal::SIGFPE,
    Signal::SIGILL,
    Signal::SIGTRAP,
    Signal::SIGSYS,
];

/// Runs the container; returns berth's exit code (the container's, 128+N if killed by N).
pub fn run(store: &Store, args: &RunArgs, systemd_cgroup: bool) -> Result<i32> {
    let id = &args.create.id;
    let relayed = relayed_signals();
    if !args.detach {
        // Orphans of the container come to us, and so does its process when it is a grandchild.
        nix::sys::prctl::set_child_subreaper(true).context("become a subreaper")?;
        // Blocked before the clone so no signal is lost; the container unblocks them at exec.
        relayed.thread_block().context("block signals")?;
    }
    let (dir, state) = create::create(store, &args.create, systemd_cgroup)?;
    if let Err(e) = start::start_locked(&dir) {
        drop(dir);
        let _ = delete::delete(store, id, true);
        return Err(e);
    }
    drop(dir);
    if args.detach {
        return Ok(0);
    }
    let code = relay_until_exit(&relayed, Pid::from_raw(state.pid))?;
    if !args.keep {
        delete::delete(store, id, true)?;
    }
    Ok(code)
}

fn relayed_signals() -> SigSet {
    let mut set = SigSet::all();
    for signal in SYNCHRONOUS {
        set.remove(signal);
    }
    set
}

/// Forwards every signal berth receives to `pid` and reaps children until `pid` exits.
fn relay_until_exit(signals: &SigSet, pid: Pid) -> Result<i32> {
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
