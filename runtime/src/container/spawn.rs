//! The parent side of container creation: clone the container process (through a short-lived
//! intermediate when namespaces must be joined first), write its id maps, and wait until it
//! reports that it is ready or why it failed.

use std::convert::Infallible;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use nix::sched::{unshare, CloneFlags};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use oci_spec::runtime::{ContainerState, LinuxIdMapping, Spec, State};

use super::channel::{Channel, Message};
use super::namespaces::clone_flag;
use super::{init, seccomp, ContainerSetup};
use crate::error::{Context, Error, Result};
use crate::hooks::{self, HookKind};
use crate::{logging, sys};

/// Clones the container process and waits until it is set up and blocked on the exec fifo.
/// Given a cgroup v2 directory, the process starts in that cgroup (`CLONE_INTO_CGROUP`, with a
/// fallback to `place` when the kernel refuses). `place` runs on the parent side before the
/// process goes on with its setup (it puts the process in its cgroup and applies the limits),
/// so nothing of the container runs outside it. Returns the host pid. On failure nothing of it
/// is left running.
pub fn spawn(
    setup: &ContainerSetup<'_>,
    cgroup: Option<BorrowedFd<'_>>,
    place: &mut dyn FnMut(Pid) -> Result<()>,
) -> Result<Spawned> {
    let (parent_end, child_end) = Channel::pair()?;
    let plan = &setup.namespaces;
    let direct = !plan.needs_intermediate();
    let flags = if direct { plan.create.bits() as u64 } else { 0 };
    // Decided here, not in the child: once its parent has written its uid map, the child's
    // euid is 0, and a child that looked then would turn non-dumpable before its gid map is
    // written, which its parent could then no longer write.
    let maps_pending =
        !nix::unistd::geteuid().is_root() && plan.create.contains(CloneFlags::CLONE_NEWUSER);
    let child = match clone_child(flags, cgroup)? {
        None => {
            drop(parent_end);
            child_main(&child_end, setup, direct, maps_pending)
        }
        Some(pid) => pid,
    };
    drop(child_end);
    let mut container_pid = None;
    let result = handshake(&parent_end, setup, child, direct, &mut container_pid, place);
    if result.is_err() {
        kill_all(container_pid.into_iter().chain([child]));
    }
    result
}

/// A container process, set up and waiting for `start`.
#[derive(Debug)]
pub struct Spawned {
    /// Its host pid.
    pub pid: Pid,
    /// The master of its terminal (`process.terminal`).
    pub terminal: Option<OwnedFd>,
}

/// Clones a child in new namespaces (`flags`), into `cgroup` when given; a kernel that
/// refuses `CLONE_INTO_CGROUP` gets a plain clone (the caller moves the child instead).
pub(super) fn clone_child(flags: u64, cgroup: Option<BorrowedFd<'_>>) -> Result<Option<Pid>> {
    let cloned = match sys::clone3_fork(flags, cgroup) {
        Err(e) if cgroup.is_some() => {
            logging::debug(&format!(
                "CLONE_INTO_CGROUP refused ({e}): moving the process"
            ));
            sys::clone3_fork(flags, None)
        }
        cloned => cloned,
    };
    cloned.context("clone container process")
}

/// Kills and reaps the processes of a failed setup.
pub(super) fn kill_all(pids: impl Iterator<Item = Pid>) {
    for pid in pids {
        let _ = kill(pid, Signal::SIGKILL);
        let _ = waitpid(pid, None);
    }
}

/// Waits for the `intermediate` process to report the pid of the process it forked, records
/// that pid in `forked` (for [`kill_all`] on failure), then reaps the intermediate.
pub(super) fn receive_pid(
    channel: &Channel,
    intermediate: Pid,
    forked: &mut Option<Pid>,
) -> Result<Pid> {
    let pid = match channel.recv()? {
        Message::ContainerPid(pid) => Pid::from_raw(pid),
        Message::Failed(reason) => return Err(Error::Setup(reason)),
        other => return Err(Error::Setup(format!("unexpected setup message {other:?}"))),
    };
    *forked = Some(pid);
    waitpid(intermediate, None).context("wait for intermediate process")?;
    Ok(pid)
}

fn handshake(
    channel: &Channel,
    setup: &ContainerSetup<'_>,
    child: Pid,
    direct: bool,
    container_pid: &mut Option<Pid>,
    place: &mut dyn FnMut(Pid) -> Result<()>,
) -> Result<Spawned> {
    let spec = &setup.bundle.spec;
    let creates_user_ns = setup.namespaces.create.contains(CloneFlags::CLONE_NEWUSER);
    let pid = if direct {
        if creates_user_ns {
            write_id_maps(child, spec)?;
        }
        child
    } else {
        if creates_user_ns {
            channel.expect(Message::UserNamespaceCreated)?;
            write_id_maps(child, spec)?;
            channel.send(&Message::Proceed)?;
        }
        receive_pid(channel, child, container_pid)?
    };
    place(pid)?;
    channel.send(&Message::Proceed)?;
    let mut terminal = None;
    loop {
        match channel.recv_with_fd()? {
            (Message::Ready, _) => return Ok(Spawned { pid, terminal }),
            (Message::Terminal, fd) => terminal = fd,
            (Message::CreateRuntimeHooks, _) => {
                let state = creating_state(setup, pid);
                hooks::run(spec, HookKind::Prestart, &state)?;
                hooks::run(spec, HookKind::CreateRuntime, &state)?;
                channel.send(&Message::Proceed)?;
            }
            (Message::SeccompListener, Some(fd)) => {
                let listener = setup.seccomp.as_ref().and_then(|p| p.listener());
                let listener = listener.ok_or_else(|| {
                    Error::Setup("a seccomp listener came without a listenerPath".to_string())
                })?;
                seccomp::send_listener(listener, creating_state(setup, pid), fd.as_fd())?;
            }
            (Message::Failed(reason), _) => return Err(Error::Setup(reason)),
            (other, _) => {
                return Err(Error::Setup(format!(
                    "unexpected setup message {other:?}, wanted Ready"
                )))
            }
        }
    }
}

