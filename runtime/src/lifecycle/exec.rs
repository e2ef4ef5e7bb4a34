//! `exec`: run a new process in a running container, in the foreground (relaying signals and
//! exiting with the process's status) or detached. The process is config.json's `process`
//! with runc's overrides from the flags, or the whole `--process` JSON.

use std::os::unix::fs::MetadataExt;

use nix::sched::CloneFlags;
use nix::unistd::Pid;
use oci_spec::runtime::{Capability, LinuxCapabilities, Process, Spec};

use super::create::write_pid_file;
use super::{console, foreground};
use crate::cli::ExecArgs;
use crate::container::{self, ExecSetup};
use crate::error::{Context, Error, Result};
use crate::resources;
use crate::spec::{read_json_arg, validate_process};
use crate::state::{oci_state, Status, Store};

/// Runs the process; returns berth's exit code (the process's when in the foreground).
pub fn exec(store: &Store, args: &ExecArgs) -> Result<i32> {
    let container = super::live(store, &args.id)?;
    if container.status == Status::Paused && !args.ignore_paused {
        return Err(Error::InvalidState(
            "cannot exec in a paused container (use --ignore-paused to override)".to_string(),
        ));
    }
    let spec = super::bundle_spec(&container.state)?;
    let process = exec_process(&spec, args)?;
    validate_process(&process)?;
    console::check_request(
        process.terminal().unwrap_or(false),
        args.console_socket.as_deref(),
        args.detach,
    )?;
    let join = namespaces_to_join(container.process.pid)?;
    let mut cgroup = resources::open_if_any(&container.state.cgroup_path)?;
    if cgroup.is_none() && !args.cgroup.is_empty() {
        return Err(Error::config("--cgroup", "the container has no cgroup"));
    }
    let relayed = foreground::prepare(args.detach)?;
    let setup = ExecSetup {
        id: &args.id,
        container: container.process.pidfd(),
        join,
        process: &process,
        preserved_fds: args.preserve_fds,
        seccomp: container::seccomp::compile_spec(&spec)?,
        state: oci_state(
            &args.id,
            oci_spec::runtime::ContainerState::Running,
            container.state.pid,
            &container.state.bundle,
            Some(&container.state.annotations),
        ),
    };
    let execed = resources::spawn_in_cgroup(
        cgroup.as_mut(),
        |cgroup, pid| {
            cgroup.place(pid, None)?;
            cgroup.place_in_subcgroups(pid, &args.cgroup)
        },
        |clone_target, place| container::spawn_exec(&setup, clone_target, place),
    )?;
    // Other commands (kill, state, delete) must not wait for this one.
    drop(container);
    if let Some(pid_file) = &args.pid_file {
        write_pid_file(pid_file, execed.pid)?;
    }
    let terminal = console::hand_over(execed.terminal, args.console_socket.as_deref())?;
    if args.detach {
        return Ok(0);
    }
    foreground::relay_until_exit(&relayed, execed.pid, terminal)
}

