//! Networking from `linux.namespaces` and hooks: a new network namespace has loopback up (as
//! runc brings it up); `berth spec --network` writes the none, host, container and bridge
//! modes; bridge networking runs Debian's CNI plugins (bridge, host-local, portmap, loopback)
//! through `berth network up|down` as createRuntime/poststop hooks, so it works under any
//! runtime that runs hooks. Every bridge test runs inside a network namespace the test thread
//! made ([`TestNetns`]): the bridge, addresses and iptables rules never reach the machine's own.

use conformance::netns::TestNetns;
use conformance::*;
use oci_spec::runtime::Spec;
use serde_json::{json, Value};
use std::io::Read;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The port the bridge test publishes on the host side.
const HOST_PORT: u16 = 18080;

/// `berth [--root ROOT] spec ARGS` into a new directory; returns the config and the directory.
fn berth_spec(ctx: &Ctx, args: &[&str]) -> (Value, PathBuf) {
    let dir = ctx.mkdir("spec");
    let out = std::process::Command::new(berth())
        .arg("--root")
        .arg(ctx.root())
        .args(["spec", "--bundle"])
        .arg(&dir)
        .args(args)
        .output()
        .expect("run berth spec");
    assert!(
        out.status.success(),
        "berth spec {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config = std::fs::read_to_string(dir.join("config.json")).expect("config.json written");
    (
        serde_json::from_str(&config).expect("config.json is JSON"),
        dir,
    )
}

/// `spec` with the network namespace entry (or its absence) of `config`.
fn with_network_of(spec: &Spec, config: &Value) -> Spec {
    let network: Vec<Value> = config["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|ns| ns["type"] == "network")
        .cloned()
        .collect();
    edit(spec, |v| {
        let namespaces = v["linux"]["namespaces"].as_array_mut().unwrap();
        namespaces.retain(|ns| ns["type"] != "network");
        namespaces.extend(network);
    })
}

/// A new network namespace holds loopback alone, and it is up (runc brings it up too).
#[test]
fn a_new_network_namespace_has_only_loopback_up() {
    let ctx = Ctx::new("net-loopback");
    let (_, out) = ctx.run(&ctx.bundle(&sh_spec("ls /sys/class/net; cat /sys/class/net/lo/flags")));
    out.ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[..1], ["lo"], "only loopback: {}", out.describe());
    let flags = u32::from_str_radix(lines[1].trim_start_matches("0x"), 16).expect("hex flags");
    assert_eq!(flags & 1, 1, "IFF_UP set on lo: {}", lines[1]);
}

/// `spec --network none|host|container:ID|container:PATH` puts the container in a namespace of
/// its own, the runtime's, or another container's (by id or by path).
#[test]
fn spec_network_modes_choose_the_namespace() {
    let ctx = Ctx::new("net-modes");
    let mine = ns_of("thread-self", "net");
    let net_of = |config: &Value| {
        let report = ctx.run_probe(&with_network_of(&probe_spec(&[]), config));
        report["namespaces"]["net"].as_str().unwrap().to_string()
    };
    let (none, _) = berth_spec(&ctx, &["--network", "none"]);
    assert_ne!(net_of(&none), mine, "none: a namespace of its own");
    let (host, _) = berth_spec(&ctx, &["--network", "host"]);
    assert_eq!(net_of(&host), mine, "host: the runtime's namespace");

    let first = ctx.start_new(&probe_spec(&["sleep", "60"]));
    let pid = ctx.state(&first.id).pid();
    let target = ns_of(&pid.to_string(), "net");
    let mut modes = vec![format!("container:/proc/{pid}/ns/net")];
    if is_runc() {
        note("SKIP for runc: spec --network container:ID looks the id up in berth's own state");
    } else {
        modes.push(format!("container:{}", first.id));
    }
    for mode in &modes {
        let (config, _) = berth_spec(&ctx, &["--network", mode]);
        assert_eq!(
            net_of(&config),
            target,
            "{mode}: the other container's namespace"
        );
    }
    ctx.rt(&["delete", "--force", &first.id]).ok();
}

/// A bridge network for one test, written by `berth spec --network bridge`: its hooks and
/// its configuration list, with the IPAM leases and the hooks' cache in the test's own dir.
struct Bridge {
    hooks: Value,
    conflist: PathBuf,
    leases: PathBuf,
    cache: PathBuf,
}

impl Bridge {
    /// `berth spec --network bridge --publish ...`, checked, and made private to the test.
    fn new(ctx: &Ctx, publish: &[&str]) -> Bridge {
        let mut args = vec!["--network", "bridge"];
        for port in publish {
            args.extend(["--publish", port]);
        }
        let (config, dir) = berth_spec(ctx, &args);
        let conflist = dir.join("network.conflist");
        let mut list: Value =
            serde_json::from_str(&std::fs::read_to_string(&conflist).expect("conflist written"))
                .expect("conflist is JSON");
        let types: Vec<&str> = list["plugins"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["type"].as_str().unwrap())
            .collect();
        assert_eq!(types, ["bridge", "portmap", "loopback"]);
        let leases = ctx.mkdir("ipam");
        list["plugins"][0]["ipam"]["dataDir"] = json!(leases);
        std::fs::write(&conflist, list.to_string()).unwrap();

        let cache = ctx.mkdir("cni-cache");
        let mut hooks = config["hooks"].clone();
        for kind in ["createRuntime", "poststop"] {
            let hook = &mut hooks[kind][0];
            assert_eq!(hook["path"], json!(berth()), "{kind} runs berth");
            let args = hook["args"].as_array_mut().unwrap();
            let action = if kind == "createRuntime" {
                "up"
            } else {
                "down"
            };
            let expected_tail: Vec<Value> = std::iter::once(json!(conflist))
                .chain(publish.iter().flat_map(|p| [json!("--publish"), json!(p)]))
                .collect();
            assert_eq!(
                args[3..6],
                [json!("network"), json!(action), json!("--config")]
            );
            assert_eq!(args[6..], expected_tail[..], "{kind} args");
            args.extend([json!("--cache-dir"), json!(cache)]);
        }
        Bridge {
            hooks,
            conflist,
            leases: leases.join("berth"),
            cache,
        }
    }

    /// `spec` attached to this bridge.
    fn attach(&self, spec: &Spec) -> Spec {
        edit(spec, |v| v["hooks"] = self.hooks.clone())
    }

    /// The container's address and gateway, from the `network.json` its `up` hook wrote.
    fn address_of(ctx: &Ctx, id: &str) -> (String, String) {
        let path = ctx.root().join(id).join("network.json");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let record: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(record["interface"], "eth0");
        let ip = &record["result"]["ips"][0];
        let address = ip["address"].as_str().unwrap();
        assert!(
            address.starts_with("10.89.0.") && address.ends_with("/24"),
            "{record}"
        );
        let bare = address.split('/').next().unwrap().to_string();
        (bare, ip["gateway"].as_str().unwrap().to_string())
    }

    /// IPAM leases still held (host-local keeps one file per address).
    fn leases(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&self.leases) else {
            return Vec::new();
        };
        entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|name| name != "lock" && !name.starts_with("last_reserved_ip"))
            .collect()
    }

    /// Asserts that nothing of containers `ids` is left: no veth, no lease, no iptables rule,
    /// nothing in the hooks' cache (a pinned namespace there would also be a leaked mount).
    #[track_caller]
    fn assert_released(&self, netns: &TestNetns, ids: &[&str]) {
        let links = netns.links();
        assert!(
            links.iter().all(|l| l == "lo" || l == "berth0"),
            "veth left: {links:?}"
        );
        assert_eq!(self.leases(), Vec::<String>::new(), "IPAM leases left");
        let rules = netns.run("iptables-save", &[]);
        for id in ids {
            let tag = format!("id: \\\"{id}\\\"");
            assert!(
                !rules.contains(&tag),
                "iptables rules of {id} left:\n{rules}"
            );
        }
        assert!(
            !rules.contains("CNI-DN-"),
            "port mapping chains left:\n{rules}"
        );
        let cached: Vec<_> = std::fs::read_dir(&self.cache).unwrap().collect();
        assert!(cached.is_empty(), "hook cache left: {cached:?}");
    }
}