/// The container's state while it is being created, for the seccomp agent.
fn creating_state(setup: &ContainerSetup<'_>, pid: Pid) -> State {
    crate::state::oci_state(
        setup.id,
        ContainerState::Creating,
        pid.as_raw(),
        &setup.bundle.dir,
        setup.bundle.spec.annotations().as_ref(),
    )
}

/// Makes this process non-dumpable: no ptrace, no /proc/<pid>/exe for the container.
pub(super) fn set_non_dumpable() -> Result<()> {
    nix::sys::prctl::set_dumpable(false).context("set non-dumpable")
}

/// Entry point of the cloned child; never returns.
fn child_main(
    channel: &Channel,
    setup: &ContainerSetup<'_>,
    direct: bool,
    maps_pending: bool,
) -> ! {
    // Until execve, nothing in the container may ptrace us or open /proc/<pid>/exe. An
    // unprivileged parent can only write our id maps while we are dumpable (a non-dumpable
    // process's /proc files belong to root): then this waits until the maps are written.
    let dumpable = if maps_pending {
        Ok(())
    } else {
        set_non_dumpable()
    };
    let result = dumpable.and_then(|()| {
        // The berth-init image (`--init`) is exec'd at the very end, from its fd.
        let mut keep = vec![setup.exec_fifo.as_raw_fd()];
        keep.extend(setup.init.as_ref().map(|fd| fd.as_raw_fd()));
        keep.extend(setup.idmapped.raw_fds());
        close_inherited_fds(channel, setup.preserved_fds, &keep)?;
        if direct {
            init::run(channel, setup)
        } else {
            intermediate(channel, setup)
        }
    });
    let Err(e) = result;
    let _ = channel.send(&Message::Failed(e.to_string()));
    sys::exit_child(1)
}

/// Closes every fd the runtime had open except stdio, the `preserved` fds from 3 up, the
/// setup channel, the log file and `also`: none of them is a directory or a program, so
/// nothing the process still holds leads out of the container (CVE-2024-21626).
pub(super) fn close_inherited_fds(channel: &Channel, preserved: u32, also: &[RawFd]) -> Result<()> {
    let mut keep = vec![channel.as_raw_fd()];
    keep.extend(also);
    keep.extend(logging::file_fd());
    sys::close_fds_except(3 + preserved as RawFd, &keep).context("close inherited fds")
}

/// Joins namespaces by path, creates the new ones, then forks the container process into them.
fn intermediate(channel: &Channel, setup: &ContainerSetup<'_>) -> Result<Infallible> {
    let plan = &setup.namespaces;
    plan.join_all()?;
    if plan.create.contains(CloneFlags::CLONE_NEWUSER) {
        unshare(CloneFlags::CLONE_NEWUSER).context("create user namespace")?;
        channel.send(&Message::UserNamespaceCreated)?;
        channel.expect(Message::Proceed)?;
        set_non_dumpable()?;
    }
    unshare(plan.create - CloneFlags::CLONE_NEWUSER).context("create namespaces")?;
    let time_ns = clone_flag(oci_spec::runtime::LinuxNamespaceType::Time);
    if plan.create.contains(time_ns) {
        write_time_offsets(&setup.bundle.spec)?;
    }
    match sys::clone3_fork(0, None).context("fork container process")? {
        None => init::run(channel, setup),
        Some(pid) => {
            channel.send(&Message::ContainerPid(pid.as_raw()))?;
            sys::exit_child(0)
        }
    }
}

/// Writes `linux.timeOffsets` for the time namespace just created (before its first process).
fn write_time_offsets(spec: &Spec) -> Result<()> {
    let offsets = spec
        .linux()
        .as_ref()
        .and_then(|l| l.time_offsets().as_ref());
    let text: String = offsets
        .into_iter()
        .flatten()
        .map(|(clock, offset)| {
            format!(
                "{clock} {} {}\n",
                offset.secs().unwrap_or(0),
                offset.nanosecs().unwrap_or(0)
            )
        })
        .collect();
    if text.is_empty() {
        return Ok(());
    }
    std::fs::write("/proc/self/timens_offsets", text)
        .map_err(|e| Error::config("linux.timeOffsets", e.to_string()))
}

/// Writes `/proc/<pid>/{setgroups,uid_map,gid_map}` for the container's user namespace.
fn write_id_maps(pid: Pid, spec: &Spec) -> Result<()> {
    let linux = spec.linux().as_ref();
    let render = |maps: Option<&Vec<LinuxIdMapping>>| -> String {
        maps.into_iter()
            .flatten()
            .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
            .collect()
    };
    let write = |file: &str, field: &str, text: String| {
        std::fs::write(format!("/proc/{pid}/{file}"), text)
            .map_err(|e| Error::config(field, format!("write /proc/{pid}/{file}: {e}")))
    };
    if !nix::unistd::geteuid().is_root() {
        // An unprivileged writer may only map its own gid, and only with setgroups denied.
        write("setgroups", "linux.gidMappings", "deny".to_string())?;
    }
    write(
        "uid_map",
        "linux.uidMappings",
        render(linux.and_then(|l| l.uid_mappings().as_ref())),
    )?;
    write(
        "gid_map",
        "linux.gidMappings",
        render(linux.and_then(|l| l.gid_mappings().as_ref())),
    )
}
