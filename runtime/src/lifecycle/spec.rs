//! `spec`: write a starting config.json (and for `--network bridge`, the network's
//! configuration list beside it).

use std::fs::OpenOptions;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use crate::cli::SpecArgs;
use crate::error::{Context, Error, Result};
use crate::network::mode::{default_conflist, set_namespace, BridgeHooks, NetworkMode};
use crate::spec::default_spec;
use crate::state::Store;

/// The network configuration list `--network bridge` writes into the bundle.
const CONFLIST: &str = "network.conflist";

/// Writes `config.json` into the bundle directory, refusing to overwrite one.
pub fn write(args: &SpecArgs, store: &Store) -> Result<()> {
    let mut spec = default_spec(args.rootless);
    if !args.publish.is_empty() && args.network != NetworkMode::Bridge {
        return Err(Error::config("--publish", "needs --network bridge"));
    }
    let container_netns = match &args.network {
        NetworkMode::Container(target) => Some(namespace_of(target, store)?),
        _ => None,
    };
    set_namespace(&mut spec, &args.network, container_netns);
    let bridge = args.network == NetworkMode::Bridge;
    if bridge {
        if args.rootless {
            return Err(Error::config(
                "--network bridge",
                "needs root: the CNI plugins configure the host side (use none or host)",
            ));
        }
        let berth = std::env::current_exe().context("find the berth binary")?;
        let (state_root, conflist) = (absolute(store.root())?, absolute(&args.bundle)?);
        BridgeHooks {
            berth: &berth,
            state_root: &state_root,
            conflist: &conflist.join(CONFLIST),
            publish: &args.publish,
        }
        .add_to(&mut spec);
    }
    let json = serde_json::to_string_pretty(&spec).expect("spec serializes");
    create_new(&args.bundle.join("config.json"), &json)?;
    if bridge {
        let conflist = serde_json::to_string_pretty(&default_conflist()).expect("serializes");
        match create_new(&args.bundle.join(CONFLIST), &conflist) {
            // A network the user already configured stays as it is.
            Err(Error::InvalidState(_)) => {}
            result => result?,
        }
    }
    Ok(())
}

/// The network namespace `container:TARGET` names: a path as given, else the namespace of the
/// running container with that id.
fn namespace_of(target: &str, store: &Store) -> Result<PathBuf> {
    if target.starts_with('/') {
        return Ok(PathBuf::from(target));
    }
    let live = super::live(store, target)?;
    Ok(PathBuf::from(format!("/proc/{}/ns/net", live.process.pid)))
}

fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).with_context(|| format!("resolve {}", path.display()))
}

/// Writes `text` and a newline to a new file at `path`.
fn create_new(path: &Path, text: &str) -> Result<()> {
    let mut file = match OpenOptions::new().write(true).create_new(true).open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            return Err(Error::InvalidState(format!(
                "File {} exists. Remove it first",
                path.display()
            )))
        }
        Err(e) => return Err(e).with_context(|| format!("create {}", path.display())),
    };
    file.write_all(text.as_bytes())
        .and_then(|()| file.write_all(b"\n"))
        .with_context(|| format!("write {}", path.display()))
}
