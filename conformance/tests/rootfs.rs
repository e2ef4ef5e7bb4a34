//! config.md Root and Mounts, config-linux.md Devices, maskedPaths, readonlyPaths, sysctl,
//! rootfsPropagation, hostname/domainname: what the container's filesystem looks like.

use conformance::*;
use serde_json::{json, Value};
use std::path::Path;

fn has(list: &[String], opt: &str) -> bool {
    list.iter().any(|o| o == opt)
}

#[track_caller]
fn mount<'a>(report: &'a Value, point: &str) -> &'a Value {
    mount_at(report, point).unwrap_or_else(|| panic!("no mount at {point}: {}", report["mounts"]))
}

/// Mounts from config.json: types, options (tmpfs mode=/size=, nosuid/nodev/noexec), ro and rw
/// bind mounts of a host dir and a host file, and destinations created in the rootfs.
#[test]
fn config_mounts() {
    let ctx = Ctx::new("mounts");
    let host_dir = ctx.mkdir("hostdir");
    std::fs::write(host_dir.join("data.txt"), "hello from the host\n").unwrap();
    let host_file = ctx.dir().join("hostfile.txt");
    std::fs::write(&host_file, "0123456789").unwrap();
    let spec = with_mounts(
        &probes_spec(&[
            &[
                "access",
                "/ro/data.txt",
                "/rw/data.txt",
                "/etc/hostfile",
                "/deep/a/b/c",
            ],
            &[],
        ]),
        json!([
            {"destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "nodev", "noexec", "mode=1750", "size=1m"]},
            {"destination": "/ro", "type": "bind", "source": host_dir, "options": ["bind", "ro"]},
            {"destination": "/rw", "type": "none", "source": host_dir, "options": ["rbind", "rw"]},
            {"destination": "/etc/hostfile", "type": "bind", "source": host_file,
             "options": ["bind", "ro"]},
            {"destination": "/deep/a/b/c", "type": "tmpfs", "source": "tmpfs"},
        ]),
    );
    let bundle = ctx.bundle(&spec);
    let out = ctx.run(&bundle).1;
    let lines = json_lines(&out.ok().stdout);
    let (access, report) = (&lines[0], &lines[1]);

    let scratch = mount(report, "/scratch");
    assert_eq!(scratch["fs_type"], "tmpfs");
    let opts = mount_options(scratch);
    for o in ["nosuid", "nodev", "noexec", "mode=1750", "size=1024k"] {
        assert!(has(&opts, o), "/scratch lacks {o}: {opts:?}");
    }

    let ro = mount(report, "/ro");
    assert!(has(&mount_options(ro), "ro"), "/ro options {ro}");
    assert_eq!(
        ro["root"],
        host_dir.display().to_string(),
        "/ro binds the host dir"
    );
    let ro_file = access_of(access, "/ro/data.txt");
    assert_eq!(ro_file["read_bytes"], 20);
    assert_eq!(ro_file["write"], "EROFS");

    let rw = mount(report, "/rw");
    assert!(has(&mount_options(rw), "rw"), "/rw options {rw}");
    assert_eq!(access_of(access, "/rw/data.txt")["write"], "ok");

    let file = mount(report, "/etc/hostfile");
    assert_eq!(file["root"], host_file.display().to_string());
    let f = access_of(access, "/etc/hostfile");
    assert_eq!(
        (f["type"].as_str(), f["read_bytes"].as_u64()),
        (Some("file"), Some(10))
    );
    assert_eq!(f["write"], "EROFS");

    assert_eq!(mount(report, "/deep/a/b/c")["fs_type"], "tmpfs");
    assert_eq!(access_of(access, "/deep/a/b/c")["type"], "dir");
    assert!(
        bundle.join("rootfs/deep/a/b/c").is_dir(),
        "the missing destination is created inside the rootfs"
    );
    // The ro bind mount did not make the host dir read-only.
    std::fs::write(host_dir.join("after.txt"), "x").expect("host dir still writable");
}

/// config.md (v1.3.0) Mounts, Linux: a relative destination "MUST be interpreted as relative
/// to "/"" (deprecated, but allowed).
#[test]
fn relative_mount_destination_is_relative_to_root() {
    let ctx = Ctx::new("mount-relative");
    let spec = with_mounts(
        &probe_spec(&[]),
        json!([{"destination": "relative/dir", "type": "tmpfs", "source": "tmpfs"}]),
    );
    let r = ctx.run_probe(&spec);
    assert_eq!(mount(&r, "/relative/dir")["fs_type"], "tmpfs");
}

/// A destination through a symlink in the rootfs that points to an absolute HOST path must be
/// resolved inside the rootfs (or refused): nothing may be created in, or mounted over, the
/// host directory. The host directories are shared mounts of the test and the container's
/// propagation `rshared`, so a mount made on them in the container's mount namespace would show
/// up on the host too. Twice: with the symlinks dangling inside the rootfs (their targets
/// created inside, or the run refused), and with the targets present inside the rootfs, where
/// the mounts must land.
#[test]
fn mount_destination_symlink_cannot_escape_rootfs() {
    let ctx = Ctx::new("mount-symlink");
    let victim = ctx.mkdir("host-victim");
    let victim2 = ctx.mkdir("host-victim2");
    for dir in [&victim, &victim2] {
        ctx.host_tmpfs(dir, true);
    }
    let source = ctx.mkdir("bind-source");
    std::fs::write(source.join("marker.txt"), "marker").unwrap();
    let spec = edit(
        &with_mounts(
            &probes_spec(&[&["access", "/evil2/marker.txt"], &[]]),
            json!([
                {"destination": "/evil/newdir", "type": "tmpfs", "source": "tmpfs"},
                {"destination": "/evil2", "type": "bind", "source": source, "options": ["bind"]},
            ]),
        ),
        |v| v["linux"]["rootfsPropagation"] = json!("rshared"),
    );
    for targets_inside in [false, true] {
        let case = if targets_inside {
            "the symlinks' targets present inside the rootfs"
        } else {
            "dangling symlinks"
        };
        let bundle = ctx.mkdir("bundle");
        let rootfs = bundle.join("rootfs");
        bundle_fixtures::build_rootfs(&rootfs).unwrap();
        std::os::unix::fs::symlink(&victim, rootfs.join("evil")).unwrap();
        std::os::unix::fs::symlink(&victim2, rootfs.join("evil2")).unwrap();
        if targets_inside {
            for dir in [&victim, &victim2] {
                std::fs::create_dir_all(rootfs.join(dir.strip_prefix("/").unwrap())).unwrap();
            }
        }
        bundle_fixtures::write_config(&bundle, &spec).unwrap();

        let out = ctx.run(&bundle).1;
        for dir in [&victim, &victim2] {
            let entries: Vec<_> = std::fs::read_dir(dir)
                .unwrap()
                .flatten()
                .map(|e| e.path())
                .collect();
            assert!(
                entries.is_empty(),
                "{case}: the runtime wrote into the host dir: {entries:?}"
            );
            assert_eq!(
                mounts_under(dir),
                std::slice::from_ref(dir),
                "{case}: a mount landed on the host dir {dir:?}"
            );
        }
        if !out.success() && !targets_inside {
            out.one_line_error();
            continue;
        }
        // Accepted (and with the targets inside, it must be): then the symlinks were followed
        // inside the rootfs.
        assert!(out.success(), "{case}: refused: {}", out.stderr);
        let lines = json_lines(&out.stdout);
        let (access, report) = (&lines[0], &lines[1]);
        let inside = format!("{}/newdir", victim.display());
        assert_eq!(mount(report, &inside)["fs_type"], "tmpfs", "{case}");
        assert!(
            rootfs.join(inside.trim_start_matches('/')).is_dir(),
            "{case}"
        );
        assert_eq!(
            access_of(access, "/evil2/marker.txt")["read_bytes"],
            6,
            "{case}: the bind is not where /evil2 leads inside the container"
        );
    }
}

/// config-linux.md Default Devices, and the /dev mounts of the base config.
#[test]
fn default_devices() {
    let ctx = Ctx::new("devices-default");
    let devices = [
        ("/dev/null", "1:3"),
        ("/dev/zero", "1:5"),
        ("/dev/full", "1:7"),
        ("/dev/random", "1:8"),
        ("/dev/urandom", "1:9"),
        ("/dev/tty", "5:0"),
    ];
    let links = [
        ("/dev/fd", "/proc/self/fd"),
        ("/dev/stdin", "/proc/self/fd/0"),
        ("/dev/stdout", "/proc/self/fd/1"),
        ("/dev/stderr", "/proc/self/fd/2"),
    ];
    let mut paths: Vec<&str> = devices
        .iter()
        .chain(links.iter())
        .map(|(p, _)| *p)
        .collect();
    paths.push("/dev/ptmx");
    let mut access_args = vec!["access"];
    access_args.extend(&paths);
    let lines = ctx.run_probes(&probes_spec(&[&access_args, &[]]), 2);
    let (access, report) = (&lines[0], &lines[1]);
    for (path, rdev) in devices {
        let a = access_of(access, path);
        assert_eq!(
            (a["type"].as_str(), a["rdev"].as_str()),
            (Some("char"), Some(rdev)),
            "{path}: {a}"
        );
        assert_eq!(
            a["mode"].as_u64().map(|m| m & 0o666),
            Some(0o666),
            "{path} mode"
        );
    }
    for path in ["/dev/null", "/dev/zero", "/dev/full"] {
        assert_eq!(access_of(access, path)["write"], "ok", "{path} is writable");
    }
    for path in ["/dev/zero", "/dev/urandom"] {
        assert_eq!(access_of(access, path)["read"], "ok", "{path} is readable");
    }
    for (path, target) in links {
        let a = access_of(access, path);
        assert_eq!(
            (a["type"].as_str(), a["link"].as_str()),
            (Some("symlink"), Some(target)),
            "{path}"
        );
    }
    let ptmx = access_of(access, "/dev/ptmx");
    assert!(
        ptmx["link"] == "pts/ptmx" || ptmx["rdev"] == "5:2",
        "/dev/ptmx is a symlink to pts/ptmx or a bind of it: {ptmx}"
    );
    for (point, fs) in [
        ("/dev", "tmpfs"),
        ("/dev/pts", "devpts"),
        ("/dev/shm", "tmpfs"),
        ("/dev/mqueue", "mqueue"),
    ] {
        assert_eq!(mount(report, point)["fs_type"], fs, "{point}");
    }
}

/// config-linux.md Devices: `linux.devices` entries exist with their type, numbers, mode and
/// owner.
#[test]
fn linux_devices_are_created() {
    let ctx = Ctx::new("devices");
    let spec = edit(
        &probe_spec(&["access", "/dev/berth-null", "/dev/berth-fifo"]),
        |v| {
            v["linux"]["devices"] = json!([
                {"path": "/dev/berth-null", "type": "c", "major": 1, "minor": 3,
                 "fileMode": 0o640, "uid": 1000, "gid": 1000},
                {"path": "/dev/berth-fifo", "type": "p", "fileMode": 0o600},
            ]);
        },
    );
    let r = ctx.run_probe(&spec);
    let dev = access_of(&r, "/dev/berth-null");
    assert_eq!(dev["type"], "char");
    assert_eq!(dev["rdev"], "1:3");
    assert_eq!(dev["mode"], 0o640);
    assert_eq!(
        (dev["uid"].as_u64(), dev["gid"].as_u64()),
        (Some(1000), Some(1000))
    );
    let fifo = access_of(&r, "/dev/berth-fifo");
    assert_eq!(fifo["type"], "fifo");
    assert_eq!(fifo["mode"], 0o600);
}

/// config-linux.md maskedPaths: masked files read empty (or not at all), masked dirs list
/// nothing: the base config's defaults that exist on this host, and paths of our own.
#[test]
fn masked_paths() {
    let ctx = Ctx::new("masked");
    let defaults = [
        "/proc/kcore",
        "/proc/keys",
        "/proc/timer_list",
        "/proc/acpi",
        "/sys/firmware",
    ];
    let mut paths: Vec<&str> = defaults
        .into_iter()
        .filter(|p| Path::new(p).exists())
        .collect();
    paths.extend(["/secret.txt", "/secretdir"]);
    let mut args = vec!["access"];
    args.extend(&paths);
    let spec = edit(&probe_spec(&args), |v| {
        let masked = v["linux"]["maskedPaths"].as_array_mut().unwrap();
        masked.extend([json!("/secret.txt"), json!("/secretdir")]);
    });
    let bundle = ctx.bundle(&spec);
    std::fs::write(bundle.join("rootfs/secret.txt"), "top secret").unwrap();
    std::fs::create_dir(bundle.join("rootfs/secretdir")).unwrap();
    std::fs::write(bundle.join("rootfs/secretdir/key"), "key").unwrap();
    let r = ctx.run(&bundle).1.json();
    for path in paths {
        let a = access_of(&r, path);
        assert_eq!(a["exists"], true, "{path}: {a}");
        let hidden = a["read"] != "ok" || a["read_bytes"] == 0 || a["entries"] == 0;
        assert!(hidden, "{path} is readable through the mask: {a}");
    }
    assert!(
        std::fs::read_to_string(bundle.join("rootfs/secret.txt")).unwrap() == "top secret",
        "masking must not change the file"
    );
}

/// config-linux.md readonlyPaths: writes fail with EROFS, reads work; other paths stay
/// writable.
#[test]
fn readonly_paths() {
    let ctx = Ctx::new("readonly-paths");
    let spec = edit(
        &probes_spec(&[
            &[
                "access",
                "/proc/sys/kernel/hostname",
                "/proc/irq/default_smp_affinity",
                "/rodir/file",
            ],
            &["touch", "/rodir/new", "/tmp/new"],
            &[],
        ]),
        |v| {
            let ro = v["linux"]["readonlyPaths"].as_array_mut().unwrap();
            ro.push(json!("/rodir"));
        },
    );
    let bundle = ctx.bundle(&spec);
    std::fs::create_dir(bundle.join("rootfs/rodir")).unwrap();
    std::fs::write(bundle.join("rootfs/rodir/file"), "data").unwrap();
    let out = ctx.run(&bundle).1;
    let lines = json_lines(&out.ok().stdout);
    let (access, touch, report) = (&lines[0], &lines[1], &lines[2]);
    for path in [
        "/proc/sys/kernel/hostname",
        "/proc/irq/default_smp_affinity",
        "/rodir/file",
    ] {
        assert_eq!(access_of(access, path)["write"], "EROFS", "{path}");
    }
    assert_eq!(access_of(access, "/rodir/file")["read_bytes"], 4);
    assert_eq!(touch["/rodir/new"], "EROFS");
    assert_eq!(touch["/tmp/new"], "ok", "paths not listed stay writable");
    assert!(has(&mount_options(mount(report, "/rodir")), "ro"));
}

/// config.md Root: `readonly: true` makes the root filesystem read-only inside.
#[test]
fn root_readonly() {
    let ctx = Ctx::new("root-readonly");
    let mut spec = probes_spec(&[&["touch", "/newfile", "/dev/shm/newfile"], &[]]);
    spec.root_mut().as_mut().unwrap().set_readonly(Some(true));
    let lines = ctx.run_probes(&spec, 2);
    assert_eq!(lines[0]["/newfile"], "EROFS");
    assert_eq!(
        lines[0]["/dev/shm/newfile"], "ok",
        "mounts on top stay writable"
    );
    assert!(has(&mount_options(mount(&lines[1], "/")), "ro"));
}

/// config.md hostname, set in the container's UTS namespace only.
#[test]
fn hostname() {
    let ctx = Ctx::new("hostname");
    let host_before = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let mut spec = probe_spec(&[]);
    spec.set_hostname(Some("conformance-host".into()));
    assert_eq!(ctx.run_probe(&spec)["hostname"], "conformance-host");
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap(),
        host_before
    );
}

