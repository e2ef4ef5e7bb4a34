//! `list`: the containers under `--root`, as a table or JSON.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::cli::{ListArgs, ListFormat};
use crate::error::Result;
use crate::state::{live_status, Store};

/// Prints the containers.
pub fn list(store: &Store, args: &ListArgs) -> Result<()> {
    let ids = store.ids()?;
    if args.quiet {
        for id in &ids {
            println!("{id}");
        }
        return Ok(());
    }
    let states: Vec<_> = ids
        .iter()
        .filter_map(|id| store.read(id).ok())
        .map(|state| {
            let status = live_status(&state, &store.fifo_path(&state.id)).0;
            (state, status)
        })
        .collect();
    match args.format {
        ListFormat::Json => {
            let reports: Vec<_> = states.iter().map(|(s, status)| s.report(*status)).collect();
            // runc prints `null` for no containers.
            let json = if reports.is_empty() {
                "null".to_string()
            } else {
                serde_json::to_string(&reports).expect("states serialize")
            };
            println!("{json}");
        }
        ListFormat::Table => {
            let mut rows =
                vec![["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"].map(String::from)];
            for (state, status) in &states {
                rows.push([
                    state.id.clone(),
                    state.reported_pid(*status).to_string(),
                    status.to_string(),
                    state.bundle.display().to_string(),
                    state.created.clone(),
                    owner_of(&store.container_path(&state.id)),
                ]);
            }
            print!("{}", align(&rows));
        }
    }
    Ok(())
}

/// The name of the user owning a container's state directory.
fn owner_of(dir: &Path) -> String {
    let uid = dir.metadata().map(|m| m.uid()).unwrap_or(0);
    crate::passwd::lookup_uid(Path::new("/etc/passwd"), uid)
        .map(|(name, _)| name)
        .unwrap_or_else(|| format!("#{uid}"))
}

/// Columns padded like runc's tabwriter (minimum width 12, 3 spaces of padding).
fn align(rows: &[[String; 6]]) -> String {
    let mut widths = [0usize; 6];
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len() + 3).max(12);
        }
    }
    rows.iter()
        .map(|row| {
            let mut line: String = row
                .iter()
                .zip(widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect();
            line.truncate(line.trim_end().len());
            line + "\n"
        })
        .collect()
}
