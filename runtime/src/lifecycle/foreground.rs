//! Waiting in the foreground for a container's process (`run`, `exec`): berth relays the
//! signals it receives to the process and exits with the process's status. When berth holds
//! the process's terminal (no `--console-socket`), it also copies its own stdin to the terminal
//! (in raw mode when stdin is a terminal itself), the terminal's output to its stdout, and its
//! window size on every SIGWINCH.

use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg, Termios};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::error::{Context, Result};
use crate::sys;

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
/// its exit code (128+N when killed by signal N). With `terminal` (the pty master of the
/// process), relays the terminal too.
pub fn relay_until_exit(signals: &SigSet, pid: Pid, terminal: Option<OwnedFd>) -> Result<i32> {
    if let Some(master) = terminal {
        return relay_with_terminal(signals, pid, master);
    }
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

/// [`relay_until_exit`] for a process whose terminal berth holds.
fn relay_with_terminal(signals: &SigSet, pid: Pid, master: OwnedFd) -> Result<i32> {
    let stdin = std::io::stdin();
    let _raw = RawMode::enter(stdin.as_fd());
    copy_window_size(stdin.as_fd(), master.as_fd());
    let signal_fd = SignalFd::with_flags(signals, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .context("signalfd")?;
    let mut master_file = std::fs::File::from(master);
    let mut stdin_open = true;
    let mut buffer = [0u8; 8192];
    loop {
        if let Some(code) = reap(pid)? {
            drain(&mut master_file, &mut buffer);
            return Ok(code);
        }
        let mut fds = vec![PollFd::new(signal_fd.as_fd(), PollFlags::POLLIN)];
        fds.push(PollFd::new(master_file.as_fd(), PollFlags::POLLIN));
        if stdin_open {
            fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Err(nix::Error::EINTR) => continue,
            result => result.context("poll the terminal")?,
        };
        let ready = |i: usize| {
            fds.get(i)
                .and_then(|f| f.revents())
                .is_some_and(|r| !r.is_empty())
        };
        let (signal_ready, master_ready, stdin_ready) = (ready(0), ready(1), ready(2));
        if signal_ready {
            while let Ok(Some(info)) = signal_fd.read_signal() {
                match Signal::try_from(info.ssi_signo as i32) {
                    Ok(Signal::SIGCHLD) | Err(_) => {}
                    Ok(Signal::SIGWINCH) => copy_window_size(stdin.as_fd(), master_file.as_fd()),
                    Ok(signal) => {
                        let _ = kill(pid, signal);
                    }
                }
            }
        }
        if master_ready && !copy_once(&mut master_file, &mut std::io::stdout(), &mut buffer) {
            // The terminal's last peer is closed: only the exit is left to wait for.
            return relay_until_exit(signals, pid, None);
        }
        if stdin_ready {
            stdin_open = copy_once(&mut stdin.lock(), &mut master_file, &mut buffer);
        }
    }
}

/// Copies one read's worth from `from` to `to`; false at end of input or on an error.
fn copy_once(from: &mut impl Read, to: &mut impl Write, buffer: &mut [u8]) -> bool {
    match from.read(buffer) {
        Ok(0) | Err(_) => false,
        Ok(n) => to.write_all(&buffer[..n]).and_then(|()| to.flush()).is_ok(),
    }
}

/// Copies what the terminal still holds once the process has exited.
fn drain(master: &mut std::fs::File, buffer: &mut [u8]) {
    let nonblocking = fcntl(master.as_fd(), FcntlArg::F_SETFL(OFlag::O_NONBLOCK));
    if nonblocking.is_ok() {
        while copy_once(master, &mut std::io::stdout(), buffer) {}
    }
}

/// Gives the terminal `to` the window size of `from`, when `from` is a terminal.
fn copy_window_size(from: BorrowedFd<'_>, to: BorrowedFd<'_>) {
    if let Ok(size) = sys::tty::window_size(from) {
        let _ = sys::tty::set_window_size(to, &size);
    }
}

/// berth's stdin switched to raw mode while it relays a terminal; restored when dropped.
struct RawMode {
    saved: Termios,
}

impl RawMode {
    /// Raw mode for `fd` if it is a terminal.
    fn enter(fd: BorrowedFd<'_>) -> Option<RawMode> {
        let saved = tcgetattr(fd).ok()?;
        let mut raw = saved.clone();
        cfmakeraw(&mut raw);
        tcsetattr(fd, SetArg::TCSANOW, &raw).ok()?;
        Some(RawMode { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, &self.saved);
    }
}