/// config.md domainname, set in the container's UTS namespace only.
#[test]
fn domainname() {
    if skip_for_runc("runc 1.1 ignores `domainname` (the container keeps \"(none)\")") {
        return;
    }
    let ctx = Ctx::new("domainname");
    let host_before = std::fs::read_to_string("/proc/sys/kernel/domainname").unwrap();
    let mut spec = probe_spec(&[]);
    spec.set_domainname(Some("conformance.example".into()));
    assert_eq!(ctx.run_probe(&spec)["domainname"], "conformance.example");
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/domainname").unwrap(),
        host_before
    );
}

/// config-linux.md sysctl: applied inside the container's (new) namespaces, not on the host.
#[test]
fn sysctl() {
    let ctx = Ctx::new("sysctl");
    let host = |name: &str| {
        std::fs::read_to_string(format!("/proc/sys/{}", name.replace('.', "/")))
            .unwrap()
            .trim()
            .to_string()
    };
    let forward = if host("net.ipv4.ip_forward") == "1" {
        "0"
    } else {
        "1"
    };
    let before = (host("net.ipv4.ip_forward"), host("kernel.shmmax"));
    let spec = edit(
        &probe_spec(&["sysctl", "net.ipv4.ip_forward", "kernel.shmmax"]),
        |v| {
            v["linux"]["sysctl"] =
                json!({"net.ipv4.ip_forward": forward, "kernel.shmmax": "123456789"});
        },
    );
    let r = ctx.run_probe(&spec);
    assert_eq!(r["net.ipv4.ip_forward"], forward);
    assert_eq!(r["kernel.shmmax"], "123456789");
    assert_eq!(
        (host("net.ipv4.ip_forward"), host("kernel.shmmax")),
        before,
        "host unchanged"
    );
}

