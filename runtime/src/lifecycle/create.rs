//! `create`: set up the container and leave its process waiting for `start`.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::time::SystemTime;

use nix::sys::signal::{kill, Signal};
use nix::sys::stat::Mode;
use nix::unistd::{mkfifo, Pid};

use super::console;
use crate::berth_init;
use crate::cli::CreateArgs;
use crate::container::namespaces::NamespacePlan;
use crate::container::{self, ContainerSetup, IdmappedMounts};
use crate::error::{Context, Error, Result};
use crate::resources::{self, remove_cgroup};
use crate::spec::Bundle;
use crate::state::{process_start_time, ContainerDir, ContainerState, Status, Store};

/// A container just created.
#[derive(Debug)]
pub struct Created {
    /// Its directory, still locked.
    pub dir: ContainerDir,
    /// Its recorded state.
    pub state: ContainerState,
    /// The master of its terminal, when it has one and no `--console-socket` took it (a
    /// foreground `run` relays it).
    pub terminal: Option<OwnedFd>,
}

/// Creates the container. `detached`: nobody stays to relay a terminal (`create`, `run -d`).
pub fn create(
    store: &Store,
    args: &CreateArgs,
    systemd_cgroup: bool,
    detached: bool,
) -> Result<Created> {
    let bundle = Bundle::load(&args.bundle)?;
    let process = bundle.spec.process().as_ref().expect("validated");
    console::check_request(
        process.terminal().unwrap_or(false),
        args.console_socket.as_deref(),
        detached,
    )?;
    let cgroup_path = resources::cgroup_path(&bundle.spec, &args.id, systemd_cgroup)?;
    let seccomp = container::seccomp::compile_spec(&bundle.spec)?;
    let init = berth_init::open_if_requested(&bundle.spec, args.init, args.init_path.as_deref())?;
    let idmapped = IdmappedMounts::prepare(&bundle.spec, &bundle.dir)?;
    let dir = store.create(&args.id)?;
    match set_up(&dir, &bundle, args, cgroup_path, seccomp, init, idmapped) {
        Ok((state, terminal)) => Ok(Created {
            dir,
            state,
            terminal,
        }),
        Err(e) => {
            let _ = dir.remove();
            // runtime.md: a failed create goes on with destroying the container and the
            // poststop hooks (which undo what createRuntime hooks did), as under runc.
            let spec = &bundle.spec;
            super::run_poststop(spec, &args.id, 0, &bundle.dir, spec.annotations().as_ref());
            Err(e)
        }
    }
}

fn set_up(
    dir: &ContainerDir,
    bundle: &Bundle,
    args: &CreateArgs,
    cgroup_path: String,
    seccomp: Option<container::seccomp::Program>,
    init: Option<OwnedFd>,
    idmapped: IdmappedMounts,
) -> Result<(ContainerState, Option<OwnedFd>)> {
    let fifo = dir.fifo_path();
    mkfifo(&fifo, Mode::from_bits_truncate(0o600)).context("create exec fifo")?;
    let exec_fifo: OwnedFd = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&fifo)
        .context("open exec fifo")?
        .into();
    let activation = socket_activation();
    let setup = ContainerSetup {
        id: dir.id(),
        bundle,
        namespaces: NamespacePlan::from_spec(&bundle.spec),
        exec_fifo,
        no_pivot: args.no_pivot,
        no_new_keyring: args.no_new_keyring,
        preserved_fds: args.preserve_fds + activation.as_ref().map_or(0, |(n, _)| *n),
        extra_env: activation.map(|(_, env)| env).unwrap_or_default(),
        seccomp,
        init,
        idmapped,
    };
    let mut cgroup = resources::open_if_any(&cgroup_path)?;
    let resources = bundle
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.resources().as_ref())
        .map(resources::complete_device_rules);
    let spawned = resources::spawn_in_cgroup(
        cgroup.as_mut(),
        |cgroup, pid| cgroup.place(pid, resources.as_ref()),
        |clone_target, place| container::spawn(&setup, clone_target, place),
    );
    drop(setup);
    let recorded = spawned.and_then(|spawned| {
        let pid = spawned.pid;
        let recorded = record(dir, bundle, args, pid, cgroup_path).and_then(|state| {
            let terminal = console::hand_over(spawned.terminal, args.console_socket.as_deref())?;
            Ok((state, terminal))
        });
        recorded.inspect_err(|_| {
            let _ = kill(pid, Signal::SIGKILL);
        })
    });
    if let (Err(_), Some(cgroup)) = (&recorded, cgroup) {
        let _ = remove_cgroup(cgroup);
    }
    recorded
}

fn record(
    dir: &ContainerDir,
    bundle: &Bundle,
    args: &CreateArgs,
    pid: Pid,
    cgroup_path: String,
) -> Result<ContainerState> {
    let pid_start_time = process_start_time(pid)
        .ok_or_else(|| Error::Setup("container process exited during create".to_string()))?;
    let state = ContainerState {
        id: dir.id().to_string(),
        status: Status::Created,
        pid: pid.as_raw(),
        pid_start_time,
        bundle: bundle.dir.clone(),
        rootfs: bundle.rootfs.clone(),
        created: humantime::format_rfc3339_nanos(SystemTime::now()).to_string(),
        annotations: bundle.spec.annotations().clone().unwrap_or_default(),
        cgroup_path,
    };
    dir.save(&state)?;
    if let Some(pid_file) = &args.pid_file {
        write_pid_file(pid_file, pid)?;
    }
    Ok(state)
}

/// systemd socket activation: with `LISTEN_FDS=N` meant for us, fds 3..3+N go to the container,
/// announced there as `LISTEN_FDS=N` and `LISTEN_PID=1`.
fn socket_activation() -> Option<(u32, Vec<String>)> {
    let count: u32 = std::env::var("LISTEN_FDS").ok()?.parse().ok()?;
    let for_us = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
        .is_none_or(|p| p == std::process::id());
    (count > 0 && for_us).then(|| {
        (
            count,
            vec![format!("LISTEN_FDS={count}"), "LISTEN_PID=1".to_string()],
        )
    })
}

/// Writes the pid file atomically: a temporary file beside it, then rename.
pub fn write_pid_file(path: &Path, pid: Pid) -> Result<()> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    let context = || format!("--pid-file {}", path.display());
    let mut file = fs::File::create(&tmp).with_context(context)?;
    file.write_all(pid.to_string().as_bytes())
        .with_context(context)?;
    fs::rename(&tmp, path).with_context(context)
}
