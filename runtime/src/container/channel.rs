//! The one typed channel between berth and the container process it is building: a
//! `SOCK_SEQPACKET` socketpair carrying serialized [`Message`]s, one message per packet.

use std::io::IoSliceMut;
use std::os::fd::{AsRawFd, OwnedFd};

use nix::sys::socket::{recvmsg, send, socketpair, AddressFamily, MsgFlags, SockFlag, SockType};
use serde::{Deserialize, Serialize};

use crate::error::{Context, Error, Result};

/// What the two sides of container setup tell each other.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum Message {
    /// Child -> parent: a new user namespace exists; write its uid/gid maps.
    UserNamespaceCreated,
    /// Parent -> child: maps (and anything else the parent owns) are in place; go on.
    Proceed,
    /// Intermediate process -> parent: the host pid of the container process.
    ContainerPid(i32),
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
        let bytes = serde_json::to_vec(message).expect("messages always serialize");
        send(self.socket.as_raw_fd(), &bytes, MsgFlags::MSG_NOSIGNAL)
            .context("send on setup channel")?;
        Ok(())
    }

    /// Waits for the next message. A closed peer is an error: the other side died.
    pub fn recv(&self) -> Result<Message> {
        self.recv_or_closed()?
            .ok_or_else(|| Error::Setup("container process exited during setup".to_string()))
    }

    /// Waits until the peer has called `execve` (which closes its close-on-exec end): a
    /// `Failed` message before that becomes the error it describes.
    pub fn expect_exec(&self) -> Result<()> {
        match self.recv_or_closed()? {
            None => Ok(()),
            Some(Message::Failed(reason)) => Err(Error::Setup(reason)),
            Some(other) => Err(Error::Setup(format!(
                "unexpected setup message {other:?}, wanted the process to exec"
            ))),
        }
    }

    /// The next message, or `None` when the peer has closed its end.
    fn recv_or_closed(&self) -> Result<Option<Message>> {
        let mut buffer = vec![0u8; MAX_MESSAGE];
        let received = loop {
            let mut iov = [IoSliceMut::new(&mut buffer)];
            match recvmsg::<()>(self.socket.as_raw_fd(), &mut iov, None, MsgFlags::empty()) {
                Ok(msg) => break msg.bytes,
                Err(nix::Error::EINTR) => continue,
                Err(e) => return Err(e).context("receive on setup channel"),
            }
        };
        if received == 0 {
            return Ok(None);
        }
        serde_json::from_slice(&buffer[..received])
            .map(Some)
            .map_err(|e| Error::Setup(format!("malformed setup message: {e}")))
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