/// Runs a container whose rootfs is its own shared mount on the host, with
/// `rootfsPropagation: mode`; after it starts, the host mounts a tmpfs under the rootfs.
/// Returns the container's mount entry for "/", whether it saw the host's new mount, and the
/// host mount's peer group id.
fn propagation_probe(name: &str, mode: &str) -> (Value, bool, String) {
    let ctx = Ctx::new(name);
    let bundle = ctx.mkdir("bundle");
    let rootfs = bundle.join("rootfs");
    ctx.host_tmpfs(&rootfs, true);
    bundle_fixtures::build_rootfs(&rootfs).unwrap();
    std::fs::create_dir(rootfs.join("late")).unwrap();
    let script = format!("while [ ! -e /tmp/go ]; do {PROBE} sleep 0.02; done; exec {PROBE}");
    let spec = edit(&sh_spec(&script), |v| {
        v["linux"]["rootfsPropagation"] = mode.into()
    });
    bundle_fixtures::write_config(&bundle, &spec).unwrap();
    let c = ctx.create(&bundle);
    ctx.rt(&["start", &c.id]).ok();
    ctx.host_tmpfs(&rootfs.join("late"), false);
    std::fs::write(rootfs.join("tmp/go"), "").unwrap();
    ctx.wait_status(&c.id, oci_spec::runtime::ContainerState::Stopped);
    let lines = c.json_lines();
    assert_eq!(lines.len(), 1, "report from the container: {}", c.stdout());
    let root = mount(&lines[0], "/").clone();
    let saw_late = mount_at(&lines[0], "/late").is_some();
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let host_line = info
        .lines()
        .find(|l| l.split(' ').nth(4) == Some(&rootfs.display().to_string()))
        .expect("host rootfs mount");
    let group = host_line
        .split(' ')
        .find_map(|f| f.strip_prefix("shared:"))
        .expect("host rootfs mount is shared")
        .to_string();
    ctx.rt(&["delete", &c.id]).ok();
    (root, saw_late, group)
}

