//! `kill`: send a signal to a container's process, or to all of them.

use std::str::FromStr;

use nix::sys::signal::{kill as kill_pid, Signal};

use crate::cli::KillArgs;
use crate::error::{Error, Result};
use crate::resources::ContainerCgroup;
use crate::state::{ContainerState, LiveProcess, Store};
use crate::sys;

/// Sends the signal `args` names to container `args.id`.
pub fn kill(store: &Store, args: &KillArgs) -> Result<()> {
    let signal = parse_signal(&args.signal)?;
    let container = super::live(store, &args.id)?;
    if args.all {
        signal_all(&container.state, &container.process, signal)
    } else {
        signal_process(&container.process, signal)
    }
}

/// Parses `KILL`, `SIGKILL`, `kill` or `9`.
pub fn parse_signal(text: &str) -> Result<Signal> {
    let parsed = match text.parse::<i32>() {
        Ok(number) => Signal::try_from(number).ok(),
        Err(_) => {
            let upper = text.to_ascii_uppercase();
            let name = if upper.starts_with("SIG") {
                upper
            } else {
                format!("SIG{upper}")
            };
            Signal::from_str(&name).ok()
        }
    };
    parsed.ok_or_else(|| Error::config("signal", format!("unknown signal \"{text}\"")))
}

/// Signals the container process through its pidfd.
pub fn signal_process(process: &LiveProcess, signal: Signal) -> Result<()> {
    sys::pidfd_send_signal(process.pidfd(), signal).map_err(|e| match e.raw_os_error() {
        Some(libc::ESRCH) => Error::NotRunning,
        _ => Error::Io {
            context: format!("send {signal} to the container"),
            source: e,
        },
    })
}

/// Signals the container process, then every other process in the container's cgroup, also
/// when the container process has just exited (the result of signalling it is returned). It
/// goes first: once the others die it may exit on its own.
pub fn signal_all(state: &ContainerState, process: &LiveProcess, signal: Signal) -> Result<()> {
    let signalled = signal_process(process, signal);
    if state.cgroup_path.is_empty() {
        return signalled;
    }
    let cgroup = ContainerCgroup::open(&state.cgroup_path)?;
    for pid in cgroup.pids()? {
        if pid != process.pid {
            let _ = kill_pid(pid, signal);
        }
    }
    signalled
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_spellings() {
        for text in ["KILL", "SIGKILL", "kill", "9"] {
            assert_eq!(parse_signal(text).unwrap(), Signal::SIGKILL, "{text}");
        }
        assert!(parse_signal("NOPE").is_err());
        assert!(parse_signal("999").is_err());
    }
}
