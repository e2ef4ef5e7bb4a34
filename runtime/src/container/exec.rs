//! `exec`: a new process in a running container. It is cloned into the container's cgroup,
//! joins the namespaces of the container's process through its pidfd, forks once more so that
//! the pid and time namespaces apply, and takes the process's own identity before `execve`.

use std::convert::Infallible;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::sched::{setns, CloneFlags};
use nix::unistd::{setsid, Pid};
use oci_spec::runtime::{Process, State};

use super::channel::{Channel, Message};
use super::spawn::{clone_child, close_inherited_fds, kill_all, receive_pid, set_non_dumpable};
use super::terminal::Pty;
use super::{init, process, seccomp};
use crate::error::{Context, Error, Result};
use crate::sys;

/// What a process run by `exec` needs.
#[derive(Debug)]
pub struct ExecSetup<'a> {
    /// Container id (names the session keyring).
    pub id: &'a str,
    /// A pidfd of the container's process, whose namespaces the new process joins.
    pub container: BorrowedFd<'a>,
    /// The namespaces to join: those of the container process that differ from berth's.
    pub join: CloneFlags,
    /// The process to run.
    pub process: &'a Process,
    /// How many fds from 3 up stay open in the process (`--preserve-fds`).
    pub preserved_fds: u32,
    /// The container's compiled `linux.seccomp`, which exec'd processes get too.
    pub seccomp: Option<seccomp::Program>,
    /// The container's state, for a seccomp agent.
    pub state: State,
}

/// A process started by `exec`.
#[derive(Debug)]
pub struct Execed {
    /// Its host pid.
    pub pid: Pid,
    /// The master of its terminal (`process.terminal`).
    pub terminal: Option<OwnedFd>,
}

/// Starts the process: returns it once it has called `execve`. `place` runs on the
/// parent side before the process goes on (it puts the process in the container's cgroup).
/// On failure nothing of it is left running.
pub fn spawn_exec(
    setup: &ExecSetup<'_>,
    cgroup: Option<BorrowedFd<'_>>,
    place: &mut dyn FnMut(Pid) -> Result<()>,
) -> Result<Execed> {
    let (parent_end, child_end) = Channel::pair()?;
    let intermediate = match clone_child(0, cgroup)? {
        None => {
            drop(parent_end);
            let Err(e) = join_and_fork(&child_end, setup);
            let _ = child_end.send(&Message::Failed(e.to_string()));
            sys::exit_child(1)
        }
        Some(pid) => pid,
    };
    drop(child_end);
    let mut process_pid = None;
    let result = (|| {
        let pid = receive_pid(&parent_end, intermediate, &mut process_pid)?;
        place(pid)?;
        parent_end.send(&Message::Proceed)?;
        let mut terminal = None;
        for (message, fd) in parent_end.expect_exec()? {
            match message {
                Message::Terminal => terminal = Some(fd),
                _ => send_seccomp_listener(setup, fd)?,
            }
        }
        Ok(Execed { pid, terminal })
    })();
    if result.is_err() {
        kill_all(process_pid.into_iter().chain([intermediate]));
    }
    result
}

/// Hands the listener of the process's notifying seccomp filter to the agent.
fn send_seccomp_listener(setup: &ExecSetup<'_>, fd: OwnedFd) -> Result<()> {
    let listener = setup.seccomp.as_ref().and_then(|p| p.listener());
    let listener = listener.ok_or_else(|| {
        Error::Setup("a seccomp listener came without a listenerPath".to_string())
    })?;
    seccomp::send_listener(listener, setup.state.clone(), fd.as_fd())
}

/// The intermediate process: joins the namespaces, then forks the process itself into them.
fn join_and_fork(channel: &Channel, setup: &ExecSetup<'_>) -> Result<Infallible> {
    // Until execve, nothing in the container may ptrace us or open /proc/<pid>/exe.
    set_non_dumpable()?;
    if !setup.join.is_empty() {
        setns(setup.container, setup.join).context("join the container's namespaces")?;
    }
    close_inherited_fds(channel, setup.preserved_fds, &[])?;
    match sys::clone3_fork(0, None).context("fork the exec process")? {
        None => {
            let Err(e) = become_process(channel, setup);
            let _ = channel.send(&Message::Failed(e.to_string()));
            sys::exit_child(1)
        }
        Some(pid) => {
            channel.send(&Message::ContainerPid(pid.as_raw()))?;
            sys::exit_child(0)
        }
    }
}

/// The process, inside the container: waits to be placed, then takes its identity and execs.
fn become_process(channel: &Channel, setup: &ExecSetup<'_>) -> Result<Infallible> {
    channel.expect(Message::Proceed)?;
    if setup.process.terminal().unwrap_or(false) {
        setsid().context("setsid")?;
        let pty = Pty::open(Path::new("/dev/ptmx"))?;
        channel.send_fd(&Message::Terminal, pty.attach()?.as_fd())?;
    }
    sys::join_session_keyring(setup.id).context("join a new session keyring")?;
    process::apply_rlimits(setup.process)?;
    let plan = process::prepare_exec(setup.process, &[])?;
    sys::cloexec_from(3 + setup.preserved_fds as i32).context("close inherited fds")?;
    init::take_identity(channel, setup.process, setup.seccomp.as_ref())?;
    process::exec(&plan, None)
}