fn optional(root: &Value) -> Vec<String> {
    root["optional"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_str().unwrap().to_string())
        .collect()
}

/// rootfsPropagation private: no peer group, no events from the host.
#[test]
fn rootfs_propagation_private() {
    let (root, saw_late, _) = propagation_probe("prop-private", "private");
    assert!(
        optional(&root).is_empty(),
        "private root has no propagation: {root}"
    );
    assert!(
        !saw_late,
        "a private rootfs must not receive the host's mounts"
    );
}

/// rootfsPropagation slave: "receives propagation events from the host".
#[test]
fn rootfs_propagation_slave() {
    if skip_for_runc("runc 1.1 applies `slave` to / of the new mount namespace, not to the rootfs mount (only `rslave` works)") {
        return;
    }
    let (root, saw_late, group) = propagation_probe("prop-slave", "slave");
    assert!(
        optional(&root).contains(&format!("master:{group}")),
        "{root}"
    );
    assert!(saw_late, "a slave rootfs receives the host's new mount");
}

/// rootfsPropagation shared: "the rootfs mount belongs to a new peer group".
#[test]
fn rootfs_propagation_shared() {
    if skip_for_runc("runc 1.1 leaves the container's / without a peer group for `shared`") {
        return;
    }
    let (root, _, group) = propagation_probe("prop-shared", "shared");
    let opts = optional(&root);
    let peer = opts.iter().find_map(|o| o.strip_prefix("shared:"));
    assert!(
        peer.is_some_and(|p| p != group),
        "a new peer group: {root} (host's is {group})"
    );
}

/// rootfsPropagation unbindable: "a private mount that cannot be bind-mounted".
#[test]
fn rootfs_propagation_unbindable() {
    if skip_for_runc("runc 1.1 leaves the container's / without the unbindable flag") {
        return;
    }
    let (root, saw_late, _) = propagation_probe("prop-unbindable", "unbindable");
    assert_eq!(optional(&root), ["unbindable"], "{root}");
    assert!(!saw_late);
}
