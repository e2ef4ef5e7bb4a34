//! `berth spec --network MODE`: which network namespace a new configuration asks for, and for
//! `bridge`, the hooks and the CNI network configuration list that attach it.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use oci_spec::runtime::{Hook, HookBuilder, LinuxNamespaceBuilder, LinuxNamespaceType, Spec};
use serde_json::{json, Value};

use super::PortMapping;

/// The `PATH` the network hooks run with, so that the plugins find iptables.
const HOOK_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The container's network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkMode {
    /// A network namespace of its own with only loopback, up.
    None,
    /// The runtime's own network namespace.
    Host,
    /// A network namespace of its own attached to a CNI bridge network by hooks.
    Bridge,
    /// The network namespace of another container: its id, or a namespace path.
    Container(String),
}

impl FromStr for NetworkMode {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "none" => Ok(NetworkMode::None),
            "host" => Ok(NetworkMode::Host),
            "bridge" => Ok(NetworkMode::Bridge),
            _ => match text.strip_prefix("container:") {
                Some(target) if !target.is_empty() => Ok(NetworkMode::Container(target.into())),
                _ => Err(format!(
                    "\"{text}\" is not one of none, host, bridge, container:ID|PATH"
                )),
            },
        }
    }
}

/// What the bridge hooks are told: which berth to run, its state root, the network
/// configuration list and the published ports.
#[derive(Debug)]
pub struct BridgeHooks<'a> {
    /// The berth binary the hooks run.
    pub berth: &'a Path,
    /// The state root the hooks write the container's `network.json` under.
    pub state_root: &'a Path,
    /// The CNI network configuration list.
    pub conflist: &'a Path,
    /// Ports to publish.
    pub publish: &'a [PortMapping],
}

impl BridgeHooks<'_> {
    /// The hook running `berth network ACTION`.
    fn hook(&self, action: &str) -> Hook {
        let mut args: Vec<String> = ["berth", "--root"].map(String::from).to_vec();
        args.push(self.state_root.display().to_string());
        args.extend(["network", action, "--config"].map(String::from));
        args.push(self.conflist.display().to_string());
        for mapping in self.publish {
            args.extend(["--publish".to_string(), mapping.to_string()]);
        }
        HookBuilder::default()
            .path(self.berth)
            .args(args)
            .env(vec![HOOK_PATH.to_string()])
            .build()
            .expect("path is set")
    }

    /// Adds `network up` as the last createRuntime hook and `network down` as the first
    /// poststop hook.
    pub fn add_to(&self, spec: &mut Spec) {
        let mut hooks = spec.hooks().clone().unwrap_or_default();
        let mut create_runtime = hooks.create_runtime().clone().unwrap_or_default();
        create_runtime.push(self.hook("up"));
        let mut poststop = hooks.poststop().clone().unwrap_or_default();
        poststop.insert(0, self.hook("down"));
        hooks.set_create_runtime(Some(create_runtime));
        hooks.set_poststop(Some(poststop));
        spec.set_hooks(Some(hooks));
    }
}

/// Sets the network namespace of `spec` for `mode`; `container_netns` is the namespace path a
/// `container:` mode resolved to.
pub fn set_namespace(spec: &mut Spec, mode: &NetworkMode, container_netns: Option<PathBuf>) {
    let mut linux = spec.linux().clone().unwrap_or_default();
    let mut namespaces: Vec<_> = linux
        .namespaces()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|ns| ns.typ() != LinuxNamespaceType::Network)
        .collect();
    if *mode != NetworkMode::Host {
        let mut ns = LinuxNamespaceBuilder::default().typ(LinuxNamespaceType::Network);
        if let Some(path) = container_netns {
            ns = ns.path(path);
        }
        namespaces.push(ns.build().expect("type is set"));
    }
    linux.set_namespaces(Some(namespaces));
    spec.set_linux(Some(linux));
}

/// The network configuration list `spec --network bridge` writes: a bridge `berth0` with
/// host-local addresses from 10.89.0.0/24 and a default route, masquerading outgoing traffic,
/// then published ports (portmap) and loopback.
pub fn default_conflist() -> Value {
    json!({
        "cniVersion": "1.0.0",
        "name": "berth",
        "plugins": [
            {
                "type": "bridge",
                "bridge": "berth0",
                "isGateway": true,
                "ipMasq": true,
                "hairpinMode": true,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": "10.89.0.0/24"}]],
                    "routes": [{"dst": "0.0.0.0/0"}]
                }
            },
            {"type": "portmap", "capabilities": {"portMappings": true}},
            {"type": "loopback"}
        ]
    })
}
