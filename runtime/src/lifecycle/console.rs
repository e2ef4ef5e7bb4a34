//! The runtime's side of `process.terminal`: runc's rules for when a terminal may be asked
//! for, and handing the pty master to the `--console-socket`.

use std::io::IoSlice;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};

use crate::error::{Context, Error, Result};

/// runc's rules: a detached process with a terminal needs a console socket to hand it to, and
/// a console socket is only for a terminal.
pub fn check_request(terminal: bool, console_socket: Option<&Path>, detached: bool) -> Result<()> {
    match (terminal, console_socket.is_some()) {
        (true, false) if detached => Err(Error::config(
            "process.terminal",
            "cannot allocate a terminal for a detached process without --console-socket",
        )),
        (false, true) => Err(Error::config(
            "--console-socket",
            "given, but process.terminal is false",
        )),
        _ => Ok(()),
    }
}

/// Hands a terminal master to the console socket when there is one; returns it otherwise,
/// for berth to relay.
pub fn hand_over(master: Option<OwnedFd>, socket: Option<&Path>) -> Result<Option<OwnedFd>> {
    match (master, socket) {
        (Some(master), Some(socket)) => send_to_socket(socket, master).map(|()| None),
        (master, _) => Ok(master),
    }
}

/// Sends the pty `master` over the unix socket at `path` (`SCM_RIGHTS`, with the name
/// `/dev/ptmx` as the message, as runc does), then closes it on our side.
fn send_to_socket(path: &Path, master: OwnedFd) -> Result<()> {
    let context = || format!("--console-socket {}", path.display());
    let socket = UnixStream::connect(path).with_context(context)?;
    let fds = [master.as_raw_fd()];
    sendmsg::<()>(
        socket.as_raw_fd(),
        &[IoSlice::new(b"/dev/ptmx")],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::MSG_NOSIGNAL,
        None,
    )
    .with_context(context)?;
    Ok(())
}
