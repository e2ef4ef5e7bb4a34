//! Handing the listener of a notifying filter to the seccomp agent at `listenerPath`: one
//! connection, one container process state (config-linux.md, "The Container Process State")
//! with the listener as its `seccompFd`, then the connection is closed.

use std::io::{IoSlice, Write};
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::net::UnixStream;

use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
use oci_spec::runtime::{ContainerProcessStateBuilder, State, SECCOMP_FD_NAME};

use super::Listener;
use crate::error::{Error, Result};

/// Sends `state` and the listener `fd` to the agent; any failure is an error naming
/// `listenerPath`, as the spec requires.
pub fn send_listener(listener: &Listener, state: State, fd: BorrowedFd<'_>) -> Result<()> {
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        Error::config(
            "linux.seccomp.listenerPath",
            format!("{what} {}: {e}", listener.path.display()),
        )
    };
    let mut builder = ContainerProcessStateBuilder::default()
        .version(crate::SPEC_VERSION)
        .fds(vec![SECCOMP_FD_NAME.to_string()])
        .pid(state.pid().unwrap_or_default());
    if let Some(metadata) = &listener.metadata {
        builder = builder.metadata(metadata.clone());
    }
    let process_state = builder
        .state(state)
        .build()
        .map_err(|e| fail("describe the container for", &e))?;
    let payload = serde_json::to_vec(&process_state).expect("the state always serializes");
    let mut stream = UnixStream::connect(&listener.path).map_err(|e| fail("connect to", &e))?;
    let fds = [fd.as_raw_fd()];
    // The fd travels with the first bytes; the rest, if the kernel took only part, follows.
    let sent = loop {
        match sendmsg::<()>(
            stream.as_raw_fd(),
            &[IoSlice::new(&payload)],
            &[ControlMessage::ScmRights(&fds)],
            MsgFlags::MSG_NOSIGNAL,
            None,
        ) {
            Err(nix::Error::EINTR) => continue,
            other => break other.map_err(|e| fail("send the listener to", &e))?,
        }
    };
    stream
        .write_all(&payload[sent..])
        .map_err(|e| fail("send the container state to", &e))
}