/// The process to run: `--process`, or config.json's process with the flags applied.
fn exec_process(spec: &Spec, args: &ExecArgs) -> Result<Process> {
    if let Some(path) = &args.process {
        return read_json_arg(path, "--process");
    }
    if args.command.is_empty() {
        return Err(Error::config(
            "exec",
            "a command to run is required (or --process)",
        ));
    }
    let mut process = spec
        .process()
        .clone()
        .ok_or_else(|| Error::config("process", "config.json has no process to start from"))?;
    process.set_args(Some(args.command.clone()));
    process.set_terminal(Some(args.tty));
    let mut env = process.env().clone().unwrap_or_default();
    for var in &args.env {
        let name = var.split('=').next().unwrap_or_default();
        env.retain(|e| e.split('=').next() != Some(name));
        env.push(var.clone());
    }
    process.set_env(Some(env));
    if let Some(cwd) = &args.cwd {
        process.set_cwd(cwd.clone());
    }
    let mut user = process.user().clone();
    if let Some(spec) = &args.user {
        let (uid, gid) = parse_user(spec)?;
        user.set_uid(uid);
        if let Some(gid) = gid {
            user.set_gid(gid);
        }
    }
    if !args.additional_gids.is_empty() {
        let mut gids = user.additional_gids().clone().unwrap_or_default();
        gids.extend(&args.additional_gids);
        user.set_additional_gids(Some(gids));
    }
    process.set_user(user);
    if !args.cap.is_empty() {
        process.set_capabilities(Some(with_capabilities(
            process.capabilities().clone().unwrap_or_default(),
            &args.cap,
        )?));
    }
    if args.no_new_privs {
        process.set_no_new_privileges(Some(true));
    }
    if args.apparmor.is_some() {
        process.set_apparmor_profile(args.apparmor.clone());
    }
    if args.process_label.is_some() {
        process.set_selinux_label(args.process_label.clone());
    }
    Ok(process)
}

/// `-u uid[:gid]`.
fn parse_user(spec: &str) -> Result<(u32, Option<u32>)> {
    let invalid = || Error::config("--user", format!("\"{spec}\" is not uid[:gid]"));
    let (uid, gid) = match spec.split_once(':') {
        Some((uid, gid)) => (uid, Some(gid)),
        None => (spec, None),
    };
    let uid = uid.parse().map_err(|_| invalid())?;
    let gid = gid.map(|g| g.parse().map_err(|_| invalid())).transpose()?;
    Ok((uid, gid))
}

/// `--cap NAME`: added to the bounding, effective and permitted sets (not inheritable or
/// ambient, as runc since CVE-2022-29162).
fn with_capabilities(mut caps: LinuxCapabilities, names: &[String]) -> Result<LinuxCapabilities> {
    let added = names
        .iter()
        .map(|name| {
            serde_json::from_value::<Capability>(serde_json::Value::String(name.clone()))
                .map_err(|_| Error::config("--cap", format!("unknown capability {name}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let extend = |set: &Option<std::collections::HashSet<Capability>>| {
        let mut set = set.clone().unwrap_or_default();
        set.extend(added.iter().copied());
        Some(set)
    };
    caps.set_bounding(extend(caps.bounding()));
    caps.set_effective(extend(caps.effective()));
    caps.set_permitted(extend(caps.permitted()));
    Ok(caps)
}

/// The namespace kinds of `/proc/<pid>/ns` and their clone flags.
const NAMESPACES: [(&str, CloneFlags); 8] = [
    ("user", CloneFlags::CLONE_NEWUSER),
    ("mnt", CloneFlags::CLONE_NEWNS),
    ("pid", CloneFlags::CLONE_NEWPID),
    ("net", CloneFlags::CLONE_NEWNET),
    ("ipc", CloneFlags::CLONE_NEWIPC),
    ("uts", CloneFlags::CLONE_NEWUTS),
    ("cgroup", CloneFlags::CLONE_NEWCGROUP),
    ("time", CloneFlags::from_bits_retain(libc::CLONE_NEWTIME)),
];

/// The namespaces of the container process `pid` that berth is not already in.
fn namespaces_to_join(pid: Pid) -> Result<CloneFlags> {
    let mut join = CloneFlags::empty();
    for (name, flag) in NAMESPACES {
        let identity = |path: String| {
            std::fs::metadata(&path)
                .map(|m| (m.dev(), m.ino()))
                .with_context(|| format!("read {path}"))
        };
        let theirs = match identity(format!("/proc/{pid}/ns/{name}")) {
            Ok(id) => id,
            // A kernel without this namespace kind.
            Err(_) if !std::path::Path::new(&format!("/proc/self/ns/{name}")).exists() => continue,
            Err(e) => return Err(e),
        };
        if theirs != identity(format!("/proc/self/ns/{name}"))? {
            join |= flag;
        }
    }
    Ok(join)
}
