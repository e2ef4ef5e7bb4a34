//! The container process: from the moment it is cloned until it becomes the user's program.
//! It finishes every piece of setup, reports `Ready`, blocks on the exec fifo until `start`,
//! and then calls `execve`.

use std::convert::Infallible;
use std::io::Read;
use std::os::fd::AsFd;
use std::path::Path;

use nix::errno::Errno;
use nix::sched::{unshare, CloneFlags};
use nix::unistd::{setresgid, setresuid, setsid, Gid, Uid};
use oci_spec::runtime::{ContainerState, Process};

use super::channel::{Channel, Message};
use super::kernel_params::Procfs;
use super::rootfs::paths::RootDir;
use super::rootfs::{self, HostCgroups, RootfsContext};
use super::terminal::Pty;
use super::ContainerSetup;
use super::{process, seccomp};
use crate::error::{Context, Error, Result};
use crate::hooks::{self, HookKind};
use crate::state::oci_state;
use crate::sys;

/// Runs the container process's setup; returns only on failure.
pub fn run(channel: &Channel, setup: &ContainerSetup<'_>) -> Result<Infallible> {
    channel.expect(Message::Proceed)?;
    // Id maps are written by now (see `spawn::child_main`).
    super::spawn::set_non_dumpable()?;
    let spec = &setup.bundle.spec;
    // The state hooks get names the host pid, which only the host's /proc (still mounted
    // here, before any mount of the container) tells a process in a new pid namespace.
    let host_pid = std::fs::read_link("/proc/self")
        .ok()
        .and_then(|p| p.to_str()?.parse().ok())
        .unwrap_or_else(|| nix::unistd::getpid().as_raw());
    let hook_state = |status| {
        oci_state(
            setup.id,
            status,
            host_pid,
            &setup.bundle.dir,
            spec.annotations().as_ref(),
        )
    };
    let plan = &setup.namespaces;
    let in_user_ns = plan.has(CloneFlags::CLONE_NEWUSER);
    if plan.create.contains(CloneFlags::CLONE_NEWUSER) {
        setresgid(Gid::from_raw(0), Gid::from_raw(0), Gid::from_raw(0))
            .context("become root in the user namespace")?;
        setresuid(Uid::from_raw(0), Uid::from_raw(0), Uid::from_raw(0))
            .context("become root in the user namespace")?;
    }
    let has_cgroup_mount = spec
        .mounts()
        .iter()
        .flatten()
        .any(|m| matches!(m.typ().as_deref(), Some("cgroup" | "cgroup2")));
    let host_cgroups = if has_cgroup_mount {
        HostCgroups::read()?
    } else {
        HostCgroups::default()
    };
    if plan.create_cgroup {
        unshare(CloneFlags::CLONE_NEWCGROUP).context("create cgroup namespace")?;
    }
    // A network namespace of its own starts with loopback down; runc brings it up.
    if plan.create.contains(CloneFlags::CLONE_NEWNET) {
        sys::net::bring_up_loopback().context("linux.namespaces: bring up loopback")?;
    }
    setsid().context("setsid")?;
    if !setup.no_new_keyring {
        sys::join_session_keyring(setup.id).context("join a new session keyring")?;
    }

    let rootfs_ctx = RootfsContext {
        spec,
        bundle: &setup.bundle.dir,
        rootfs: &setup.bundle.rootfs,
        no_pivot: setup.no_pivot,
        in_user_ns,
        own_cgroup_ns: plan.has(CloneFlags::CLONE_NEWCGROUP),
        host_cgroups: &host_cgroups,
        idmapped: &setup.idmapped,
    };
    let own_mount_ns = !plan.joins(CloneFlags::CLONE_NEWNS);
    if own_mount_ns {
        rootfs::prepare(&rootfs_ctx)?;
    }
    let process = spec.process().as_ref().expect("validated: process is set");
    if process.terminal().unwrap_or(false) {
        let root = RootDir::open(if own_mount_ns {
            &setup.bundle.rootfs
        } else {
            Path::new("/")
        })?;
        let pty = Pty::open_in(&root)?;
        if own_mount_ns {
            pty.mount_console(&root)?;
        }
        channel.send_fd(&Message::Terminal, pty.attach()?.as_fd())?;
    }
    if [HookKind::Prestart, HookKind::CreateRuntime]
        .iter()
        .any(|kind| !hooks::configured(spec, *kind).is_empty())
    {
        channel.send(&Message::CreateRuntimeHooks)?;
        channel.expect(Message::Proceed)?;
    }
    hooks::run(
        spec,
        HookKind::CreateContainer,
        &hook_state(ContainerState::Creating),
    )?;
    let linux = spec.linux().as_ref();
    let sysctls = linux.and_then(|l| l.sysctl().as_ref());
    if sysctls.is_some_and(|s| !s.is_empty()) || process.oom_score_adj().is_some() {
        let procfs = Procfs::open()?;
        if let Some(sysctls) = sysctls {
            procfs.write_sysctls(sysctls)?;
        }
        if let Some(score) = process.oom_score_adj() {
            procfs.write_oom_score_adj(score)?;
        }
    }
    if let Some(hostname) = spec.hostname().as_deref().filter(|h| !h.is_empty()) {
        nix::unistd::sethostname(hostname).context("hostname: sethostname")?;
    }
    if let Some(domainname) = spec.domainname().as_deref().filter(|d| !d.is_empty()) {
        sys::setdomainname(domainname).context("domainname: setdomainname")?;
    }
    if own_mount_ns {
        rootfs::enter(&rootfs_ctx)?;
    }

    process::apply_rlimits(process)?;
    let exec_plan = process::prepare_exec(process, &setup.extra_env)?;
    sys::cloexec_from(3 + setup.preserved_fds as i32).context("close inherited fds")?;
    take_identity(channel, process, setup.seccomp.as_ref())?;
    channel.send(&Message::Ready)?;
    wait_for_start(setup)?;
    hooks::run(
        spec,
        HookKind::StartContainer,
        &hook_state(ContainerState::Created),
    )?;
    process::exec(&exec_plan, setup.init.as_ref().map(|image| image.as_fd()))
}

