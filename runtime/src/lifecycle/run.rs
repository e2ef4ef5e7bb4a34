//! `run`: create and start; in the foreground, relay signals and exit with the container.

use nix::unistd::Pid;

use super::{create, delete, foreground, start};
use crate::cli::RunArgs;
use crate::error::Result;
use crate::state::Store;

/// Runs the container; returns berth's exit code (the container's, 128+N if killed by N).
pub fn run(store: &Store, args: &RunArgs, systemd_cgroup: bool) -> Result<i32> {
    let id = &args.create.id;
    let relayed = foreground::prepare(args.detach)?;
    let created = create::create(store, &args.create, systemd_cgroup, args.detach)?;
    if let Err(e) = start::start_locked(&created.dir) {
        drop(created);
        let _ = delete::delete(store, id, true);
        return Err(e);
    }
    drop(created.dir);
    if args.detach {
        return Ok(0);
    }
    let pid = Pid::from_raw(created.state.pid);
    let code = foreground::relay_until_exit(&relayed, pid, created.terminal)?;
    if !args.keep {
        delete::delete(store, id, true)?;
    }
    Ok(code)
}
