//! The one typed channel between berth and the container process it is building: a
//! `SOCK_SEQPACKET` socketpair carrying serialized [`Message`]s, one message per packet, some
//! with a file descriptor attached (`SCM_RIGHTS`).

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};

use nix::sys::socket::{
    recvmsg, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags,
    SockFlag, SockType,
};
use serde::{Deserialize, Serialize};

use crate::error::{Context, Error, Result};
use crate::sys;

/// What the two sides of container setup tell each other.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum Message {
    /// Child -> parent: a new user namespace exists; write its uid/gid maps.
    UserNamespaceCreated,
    /// Parent -> child: maps (and anything else the parent owns) are in place; go on.
    Proceed,
    /// Intermediate process -> parent: the host pid of the container process.
    ContainerPid(i32),
    /// Container process -> parent: its seccomp filter is loaded; the filter's notification
    /// listener is attached, for the parent to send to the seccomp agent.
    SeccompListener,
    /// Container process -> parent: the master of the pseudo-terminal it made for
    /// `process.terminal` is attached.
    Terminal,
    /// Container process -> parent: the mounts are done; run the prestart and createRuntime
    /// hooks, then send `Proceed`.
    CreateRuntimeHooks,
    /// Container process -> parent: set up, now waiting for `start`.
    Ready,
    /// Either side: setup failed, with a one-line reason.
    Failed(String),
}

const MAX_MESSAGE: usize = 64 * 1024;

/// One end of the channel.
#[derive(Debug)]
pub struct Channel {
    socket: OwnedFd,
}

impl AsRawFd for Channel {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }
}

impl Channel {
    /// Creates a connected pair of ends, both close-on-exec.
    pub fn pair() -> Result<(Channel, Channel)> {
        let (a, b) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .context("create setup channel")?;
        Ok((Channel { socket: a }, Channel { socket: b }))
    }

    /// Sends one message.
    pub fn send(&self, message: &Message) -> Result<()> {
        self.send_with_fds(message, &[])
    }

    /// Sends one message with `fd` attached.
    pub fn send_fd(&self, message: &Message, fd: BorrowedFd<'_>) -> Result<()> {
        self.send_with_fds(message, &[fd.as_raw_fd()])
    }

    fn send_with_fds(&self, message: &Message, fds: &[RawFd]) -> Result<()> {
        let bytes = serde_json::to_vec(message).expect("messages always serialize");
        let rights = [ControlMessage::ScmRights(fds)];
        let control = if fds.is_empty() { &[][..] } else { &rights[..] };
        sendmsg::<()>(
            self.socket.as_raw_fd(),
            &[IoSlice::new(&bytes)],
            control,
            MsgFlags::MSG_NOSIGNAL,
            None,
        )
        .context("send on setup channel")?;
        Ok(())
    }

    /// Waits for the next message. A closed peer is an error: the other side died. An fd
    /// attached to the message is closed.
    pub fn recv(&self) -> Result<Message> {
        self.recv_with_fd().map(|(message, _)| message)
    }

    /// Waits for the next message and the fd attached to it, if any (close-on-exec). A closed
    /// peer is an error.
    pub fn recv_with_fd(&self) -> Result<(Message, Option<OwnedFd>)> {
        self.recv_or_closed()?
            .ok_or_else(|| Error::Setup("container process exited during setup".to_string()))
    }

    /// Waits until the peer has called `execve` (which closes its close-on-exec end); returns
    /// the fds it sent on the way (`Terminal`, `SeccompListener`) with their messages. A
    /// `Failed` message becomes the error it describes.
    pub fn expect_exec(&self) -> Result<Vec<(Message, OwnedFd)>> {
        let mut fds = Vec::new();
        loop {
            match self.recv_or_closed()? {
                None => return Ok(fds),
                Some((Message::Failed(reason), _)) => return Err(Error::Setup(reason)),
                Some((message @ (Message::Terminal | Message::SeccompListener), Some(fd))) => {
                    fds.push((message, fd))
                }
                Some((other, _)) => {
                    return Err(Error::Setup(format!(
                        "unexpected setup message {other:?}, wanted the process to exec"
                    )))
                }
            }
        }
    }

    /// The next message with its fd, or `None` when the peer has closed its end.
    fn recv_or_closed(&self) -> Result<Option<(Message, Option<OwnedFd>)>> {
        let mut buffer = vec![0u8; MAX_MESSAGE];
        let mut control = nix::cmsg_space!([RawFd; 1]);
        let (received, fd) = loop {
            let mut iov = [IoSliceMut::new(&mut buffer)];
            match recvmsg::<()>(
                self.socket.as_raw_fd(),
                &mut iov,
                Some(&mut control),
                MsgFlags::MSG_CMSG_CLOEXEC,
            ) {
                Ok(msg) => {
                    let fds: Vec<RawFd> = msg
                        .cmsgs()
                        .context("receive on setup channel")?
                        .filter_map(|c| match c {
                            ControlMessageOwned::ScmRights(fds) => Some(fds),
                            _ => None,
                        })
                        .flatten()
                        .collect();
                    // Owned at once, so that any fd beyond the first is closed.
                    let first = sys::own_received_fds(fds).into_iter().next();
                    break (msg.bytes, first);
                }
                Err(nix::Error::EINTR) => continue,
                Err(e) => return Err(e).context("receive on setup channel"),
            }
        };
        if received == 0 {
            return Ok(None);
        }
        let message = serde_json::from_slice(&buffer[..received])
            .map_err(|e| Error::Setup(format!("malformed setup message: {e}")))?;
        Ok(Some((message, fd)))
    }

    /// Waits for `expected`; a `Failed` message becomes the error it describes.
    pub fn expect(&self, expected: Message) -> Result<()> {
        match self.recv()? {
            m if m == expected => Ok(()),
            Message::Failed(reason) => Err(Error::Setup(reason)),
            other => Err(Error::Setup(format!(
                "unexpected setup message {other:?}, wanted {expected:?}"
            ))),
        }
    }
}