/// Switches to the process's user, capabilities and no_new_privs, and loads the seccomp filter
/// (if any; a notifying filter's listener goes to the parent). The filter goes in as late as it
/// can: once berth's own setup is done, but while the parent still listens, so that a load
/// failure is the caller's error and the listener reaches the agent. Without no_new_privs the
/// kernel wants CAP_SYS_ADMIN for it, so then it goes in before the user and capabilities
/// change (the filter then also sees those calls, as under runc).
pub(super) fn take_identity(
    channel: &Channel,
    process: &Process,
    seccomp: Option<&seccomp::Program>,
) -> Result<()> {
    let no_new_privs = process.no_new_privileges().unwrap_or(false);
    if !no_new_privs {
        load_seccomp(channel, seccomp)?;
    }
    process::set_identity(process)?;
    if no_new_privs {
        load_seccomp(channel, seccomp)?;
    }
    Ok(())
}

fn load_seccomp(channel: &Channel, program: Option<&seccomp::Program>) -> Result<()> {
    let Some(program) = program else {
        return Ok(());
    };
    let listener = sys::seccomp::load_filter(program.filter(), program.flags())
        .map_err(|e| Error::config("linux.seccomp", format!("load the filter: {e}")))?;
    if let Some(fd) = listener {
        channel.send_fd(&Message::SeccompListener, fd.as_fd())?;
    }
    Ok(())
}

/// Blocks until `start` writes to the exec fifo.
fn wait_for_start(setup: &ContainerSetup<'_>) -> Result<()> {
    let mut fifo = std::fs::File::from(setup.exec_fifo.try_clone().context("exec fifo")?);
    let mut byte = [0u8; 1];
    loop {
        match fifo.read(&mut byte) {
            Ok(_) => return Ok(()),
            Err(e) if e.raw_os_error() == Some(Errno::EINTR as i32) => continue,
            Err(e) => {
                return Err(Error::Io {
                    context: "wait for start".to_string(),
                    source: e,
                })
            }
        }
    }
}
