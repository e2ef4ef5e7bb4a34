//! Bridge networking driven by hooks. `berth network up`, run as a `createRuntime` hook,
//! attaches the new container's network namespace to a CNI network (a veth pair to a bridge, an
//! address, routes, published ports); `berth network down`, run as a `poststop` hook, gives all
//! of it back. Both read the container's state (runtime.md) on stdin, and work under any
//! runtime that runs hooks.
//!
//! The result of `up` is kept twice: in the container's state directory (`network.json`), for
//! users, and in a cache directory that outlives the container, for `down`, beside a bind mount
//! of the container's network namespace: CNI plugins undo their work (the veth, masquerading
//! rules) inside that namespace, so it must outlive the container's process.

pub mod cni;
pub mod mode;
mod ports;

use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use nix::mount::{mount, umount2, MntFlags, MsFlags};
use oci_spec::runtime::State;
use serde_json::{json, Map, Value};

use crate::cli::NetworkHookArgs;
use crate::error::{Context, Error, Result};
use crate::state::{validate_id, Store};
use cni::{Attachment, NetworkList};
pub use ports::PortMapping;

/// The file in the container's state directory that holds its network attachment.
pub const RESULT_FILE: &str = "network.json";

/// Attaches the container named by the state on stdin to the network `args.config` lists.
pub fn up(args: &NetworkHookArgs, store: &Store) -> Result<()> {
    let hook = HookRun::read(args)?;
    let pid = hook.state.pid().filter(|pid| *pid > 0).ok_or_else(|| {
        Error::Network(
            "the state on stdin has no pid; run `network up` as a createRuntime hook".into(),
        )
    })?;
    let netns = PathBuf::from(format!("/proc/{pid}/ns/net"));
    refuse_own_namespace(&netns)?;
    hook.entry.pin(&netns)?;
    let pinned = hook.entry.netns.to_string_lossy();
    let attachment = hook.attachment(args, &pinned);
    let result = attachment
        .add(&hook.list)
        .inspect_err(|_| hook.entry.remove())?;
    let record = json!({"network": hook.list.name, "interface": args.ifname, "result": result});
    let saved = write_atomically(&hook.entry.result, &record).and_then(|()| {
        let dir = store.container_path(hook.state.id());
        // Under another runtime's --root there may be no such directory: the cache is enough.
        match dir.is_dir() {
            true => write_atomically(&dir.join(RESULT_FILE), &record),
            false => Ok(()),
        }
    });
    saved.inspect_err(|_| {
        let _ = attachment.del(&hook.list, Some(&result));
        hook.entry.remove();
    })
}

/// Detaches the container named by the state on stdin from the network `args.config` lists,
/// in its network namespace as `up` pinned it (the container's process is gone by then). The
/// plugins remove the veth and masquerading rules there and release the address and the
/// published ports; then the namespace is unpinned and goes away.
pub fn down(args: &NetworkHookArgs) -> Result<()> {
    let hook = HookRun::read(args)?;
    let record: Option<Value> = std::fs::read(&hook.entry.result)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok());
    // Without a pin (never attached, or cleaned up by hand) the plugins still release what
    // they hold outside the namespace.
    let pinned = match hook.entry.netns.exists() {
        true => hook.entry.netns.to_string_lossy().into_owned(),
        false => String::new(),
    };
    let detached = hook
        .attachment(args, &pinned)
        .del(&hook.list, record.as_ref().map(|r| &r["result"]));
    hook.entry.remove();
    detached
}

/// What both hooks work from: the container's state, the network list, the cache entry, and
/// the plugins' directories and runtime configuration.
struct HookRun {
    state: State,
    list: NetworkList,
    entry: CacheEntry,
    plugin_dirs: Vec<PathBuf>,
    runtime_config: Map<String, Value>,
}

impl HookRun {
    /// Reads the state on stdin and the network list `args` names.
    fn read(args: &NetworkHookArgs) -> Result<HookRun> {
        let state = read_hook_state()?;
        validate_id(state.id())?;
        let list = NetworkList::load(&args.config)?;
        let entry = CacheEntry::new(args, &list, state.id());
        Ok(HookRun {
            state,
            list,
            entry,
            plugin_dirs: args.plugin_dirs(),
            runtime_config: runtime_config(&args.publish),
        })
    }