/// Reads what the server at `addr:port` says, retrying while it starts listening.
fn read_from(addr: &str, port: u16) -> String {
    let mut said = String::new();
    wait_for(
        &format!("a reply from {addr}:{port}"),
        Duration::from_secs(10),
        || {
            let Ok(mut stream) = TcpStream::connect((addr, port)) else {
                return false;
            };
            stream
                .set_read_timeout(Some(Duration::from_secs(2)))
                .unwrap();
            said.clear();
            stream.read_to_string(&mut said).is_ok() && !said.is_empty()
        },
    );
    said
}

/// Two containers on the bridge: each gets an address, a default route via the gateway, and
/// reaches the other (ping); a server in one is reached from the test's namespace through the
/// published port. After delete, no veth, lease, iptables rule or pinned namespace is left.
#[test]
fn bridge_connects_containers_and_publishes_ports() {
    let netns = TestNetns::enter();
    let ctx = Ctx::new("net-bridge");
    let bridge = Bridge::new(&ctx, &[&format!("{HOST_PORT}:80/tcp")]);
    let server =
        ctx.start_new(&bridge.attach(&sh_spec("exec nc -ll -p 80 -e echo hello-from-server")));
    let (server_ip, gateway) = Bridge::address_of(&ctx, &server.id);
    assert!(
        netns.links().contains(&"berth0".to_string()),
        "bridge made in the test's namespace"
    );

    let script = format!("ip -o -4 addr show eth0; ip route; ping -c 1 -W 5 {server_ip}");
    let client = with_capability(&bridge.attach(&sh_spec(&script)), "CAP_NET_RAW");
    let (client_id, out) = ctx.run(&ctx.bundle(&client));
    out.ok();
    assert!(
        out.stdout.contains("eth0    inet 10.89.0."),
        "{}",
        out.describe()
    );
    assert!(
        out.stdout
            .contains(&format!("default via {gateway} dev eth0")),
        "{}",
        out.describe()
    );
    assert!(
        out.stdout.contains("1 packets received"),
        "ping across the bridge: {}",
        out.describe()
    );

    assert_eq!(read_from(&gateway, HOST_PORT), "hello-from-server\n");

    ctx.rt(&["delete", "--force", &server.id]).ok();
    ctx.assert_gone(&server.id);
    bridge.assert_released(&netns, &[&server.id, &client_id]);
    drop(ctx);
}

