//! `ps`: the processes of a container, as host pids (json) or through ps(1) (table).

use std::process::Command;

use crate::cli::{ListFormat, PsArgs};
use crate::error::{Context, Error, Result};
use crate::resources;
use crate::state::Store;

/// Prints the container's processes.
pub fn ps(store: &Store, args: &PsArgs) -> Result<()> {
    let container = super::live(store, &args.id)?;
    // Without a cgroup (rootless, no limits) the container process is all berth can vouch for.
    let pids: Vec<i32> = match resources::open_if_any(&container.state.cgroup_path)? {
        Some(cgroup) => cgroup.pids()?.iter().map(|p| p.as_raw()).collect(),
        None => vec![container.process.pid.as_raw()],
    };
    drop(container);
    if let ListFormat::Json = args.format {
        println!("{}", serde_json::to_string(&pids).expect("pids serialize"));
        return Ok(());
    }
    let ps_args: Vec<&str> = if args.ps_args.is_empty() {
        vec!["-ef"]
    } else {
        args.ps_args.iter().map(String::as_str).collect()
    };
    let output = Command::new("ps")
        .args(&ps_args)
        .output()
        .context("run ps")?;
    if !output.status.success() {
        return Err(Error::Setup(format!(
            "ps {}: {}",
            ps_args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let pid_column = header
        .split_whitespace()
        .position(|h| h == "PID")
        .ok_or_else(|| Error::Setup("ps printed no PID column".to_string()))?;
    println!("{header}");
    for line in lines {
        let pid = line
            .split_whitespace()
            .nth(pid_column)
            .and_then(|p| p.parse::<i32>().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            println!("{line}");
        }
    }
    Ok(())
}