    /// The plugin calls for this container, in the network namespace at `netns`.
    fn attachment<'a>(&'a self, args: &'a NetworkHookArgs, netns: &'a str) -> Attachment<'a> {
        Attachment {
            container_id: self.state.id(),
            netns,
            ifname: &args.ifname,
            plugin_dirs: &self.plugin_dirs,
            runtime_config: &self.runtime_config,
        }
    }
}

/// What `up` keeps for `down` under the cache directory: the attachment's result, and a bind
/// mount that keeps the container's network namespace alive after its process exits.
struct CacheEntry {
    result: PathBuf,
    netns: PathBuf,
}

impl CacheEntry {
    fn new(args: &NetworkHookArgs, list: &NetworkList, id: &str) -> CacheEntry {
        let stem = format!("{}-{id}-{}", list.name, args.ifname);
        CacheEntry {
            result: args.cache_dir.join(format!("{stem}.json")),
            netns: args.cache_dir.join(format!("{stem}.netns")),
        }
    }

    /// Bind-mounts the network namespace `netns` onto the entry's pin, replacing a stale one
    /// (left by a container of the same id whose `down` never ran).
    fn pin(&self, netns: &Path) -> Result<()> {
        create_parent(&self.netns)?;
        let _ = umount2(&self.netns, MntFlags::MNT_DETACH);
        std::fs::File::create(&self.netns)
            .with_context(|| format!("create {}", self.netns.display()))?;
        mount(
            Some(netns),
            &self.netns,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .with_context(|| format!("pin {} at {}", netns.display(), self.netns.display()))
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&self.netns);
        })
    }

    /// Unpins the namespace and forgets the result; what is already gone is fine.
    fn remove(&self) {
        let _ = umount2(&self.netns, MntFlags::MNT_DETACH);
        let _ = std::fs::remove_file(&self.netns);
        let _ = std::fs::remove_file(&self.result);
    }
}

/// The container state a hook gets on stdin.
fn read_hook_state() -> Result<State> {
    let mut input = Vec::new();
    std::io::stdin()
        .read_to_end(&mut input)
        .context("read the container state from stdin")?;
    serde_json::from_slice(&input)
        .map_err(|e| Error::Network(format!("stdin is not a container state (runtime.md): {e}")))
}

/// Refuses to configure the network namespace berth itself runs in: a container without a
/// network namespace of its own shares the host's, which must not get the container's address.
fn refuse_own_namespace(netns: &Path) -> Result<()> {
    let inode = |path: &Path| {
        std::fs::metadata(path)
            .map(|m| (m.dev(), m.ino()))
            .with_context(|| format!("network namespace {}", path.display()))
    };
    if inode(netns)? == inode(Path::new("/proc/self/ns/net"))? {
        return Err(Error::config(
            "linux.namespaces",
            "the container shares the runtime's network namespace; bridge networking needs a \
             network namespace of its own",
        ));
    }
    Ok(())
}

/// The CNI runtime configuration: the published ports.
fn runtime_config(publish: &[PortMapping]) -> Map<String, Value> {
    let mut config = Map::new();
    if !publish.is_empty() {
        let mappings = publish.iter().map(PortMapping::to_cni).collect();
        config.insert("portMappings".into(), Value::Array(mappings));
    }
    config
}

/// Writes `value` as JSON to `path` (creating its directory) through a rename, so a reader
/// never sees half of it.
fn write_atomically(path: &Path, value: &Value) -> Result<()> {
    create_parent(path)?;
    let partial = path.with_extension("partial");
    std::fs::write(&partial, format!("{value:#}\n"))
        .and_then(|()| std::fs::rename(&partial, path))
        .with_context(|| format!("write {}", path.display()))
}

fn create_parent(path: &Path) -> Result<()> {
    let dir = path.parent().expect("a file path has a parent");
    std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))
}
