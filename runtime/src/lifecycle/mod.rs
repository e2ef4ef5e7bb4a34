//! The commands of the runtime lifecycle (runtime.md): create, start, state, kill, delete, plus
//! runc's run, list and spec.

mod create;
mod delete;
mod kill;
mod list;
mod run;
mod spec;
mod start;
mod state;

use crate::cli::{Cli, Command};
use crate::error::Result;
use crate::state::Store;

/// Runs the command `cli` names; returns the process exit code.
pub fn dispatch(cli: Cli) -> Result<i32> {
    let store = Store::new(&cli.root);
    match cli.command {
        Command::Create(args) => create::create(&store, &args, cli.systemd_cgroup).map(|_| 0),
        Command::Start(args) => start::start(&store, &args.id).map(|_| 0),
        Command::State(args) => state::print(&store, &args.id).map(|_| 0),
        Command::Kill(args) => kill::kill(&store, &args).map(|_| 0),
        Command::Delete(args) => delete::delete(&store, &args.id, args.force).map(|_| 0),
        Command::Run(args) => run::run(&store, &args, cli.systemd_cgroup),
        Command::List(args) => list::list(&store, &args).map(|_| 0),
        Command::Spec(args) => spec::write(&args).map(|_| 0),
    }
}