/// A network that cannot be set up fails `create` with the plugin's reason; what the plugins
/// before it did is undone, and nothing is left.
#[test]
fn a_failing_network_hook_fails_create_and_leaves_nothing() {
    let netns = TestNetns::enter();
    let ctx = Ctx::new("net-fail");
    let bridge = Bridge::new(&ctx, &[]);
    let mut list: Value =
        serde_json::from_str(&std::fs::read_to_string(&bridge.conflist).unwrap()).unwrap();
    list["plugins"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "no-such-plugin"}));
    std::fs::write(&bridge.conflist, list.to_string()).unwrap();

    let (id, out) = ctx.try_create(&ctx.bundle(&bridge.attach(&sh_spec("true"))));
    out.failed();
    assert!(
        out.stderr
            .contains("plugin no-such-plugin (ADD): not found in"),
        "the hook says why: {}",
        out.describe()
    );
    ctx.assert_gone(&id);
    bridge.assert_released(&netns, &[&id]);
    drop(ctx);
}

/// runtime.md: a create that fails after the createRuntime hooks ran goes on to destroy the
/// container and run the poststop hooks, so the network is given back.
#[test]
fn a_create_failing_after_network_up_gives_the_network_back() {
    let netns = TestNetns::enter();
    let ctx = Ctx::new("net-undo");
    let bridge = Bridge::new(&ctx, &[]);
    let spec = edit(&bridge.attach(&sh_spec("true")), |v| {
        v["hooks"]["createContainer"] = json!([{"path": "/bin/false"}]);
    });
    let (id, out) = ctx.try_create(&ctx.bundle(&spec));
    out.failed();
    ctx.assert_gone(&id);
    bridge.assert_released(&netns, &[&id]);
    drop(ctx);
}

/// A container sharing the runtime's network namespace (host mode) must not get a bridge
/// address: `network up` refuses, naming `linux.namespaces`, before touching anything.
#[test]
fn bridge_networking_refuses_the_runtimes_own_namespace() {
    let netns = TestNetns::enter();
    let ctx = Ctx::new("net-host-bridge");
    let bridge = Bridge::new(&ctx, &[]);
    let (host, _) = berth_spec(&ctx, &["--network", "host"]);
    let spec = with_network_of(&bridge.attach(&sh_spec("true")), &host);
    let (id, out) = ctx.try_create(&ctx.bundle(&spec));
    out.failed();
    assert!(
        out.stderr
            .contains("linux.namespaces: the container shares the runtime's network namespace"),
        "{}",
        out.describe()
    );
    ctx.assert_gone(&id);
    assert_eq!(netns.links(), ["lo"], "no bridge was made");
    assert!(bridge.leases().is_empty());
    drop(ctx);
}

/// `spec --network` refuses what it cannot write, naming the flag.
#[test]
fn spec_network_refuses_bad_requests() {
    let ctx = Ctx::new("net-spec-bad");
    let cases: [(&[&str], &str); 4] = [
        (
            &["--network", "bridged"],
            "is not one of none, host, bridge",
        ),
        (
            &["--network", "host", "--publish", "80:80"],
            "--publish: needs --network bridge",
        ),
        (
            &["--network", "bridge", "--publish", "80"],
            "is not [HOST_IP:]HOST_PORT:CONTAINER_PORT",
        ),
        (
            &["--network", "bridge", "--rootless"],
            "--network bridge: needs root",
        ),
    ];
    for (args, reason) in cases {
        let dir = ctx.mkdir("spec-bad");
        let out = std::process::Command::new(berth())
            .args(["spec", "--bundle"])
            .arg(&dir)
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} accepted");
        assert!(stderr.contains(reason), "{args:?}: {stderr}");
        assert!(
            !Path::new(&dir.join("config.json")).exists(),
            "{args:?} wrote a config"
        );
    }
}
