//! config-linux.md Namespaces: new ones, inherited ones, joined ones (by `path`).

use conformance::*;
use oci_spec::runtime::{LinuxNamespace, LinuxNamespaceBuilder, LinuxNamespaceType, Spec};
use std::time::Duration;

fn set_namespaces(spec: &mut Spec, namespaces: Vec<LinuxNamespace>) {
    spec.linux_mut()
        .as_mut()
        .expect("linux")
        .set_namespaces(Some(namespaces));
}

fn ns(typ: LinuxNamespaceType, path: Option<String>) -> LinuxNamespace {
    let b = LinuxNamespaceBuilder::default().typ(typ);
    match path {
        Some(p) => b.path(p),
        None => b,
    }
    .build()
    .expect("namespace")
}

/// The `/proc/self/ns` names of the namespace types config.json can list.
const KINDS: [&str; 7] = ["pid", "net", "ipc", "uts", "mnt", "user", "cgroup"];

fn assert_namespaces(report: &serde_json::Value, new: &[&str]) {
    for kind in KINDS {
        let inside = report["namespaces"][kind].as_str().unwrap_or_default();
        let host = host_ns(kind);
        if new.contains(&kind) {
            assert_ne!(
                inside, host,
                "{kind}: requested, so it must be a new namespace"
            );
        } else {
            assert_eq!(
                inside, host,
                "{kind}: not requested, so it must be the runtime's"
            );
        }
    }
}

/// A new pid namespace makes the container process pid 1 (with no parent inside).
#[test]
fn new_pid_namespace_makes_pid_1() {
    let ctx = Ctx::new("pid-1");
    let r = ctx.run_probe(&probe_spec(&[]));
    assert_eq!(r["pid"], 1);
    assert_eq!(r["ppid"], 0);
}

/// Requested namespaces are new; the others are inherited from the runtime.
#[test]
fn requested_namespaces_are_new_others_inherited() {
    let ctx = Ctx::new("ns-new");
    let r = ctx.run_probe(&probe_spec(&[]));
    assert_namespaces(&r, &["pid", "net", "ipc", "uts", "mnt"]);

    // Only a mount namespace (no uts namespace: no hostname either).
    let mut spec = probe_spec(&[]);
    set_namespaces(&mut spec, vec![ns(LinuxNamespaceType::Mount, None)]);
    spec.set_hostname(None);
    let r = ctx.run_probe(&spec);
    assert_namespaces(&r, &["mnt"]);
    assert_ne!(r["pid"], 1, "no pid namespace: not pid 1");
}

/// Joining by `path`: the network namespace of another (running) container.
#[test]
fn join_network_namespace_of_a_container() {
    let ctx = Ctx::new("ns-join-container");
    let first = ctx.start_new(&probe_spec(&["sleep", "60"]));
    let pid = ctx.state(&first.id).pid();
    let target = ns_of(&pid.to_string(), "net");
    assert_ne!(target, host_ns("net"));

    let mut spec = probe_spec(&[]);
    let mut namespaces: Vec<LinuxNamespace> =
        spec.linux().as_ref().unwrap().namespaces().clone().unwrap();
    for n in namespaces.iter_mut() {
        if n.typ() == LinuxNamespaceType::Network {
            n.set_path(Some(format!("/proc/{pid}/ns/net").into()));
        }
    }
    set_namespaces(&mut spec, namespaces);
    let r = ctx.run_probe(&spec);
    assert_eq!(r["namespaces"]["net"], target.as_str());
    assert_ne!(
        r["namespaces"]["ipc"],
        ns_of(&pid.to_string(), "ipc"),
        "ipc not joined"
    );
}

/// Joining by `path`: the net, uts and ipc namespaces of a process started with `unshare`.
#[test]
fn join_namespaces_of_a_process() {
    let ctx = Ctx::new("ns-join-process");
    let pid = ctx.spawn_helper("unshare", &["--net", "--uts", "--ipc", "sleep", "60"]);
    let p = pid.to_string();
    wait_for(
        "unshare to enter its namespaces",
        Duration::from_secs(5),
        || {
            std::fs::read_link(format!("/proc/{pid}/ns/net"))
                .is_ok_and(|l| l.display().to_string() != host_ns("net"))
                && std::fs::read_link(format!("/proc/{pid}/exe"))
                    .is_ok_and(|e| e.ends_with("sleep"))
        },
    );
    let mut spec = probe_spec(&[]);
    spec.set_hostname(None);
    set_namespaces(
        &mut spec,
        vec![
            ns(LinuxNamespaceType::Pid, None),
            ns(LinuxNamespaceType::Mount, None),
            ns(
                LinuxNamespaceType::Network,
                Some(format!("/proc/{pid}/ns/net")),
            ),
            ns(LinuxNamespaceType::Uts, Some(format!("/proc/{pid}/ns/uts"))),
            ns(LinuxNamespaceType::Ipc, Some(format!("/proc/{pid}/ns/ipc"))),
        ],
    );
    let r = ctx.run_probe(&spec);
    for kind in ["net", "uts", "ipc"] {
        assert_eq!(
            r["namespaces"][kind],
            ns_of(&p, kind).as_str(),
            "{kind} joined"
        );
        assert_ne!(r["namespaces"][kind], host_ns(kind).as_str());
    }
    assert_ne!(
        r["namespaces"]["mnt"],
        ns_of(&p, "mnt").as_str(),
        "mnt is new"
    );
}
