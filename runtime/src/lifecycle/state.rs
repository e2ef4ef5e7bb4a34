//! `state`: print a container's state as runc does.

use crate::error::Result;
use crate::state::{live_status, Store};

/// Prints the state of `id` as indented JSON.
pub fn print(store: &Store, id: &str) -> Result<()> {
    let state = store.read(id)?;
    let (status, _) = live_status(&state, &store.fifo_path(id));
    let json = serde_json::to_string_pretty(&state.report(status)).expect("state serializes");
    println!("{json}");
    Ok(())
}
