//! `delete`: remove a stopped container (with `--force`, stop it first).

use std::os::fd::AsFd;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::Signal;

use super::kill::signal_all;

use crate::error::{Error, Result};
use crate::resources::{remove_cgroup, ContainerCgroup};
use crate::state::{live_status, LiveProcess, Status, Store};

/// How long `delete --force` waits for a killed container to exit.
const KILL_TIMEOUT_MS: u16 = 10_000;

/// Deletes container `id`.
pub fn delete(store: &Store, id: &str, force: bool) -> Result<()> {
    let dir = match store.open_container(id) {
        Ok(dir) => dir,
        Err(Error::NotExist(_)) if force => return store.remove_leftover(id),
        Err(e) => return Err(e),
    };
    let state = dir.load()?;
    match live_status(&state, &dir.fifo_path()) {
        (Status::Stopped, _) | (_, None) => {}
        (status, Some(process)) if force => {
            match signal_all(&state, &process, Signal::SIGKILL) {
                // It exited on its own meanwhile: what is left of it goes below.
                Err(Error::NotRunning) => {}
                result => result?,
            }
            // Frozen processes only die once thawed.
            if status == Status::Paused {
                ContainerCgroup::open(&state.cgroup_path)?.freeze(false)?;
            }
            wait_for_exit(&process)?;
        }
        (status, _) => {
            return Err(Error::InvalidState(format!(
                "cannot delete container {id} that is not stopped: {status}"
            )))
        }
    }
    if let Ok(cgroup) = ContainerCgroup::open(&state.cgroup_path) {
        remove_cgroup(cgroup)?;
    }
    // Read before the container is gone; a bundle removed meanwhile has no hooks left to run.
    let spec = super::bundle_spec(&state).ok();
    dir.remove()?;
    if let Some(spec) = spec {
        super::run_poststop(
            &spec,
            id,
            state.pid,
            &state.bundle,
            Some(&state.annotations),
        );
    }
    Ok(())
}

/// Waits until the process has exited (its pidfd turns readable).
fn wait_for_exit(process: &LiveProcess) -> Result<()> {
    let pidfd = process.pidfd();
    let mut fds = [PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
    match poll(&mut fds, PollTimeout::from(KILL_TIMEOUT_MS)) {
        Ok(n) if n > 0 => Ok(()),
        _ => Err(Error::InvalidState(format!(
            "container process {} did not exit after SIGKILL",
            process.pid
        ))),
    }
}
