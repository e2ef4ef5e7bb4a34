//! `spec`: write a starting config.json.

use std::fs::OpenOptions;
use std::io::{ErrorKind, Write};

use crate::cli::SpecArgs;
use crate::error::{Context, Error, Result};
use crate::spec::default_spec;

/// Writes `config.json` into the bundle directory, refusing to overwrite one.
pub fn write(args: &SpecArgs) -> Result<()> {
    let path = args.bundle.join("config.json");
    let json = serde_json::to_string_pretty(&default_spec(args.rootless)).expect("spec serializes");
    let mut file = match OpenOptions::new().write(true).create_new(true).open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            return Err(Error::InvalidState(format!(
                "File {} exists. Remove it first",
                path.display()
            )))
        }
        Err(e) => return Err(e).with_context(|| format!("create {}", path.display())),
    };
    file.write_all(json.as_bytes())
        .and_then(|()| file.write_all(b"\n"))
        .with_context(|| format!("write {}", path.display()))
}
