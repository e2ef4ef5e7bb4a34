//! The commands of the runtime lifecycle (runtime.md): create, start, state, kill, delete, plus
//! runc's run, exec, list, spec, pause/resume, ps, update and events.

mod console;
mod create;
mod delete;
mod events;
mod exec;
mod features;
mod foreground;
mod kill;
mod list;
mod pause;
mod ps;
mod run;
mod spec;
mod start;
mod state;
mod update;

use crate::cli::{Cli, Command, NetworkAction};
use crate::error::{Error, Result};
use crate::state::{live_status, ContainerDir, ContainerState, LiveProcess, Status, Store};

/// Runs the command `cli` names; returns the process exit code.
pub fn dispatch(cli: Cli) -> Result<i32> {
    let store = Store::new(&cli.state_root());
    match cli.command {
        Command::Create(args) => create::create(&store, &args, cli.systemd_cgroup, true).map(|_| 0),
        Command::Start(args) => start::start(&store, &args.id).map(|_| 0),
        Command::State(args) => state::print(&store, &args.id).map(|_| 0),
        Command::Kill(args) => kill::kill(&store, &args).map(|_| 0),
        Command::Delete(args) => delete::delete(&store, &args.id, args.force).map(|_| 0),
        Command::Run(args) => run::run(&store, &args, cli.systemd_cgroup),
        Command::List(args) => list::list(&store, &args).map(|_| 0),
        Command::Spec(args) => spec::write(&args, &store).map(|_| 0),
        Command::Pause(args) => pause::pause(&store, &args.id).map(|_| 0),
        Command::Resume(args) => pause::resume(&store, &args.id).map(|_| 0),
        Command::Ps(args) => ps::ps(&store, &args).map(|_| 0),
        Command::Update(args) => update::update(&store, &args).map(|_| 0),
        Command::Events(args) => events::events(&store, &args).map(|_| 0),
        Command::Exec(args) => exec::exec(&store, &args),
        Command::Features => features::print().map(|_| 0),
        Command::Network(NetworkAction::Up(args)) => crate::network::up(&args, &store).map(|_| 0),
        Command::Network(NetworkAction::Down(args)) => crate::network::down(&args).map(|_| 0),
    }
}

/// A container that exists and has not stopped, with its directory locked.
pub(crate) struct Live {
    dir: ContainerDir,
    state: ContainerState,
    status: Status,
    process: LiveProcess,
}

/// Opens container `id`; fails with "container not running" if it has stopped.
pub(crate) fn live(store: &Store, id: &str) -> Result<Live> {
    let dir = store.open_container(id)?;
    let state = dir.load()?;
    match live_status(&state, &dir.fifo_path()) {
        (Status::Stopped, _) | (_, None) => Err(Error::NotRunning),
        (status, Some(process)) => Ok(Live {
            dir,
            state,
            status,
            process,
        }),
    }
}

/// Runs the poststop hooks of container `id`, which is gone (runtime.md, lifecycle step 13);
/// their failures are warnings.
pub(crate) fn run_poststop(
    spec: &oci_spec::runtime::Spec,
    id: &str,
    pid: i32,
    bundle: &std::path::Path,
    annotations: Option<&std::collections::HashMap<String, String>>,
) {
    let state = crate::state::oci_state(
        id,
        oci_spec::runtime::ContainerState::Stopped,
        pid,
        bundle,
        annotations,
    );
    let ran = crate::hooks::run(spec, crate::hooks::HookKind::Poststop, &state);
    debug_assert!(ran.is_ok(), "poststop failures are warnings");
}

/// The configuration a container was created from (its bundle's config.json).
pub(crate) fn bundle_spec(state: &ContainerState) -> Result<oci_spec::runtime::Spec> {
    let config = state.bundle.join("config.json");
    let bytes = std::fs::read(&config).map_err(|e| Error::Io {
        context: format!("read {}", config.display()),
        source: e,
    })?;
    crate::spec::parse_config(&bytes)
}
