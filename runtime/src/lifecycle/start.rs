//! `start`: let a created container's process run the user's program.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::Signal;

use oci_spec::runtime::ContainerState as OciStatus;

use crate::error::{Context, Error, Result};
use crate::hooks::{self, HookKind};
use crate::state::{live_status, oci_state, ContainerDir, ContainerState, Status, Store};

/// Starts container `id`.
pub fn start(store: &Store, id: &str) -> Result<ContainerState> {
    start_locked(&store.open_container(id)?)
}

/// Starts the container whose directory the caller holds locked.
pub fn start_locked(dir: &ContainerDir) -> Result<ContainerState> {
    let mut state = dir.load()?;
    let fifo_path = dir.fifo_path();
    match live_status(&state, &fifo_path).0 {
        Status::Created => {}
        Status::Stopped => {
            return Err(Error::InvalidState(
                "cannot start a container that has stopped".to_string(),
            ))
        }
        _ => {
            return Err(Error::InvalidState(
                "cannot start an already running container".to_string(),
            ))
        }
    }
    // Non-blocking: with no reader left (the process died), this fails instead of hanging.
    let mut fifo = match OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo_path)
    {
        Ok(fifo) => fifo,
        Err(e) if e.raw_os_error() == Some(libc::ENXIO) => return Err(Error::NotRunning),
        Err(e) => return Err(e).context("open exec fifo"),
    };
    // Opened before the byte goes in: it tells when the container process has closed its end.
    let watcher = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo_path)
        .context("open exec fifo")?;
    fifo.write_all(&[0])
        .context("signal the container to start")?;
    drop(fifo);
    fs::remove_file(&fifo_path).context("remove exec fifo")?;
    state.status = Status::Running;
    dir.save(&state)?;
    let spec = super::bundle_spec(&state)?;
    if !hooks::configured(&spec, HookKind::Poststart).is_empty() {
        // runtime.md: poststart runs after the user's program started, i.e. once the container
        // process has run its startContainer hooks and exec'd (its close-on-exec end closes).
        wait_for_exec(&watcher);
    }
    let hook_state = oci_state(
        &state.id,
        OciStatus::Running,
        state.pid,
        &state.bundle,
        Some(&state.annotations),
    );
    if let Err(e) = hooks::run(&spec, HookKind::Poststart, &hook_state) {
        // runtime.md: a failing poststart hook is an error and stops the container; `delete`
        // then destroys it and runs the poststop hooks.
        if let (_, Some(process)) = live_status(&state, &fifo_path) {
            let _ = super::kill::signal_all(&state, &process, Signal::SIGKILL);
        }
        return Err(e);
    }
    Ok(state)
}

/// Waits until the last writer of the exec fifo, the container process, has closed it: at its
/// `execve` (or its exit). The byte `start` wrote is left for the container process to read.
fn wait_for_exec(watcher: &fs::File) {
    loop {
        let mut fds = [PollFd::new(watcher.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(100u16)) {
            Ok(_)
                if fds[0]
                    .revents()
                    .is_some_and(|r| r.contains(PollFlags::POLLHUP)) =>
            {
                return
            }
            // The byte is still there (POLLIN) or nothing happened yet: look again shortly.
            Ok(_) | Err(nix::Error::EINTR) => {
                std::thread::sleep(std::time::Duration::from_millis(1))
            }
            Err(_) => return,
        }
    }
}
