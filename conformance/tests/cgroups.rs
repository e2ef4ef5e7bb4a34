//! config-linux.md "Control groups": `linux.cgroupsPath` and `linux.resources` applied before
//! the process runs, seen from the host and from inside, enforced (memory, pids, devices),
//! changed by `update`, frozen by `pause`, listed by `ps`, reported by `events --stats`,
//! signalled by `kill --all`, and removed by `delete`, also after a failed `create`.
//!
//! Every test is named `cgroup_*`: `make vm-check` runs exactly these on a pure cgroup v2 VM. So
//! each reads the files of the layout the host has ([`cgroup_v2`]): v1 (and hybrid) files under
//! `/sys/fs/cgroup/<controller>/`, or the v2 names under `/sys/fs/cgroup/`, with runc's
//! conversions of v1 values (`cpu.shares` -> `cpu.weight`, blkio weight -> `io.weight`). Device
//! rules are an eBPF program on v2, so they are tested by behaviour (on v1 also by
//! `devices.list`). Every container gets a fresh `cgroupsPath` from [`Ctx::new_cgroups_path`]
//! (the leak check covers it) and every test asserts that its cgroup is gone after `delete`.

use conformance::*;
use oci_spec::runtime::{ContainerState, Spec};
use serde_json::{json, Value};
use std::time::Duration;

/// The v1 controllers a runtime puts a container in (a hybrid host's `name=systemd` and
/// `unified` hierarchies hold no resources, and the spec says nothing about them).
const V1_CONTROLLERS: [&str; 8] = [
    "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids",
];

// ------------------------------------------------------------------------------------ specs

/// `spec` in the host's pid namespace: killing the container's first process then leaves its
/// children running, so only a runtime that signals the whole cgroup gets rid of them.
fn in_host_pid_ns(spec: &Spec) -> Spec {
    edit(spec, |v| {
        let ns = v["linux"]["namespaces"].as_array_mut().expect("namespaces");
        ns.retain(|n| n["type"] != "pid");
    })
}

// ------------------------------------------------------------------------------------ files

/// The file showing whether a cgroup is frozen, and its content when `frozen` or not. v1's
/// `freezer.state` passes through FREEZING, so callers poll.
fn freezer(frozen: bool) -> Want {
    by_layout(
        Want::new(
            "freezer",
            "freezer.state",
            if frozen { "FROZEN" } else { "THAWED" },
        ),
        Want::new("freezer", "cgroup.freeze", u8::from(frozen)),
    )
}

/// The flat-keyed file counting OOM kills in a memory cgroup (key `oom_kill`).
fn oom_counter() -> Want {
    Want::new(
        "memory",
        by_layout("memory.oom_control", "memory.events"),
        "",
    )
}

/// Which pid namespace a container's processes are in.
#[derive(Debug, Clone, Copy, PartialEq)]
enum PidNs {
    Own,
    /// The host's: see [`in_host_pid_ns`].
    Host,
}

/// The container's first process and its children (`sh -c 'sleep & sleep & wait'`); waits for
/// all three to be in its cgroup and returns their host pids.
fn family(ctx: &Ctx, pid_ns: PidNs) -> (Cg<'_>, Vec<i32>) {
    let mut spec = sh_spec("sleep 100 & sleep 100 & wait");
    if pid_ns == PidNs::Host {
        spec = in_host_pid_ns(&spec);
    }
    let cg = Cg::start(
        ctx,
        in_new_cgroup(ctx, &spec, json!({"pids": {"limit": 10}})),
    );
    let pids = cg.wait_procs(3);
    assert!(pids.contains(&cg.pid), "{pids:?} holds {}", cg.pid);
    (cg, pids)
}

#[track_caller]
fn assert_all_dead(pids: &[i32]) {
    for &p in pids {
        wait_for(
            &format!("process {p} to die"),
            Duration::from_secs(5),
            || !alive(p),
        );
    }
}

// ------------------------------------------------------------------------------------ tests

/// config-linux.md memory, pids, cpu, cpuset and blockIO: the values are in the container's
/// cgroup files, read from the host (through `/proc/<pid>/cgroup`) and from inside (its own
/// cgroup namespace and a cgroup mount at /sys/fs/cgroup).
#[test]
fn cgroup_limits_read_back_from_host_and_inside() {
    let ctx = Ctx::new("cgroup_limits");
    let mut resources = json!({
        "memory": {"limit": 64 << 20},
        "pids": {"limit": 20},
        "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0"},
    });
    let mut wants = vec![
        memory_limit(64 << 20),
        pids_max(20),
        cpu_shares(512),
        cpuset_cpus("0"),
    ];
    wants.extend(cpu_quota(50000, 100000));
    match blkio_weight(&ctx, 500) {
        Some(w) => {
            resources["blockIO"] = json!({"weight": 500});
            wants.push(w);
        }
        None => note("cgroup_limits: no blkio/io weight file on this host (I/O scheduler): blockIO.weight not tested"),
    }
    assert_read_back(&ctx, resources, &wants);
}

/// config-linux.md cgroupsPath, runtime.md create: the container process is in the configured
/// cgroup once `create` returns, before the user program runs, so the program's first look at
/// /proc/self/cgroup (no cgroup namespace) shows that path.
#[test]
fn cgroup_process_is_in_its_cgroup_before_it_runs() {
    let ctx = Ctx::new("cgroup_first");
    let spec = bundle_fixtures::base_spec(&["/bin/cat", "/proc/self/cgroup"]);
    let cg = Cg::create(
        &ctx,
        in_new_cgroup(&ctx, &spec, json!({"pids": {"limit": 10}})),
    );
    // v1: every mounted controller's line; v2: the one `0::` line (any name selects it).
    let controllers: Vec<&str> = by_layout(
        V1_CONTROLLERS
            .into_iter()
            .filter(|c| cgroup_mount(c).is_some())
            .collect(),
        vec!["unified"],
    );
    for c in &controllers {
        assert_eq!(
            cgroup_of(cg.pid, c).as_deref(),
            Some(cg.path.as_str()),
            "host: /proc/{}/cgroup for {c} after create",
            cg.pid
        );
    }
    ctx.rt(&["start", cg.id()]).ok();
    ctx.wait_status(cg.id(), ContainerState::Stopped);
    let seen = cg.c.stdout();
    for c in &controllers {
        assert_eq!(
            cgroup_line(&seen, c),
            Some(cg.path.as_str()),
            "inside: /proc/self/cgroup for {c}: {seen}"
        );
    }
    cg.delete(false);
}

/// config-linux.md memory.limit and memory.swap: a process growing past 32 MiB (memory and
/// memory+swap) is OOM-killed: `run` exits 128+9, and the host's cgroup counts the kill.
#[test]
fn cgroup_memory_hog_is_oom_killed() {
    let ctx = Ctx::new("cgroup_oom");
    let limit: u64 = 32 << 20;
    let resources = json!({"memory": {"limit": limit, "swap": limit}});
    // busybox `tail` keeps a line without newline in memory: 256 MiB of zeros, at most, so
    // that a runtime ignoring the limit does not starve the host. The shell reports tail's
    // SIGKILL as status 137 and exits with it.
    let hog = "head -c 256m /dev/zero | tail >/dev/null";
    let (spec, path) = in_new_cgroup(&ctx, &sh_spec(hog), resources.clone());
    ctx.run(&ctx.bundle(&spec)).1.code_is(137);
    assert_cgroup_gone(&path);

    // Again with a shell that survives its child's OOM kill, to look from the host: the OOM
    // killer may take more than one process once the limit is hit (a second OOM before the
    // first victim's memory is freed), so `head` and `tail` raise their own score to the
    // maximum (which needs no privilege) and are always taken before the shell.
    let most_killable = "echo 1000 >/proc/self/oom_score_adj; exec";
    let hog =
        format!("({most_killable} head -c 256m /dev/zero) | ({most_killable} tail) >/dev/null");
    let script = format!("{hog}; echo tail-status=$?; exec sleep 100");
    let cg = Cg::start(&ctx, in_new_cgroup(&ctx, &sh_spec(&script), resources));
    let out = cg.wait_output("tail-status=");
    assert!(out.contains("tail-status=137"), "tail was SIGKILLed: {out}");
    cg.assert_host(&[memory_limit(limit)]);
    assert!(
        cg.keyed(&oom_counter(), "oom_kill") >= 1,
        "the cgroup counts an OOM kill"
    );
    let swap = by_layout(
        Want::new("memory", "memory.memsw.limit_in_bytes", limit),
        // v2 limits swap alone: memory+swap minus memory.
        Want::new("memory", "memory.swap.max", 0),
    );
    if cg.host_file(swap.controller, &swap.file).exists() {
        cg.assert_host(&[swap]);
    } else {
        note("cgroup_oom: no swap accounting on this host: memory.swap not read back");
    }
    cg.delete(true);
}

/// config-linux.md pids.limit: forking past the limit fails (EAGAIN, busybox sh says "can't
/// fork"); the container's first process survives it and the cgroup never exceeds the limit.
#[test]
fn cgroup_pids_limit_stops_a_fork_bomb() {
    let ctx = Ctx::new("cgroup_pids");
    // At most 40 forks, so that a runtime ignoring the limit does not take the host down. Once
    // the cgroup is full the shell cannot fork either: only builtins report the result.
    let script = "( i=0; while [ $i -lt 40 ]; do sleep 100 & i=$((i+1)); done ) 2>/tmp/bomb; \
                  echo bomb-status=$?; read -r err </tmp/bomb; echo \"bomb-error=$err\"; \
                  exec sleep 100";
    let cg = Cg::start(
        &ctx,
        in_new_cgroup(&ctx, &sh_spec(script), json!({"pids": {"limit": 10}})),
    );
    let out = cg.wait_output("bomb-error=");
    assert!(
        !out.contains("bomb-status=0"),
        "the fork loop must fail: {out}"
    );
    assert!(
        out.contains("Resource temporarily unavailable"),
        "fork fails with EAGAIN: {out}"
    );
    assert!(alive(cg.pid), "the container's first process survives");
    assert_eq!(cg.status(), "running");
    cg.assert_host(&[pids_max(10)]);
    let procs = cg.procs();
    assert!(procs.len() <= 10, "{} processes: {procs:?}", procs.len());
    let pids_events = Want::new("pids", "pids.events", "");
    assert!(
        cg.keyed(&pids_events, "max") >= 1,
        "pids.events counts the refused forks"
    );
    for p in &procs {
        ctx.remember_pid(*p);
    }
    cg.delete(true);
}

/// What `berth-probe access /dev/berth-kmsg /dev/null` reports in a container whose device
/// rules are the base spec's "deny all" followed by `rules`, and, on v1, its `devices.list`.
/// /dev/berth-kmsg is c 1:11 (kmsg) from `linux.devices`: not a default device, and one root
/// may open write-only without any capability (/dev/mem would need CAP_SYS_RAWIO).
fn kmsg_access(ctx: &Ctx, rules: Value) -> (Value, Option<String>) {
    let script = format!("{PROBE} access /dev/berth-kmsg /dev/null; exec sleep 100");
    let spec = edit(&sh_spec(&script), |v| {
        v["linux"]["devices"] = json!([{"path": "/dev/berth-kmsg", "type": "c", "major": 1,
                                        "minor": 11, "fileMode": 0o600, "uid": 0, "gid": 0}]);
        let all = v["linux"]["resources"]["devices"].as_array_mut().unwrap();
        all.extend(rules.as_array().unwrap().iter().cloned());
    });
    let cg = Cg::start(ctx, in_new_cgroup(ctx, &spec, json!({})));
    let report = cg.c.wait_json_lines(1).remove(0);
    let list = (!cgroup_v2()).then(|| cg.read(&Want::new("devices", "devices.list", "")));
    cg.delete(true);
    (report, list)
}

/// Whether a v1 `devices.list` (`TYPE MAJOR:MINOR ACCESS` lines, `a` and `*` for all) lets
/// the container write to c 1:11.
fn grants_kmsg_write(list: &str) -> bool {
    let matches = |field: &str, n: u32| field == "*" || field.parse() == Ok(n);
    list.lines().any(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        let Some((major, minor)) = f.get(1).and_then(|n| n.split_once(':')) else {
            return false;
        };
        matches!(f[0], "a" | "c")
            && matches(major, 1)
            && matches(minor, 11)
            && f.get(2).is_some_and(|a| a.contains('w'))
    })
}

/// config-linux.md devices ("the runtime MUST apply entries in the listed order"): a device
/// node that a later rule denies cannot be opened (EPERM), while the same rules without that
/// last entry allow it, and the default devices stay usable.
///
/// Not /dev/zero (c 1:5) as the target: config-linux.md makes the runtime supply the default
/// devices, and runc appends allow rules for them after the configured ones.
#[test]
fn cgroup_denied_device_cannot_be_opened() {
    if std::fs::read_to_string("/proc/sys/kernel/printk_devkmsg").is_ok_and(|s| s.trim() == "off") {
        note("cgroup_devices: printk.devkmsg=off makes /dev/kmsg EPERM for everyone: skipped");
        return;
    }
    let ctx = Ctx::new("cgroup_devices");
    let allow = json!({"allow": true, "type": "c", "major": 1, "minor": 11, "access": "w"});
    let deny = json!({"allow": false, "type": "c", "major": 1, "minor": 11, "access": "w"});

    let (report, list) = kmsg_access(&ctx, json!([allow]));
    assert_eq!(
        access_of(&report, "/dev/berth-kmsg")["write"],
        "ok",
        "allowed: {report}"
    );
    if let Some(list) = list {
        assert!(grants_kmsg_write(&list), "devices.list: {list}");
    }

    let (report, list) = kmsg_access(&ctx, json!([allow, deny]));
    assert_eq!(
        access_of(&report, "/dev/berth-kmsg")["write"],
        "EPERM",
        "denied by the last rule: {report}"
    );
    assert_eq!(
        access_of(&report, "/dev/null")["write"],
        "ok",
        "default device: {report}"
    );
    if let Some(list) = list {
        assert!(!grants_kmsg_write(&list), "devices.list: {list}");
    }
}

/// runc's `pause`/`resume` (the freezer): a paused container's processes do not run and its
/// status is "paused"; resumed, they run again. Pausing a paused or stopped container and
/// resuming a running or stopped one fail.
#[test]
fn cgroup_pause_freezes_and_resume_thaws() {
    let ctx = Ctx::new("cgroup_pause");
    let script = "i=0; while :; do i=$((i+1)); echo $i; sleep 0.02; done";
    let cg = Cg::start(&ctx, in_new_cgroup(&ctx, &sh_spec(script), json!({})));
    let lines = || cg.c.stdout().lines().count();
    wait_for("the counter", Duration::from_secs(5), || lines() > 3);
    ctx.rt(&["resume", cg.id()]).failed();

    ctx.rt(&["pause", cg.id()]).ok();
    assert_eq!(cg.status(), "paused");
    cg.wait_host(&freezer(true));
    let frozen_at = lines();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(lines(), frozen_at, "a paused container does not run");
    ctx.rt(&["pause", cg.id()]).failed();

    ctx.rt(&["resume", cg.id()]).ok();
    assert_eq!(cg.status(), "running");
    cg.wait_host(&freezer(false));
    wait_for("the counter after resume", Duration::from_secs(5), || {
        lines() > frozen_at
    });

    ctx.rt(&["kill", cg.id(), "KILL"]).ok();
    ctx.wait_status(cg.id(), ContainerState::Stopped);
    ctx.rt(&["pause", cg.id()]).failed();
    ctx.rt(&["resume", cg.id()]).failed();
    assert_eq!(cg.status(), "stopped");
    cg.delete(false);
}

/// runc's `ps`: `--format json` is the array of the host pids in the container's cgroup, the
/// first process and its children; the table has a header with PID and one line per process.
#[test]
fn cgroup_ps_lists_the_container_processes() {
    let ctx = Ctx::new("cgroup_ps");
    let (cg, pids) = family(&ctx, PidNs::Own);
    let listed: Vec<i32> = ctx
        .rt(&["ps", "--format", "json", cg.id()])
        .json()
        .as_array()
        .expect("ps --format json prints an array")
        .iter()
        .map(|p| p.as_i64().expect("a pid") as i32)
        .collect();
    let mut sorted = listed.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, pids, "ps --format json: {listed:?}");

    let table = ctx.rt(&["ps", cg.id()]).ok().stdout.clone();
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split_whitespace().collect();
    let col = header
        .iter()
        .position(|h| *h == "PID")
        .unwrap_or_else(|| panic!("no PID column: {table}"));
    let mut shown: Vec<i32> = lines
        .filter_map(|l| l.split_whitespace().nth(col)?.parse().ok())
        .collect();
    shown.sort_unstable();
    assert_eq!(shown, pids, "one line per process: {table}");
    assert_eq!(table.lines().count(), pids.len() + 1, "{table}");
    cg.delete(true);
}

/// runc's `events --stats`: one JSON object `{"type":"stats","id":ID,"data":{...}}` whose
/// pids, memory and cpu sections agree with the container's cgroup.
#[test]
fn cgroup_events_stats_report_usage() {
    let ctx = Ctx::new("cgroup_events");
    let (cg, pids) = family(&ctx, PidNs::Own);
    let ev = ctx.rt(&["events", "--stats", cg.id()]).json();
    assert_eq!(ev["type"], "stats", "{ev}");
    assert_eq!(ev["id"], cg.id(), "{ev}");
    let data = &ev["data"];
    assert_eq!(data["pids"]["current"], pids.len(), "{ev}");
    assert_eq!(data["pids"]["limit"], 10, "{ev}");
    assert!(
        data["memory"]["usage"]["usage"]
            .as_u64()
            .is_some_and(|u| u > 0),
        "memory usage: {ev}"
    );
    assert!(
        data["cpu"]["usage"]["total"]
            .as_u64()
            .is_some_and(|u| u > 0),
        "cpu usage: {ev}"
    );
    cg.delete(true);
}

/// runc's `update`: LinuxResources JSON on stdin (`--resources -`) and the per-field flags
/// change the limits of the running container's cgroup.
#[test]
fn cgroup_update_changes_live_limits() {
    let ctx = Ctx::new("cgroup_update");
    let resources = json!({
        "memory": {"limit": 128 << 20},
        "pids": {"limit": 20},
        "cpu": {"quota": 50000, "period": 100000},
    });
    let cg = Cg::start(
        &ctx,
        in_new_cgroup(&ctx, &sh_spec("exec sleep 100"), resources),
    );
    let mut wants = vec![memory_limit(128 << 20), pids_max(20)];
    wants.extend(cpu_quota(50000, 100000));
    cg.assert_host(&wants);

    let update = json!({"memory": {"limit": 48 << 20}, "pids": {"limit": 17}});
    cg.update(&[], Some(&update)).ok();
    cg.assert_host(&[memory_limit(48 << 20), pids_max(17)]);

    let flags = [
        "--memory",
        "64M",
        "--pids-limit",
        "33",
        "--cpu-quota",
        "20000",
        "--cpu-period",
        "100000",
    ];
    cg.update(&flags, None).ok();
    let mut wants = vec![memory_limit(64 << 20), pids_max(33)];
    wants.extend(cpu_quota(20000, 100000));
    cg.assert_host(&wants);
    cg.delete(true);
}

/// runtime.md delete: "deleting a container MUST delete the resources that were created
/// during the create step". `delete --force` of a running container kills every process in its
/// cgroup, also children outside a pid namespace of its own, and removes the cgroup.
#[test]
fn cgroup_delete_force_kills_every_process() {
    let ctx = Ctx::new("cgroup_delete");
    let (cg, pids) = family(&ctx, PidNs::Host);
    let out = cg.delete_container(true);
    assert_all_dead(&pids);
    let left = cgroup_dirs_at(&cg.path);
    if !left.is_empty()
        && out.stderr.contains("resource busy")
        && skip_for_runc(
            "runc 1.1 SIGKILLs the processes outside its pid namespace and removes the cgroup \
             at once, without waiting for them to exit: when they are slow to die (the TCG VM), \
             rmdir fails with EBUSY, runc logs it, exits 0 and leaves the cgroup",
        )
    {
        for d in left {
            // The processes are dead now: clean up for runc.
            let _ = std::fs::remove_dir(d);
        }
        return;
    }
    assert_cgroup_gone(&cg.path);
}

/// runc's `kill --all`: the signal reaches every process in the container's cgroup, not only
/// the first one (which, without a pid namespace, would leave its children running).
#[test]
fn cgroup_kill_all_signals_every_process() {
    let ctx = Ctx::new("cgroup_kill_all");
    let (cg, pids) = family(&ctx, PidNs::Host);
    ctx.rt(&["kill", "--all", cg.id(), "KILL"]).ok();
    assert_all_dead(&pids);
    ctx.wait_status(cg.id(), ContainerState::Stopped);
    cg.delete(false);
}

/// runtime.md create: when `create` fails (here process.args names no program) nothing it
/// made is left: no container, and no cgroup at the configured path in any hierarchy.
#[test]
fn cgroup_removed_after_a_failed_create() {
    let ctx = Ctx::new("cgroup_failed");
    let spec = bundle_fixtures::base_spec(&["/no/such/program"]);
    let (spec, path) = in_new_cgroup(&ctx, &spec, json!({"pids": {"limit": 10}}));
    let (id, out) = ctx.try_create(&ctx.bundle(&spec));
    out.failed();
    ctx.assert_gone(&id);
    assert_cgroup_gone(&path);
}

/// True when systemd runs this host (what `--systemd-cgroup` needs).
fn systemd_runs() -> bool {
    std::path::Path::new("/run/systemd/system").exists()
}

/// A property of a systemd unit, as `systemctl show` prints it.
fn unit_property(unit: &str, property: &str) -> String {
    let out = std::process::Command::new("systemctl")
        .args(["show", "--value", "-p", property, unit])
        .output()
        .expect("run systemctl");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// runc's `--systemd-cgroup`: `slice:prefix:name` puts the container in the transient scope
/// `prefix-name.scope` of the slice before it runs, systemd knows the scope with its limits
/// (memory, pids), the kernel enforces them, and `delete` stops the scope and removes its cgroup.
#[test]
fn cgroup_systemd_driver_puts_the_container_in_a_scope() {
    if !systemd_runs() {
        note("cgroup_systemd_scope: this host does not run systemd: skipped");
        return;
    }
    let ctx = Ctx::new("cgroup_systemd_scope");
    let (path, unit) = ctx.new_systemd_cgroups_path();
    let limit: u64 = 64 << 20;
    let spec = edit(&sh_spec("cat /proc/self/cgroup; sleep 100"), |v| {
        v["linux"]["cgroupsPath"] = json!(path);
        v["linux"]["resources"]["memory"] = json!({"limit": limit});
        v["linux"]["resources"]["pids"] = json!({"limit": 20});
    });
    let bundle = ctx.bundle(&spec);
    let id = ctx.new_id();
    ctx.cmd(&["create", "--bundle", &bundle.display().to_string(), &id])
        .global(&["--systemd-cgroup"])
        .output()
        .ok();
    let pid = ctx.state(&id).pid();
    let cgroup = format!("/system.slice/{unit}");
    assert_eq!(cgroup_of(pid, "memory").as_deref(), Some(cgroup.as_str()));
    assert_eq!(unit_property(&unit, "ActiveState"), "active");
    assert_eq!(unit_property(&unit, "MemoryMax"), limit.to_string());
    assert_eq!(unit_property(&unit, "TasksMax"), "20");
    let memory_file = by_layout("memory.limit_in_bytes", "memory.max");
    let memory_limit = read_cgroup_file(&cgroup_dir_of(pid, "memory").join(memory_file));
    assert_eq!(memory_limit, limit.to_string());
    let pids_limit = read_cgroup_file(&cgroup_dir_of(pid, "pids").join("pids.max"));
    assert_eq!(pids_limit, "20");
    ctx.rt(&["start", &id]).ok();
    ctx.rt(&["delete", "--force", &id]).ok();
    ctx.assert_gone(&id);
    wait_for("the scope to stop", Duration::from_secs(5), || {
        unit_property(&unit, "ActiveState") != "active"
    });
    assert!(cgroup_dirs_at(&cgroup).is_empty(), "{cgroup} is removed");
}

/// runc's `--systemd-cgroup` (cgroupsPath `slice:prefix:name`) needs a running systemd; without
/// one `create` fails with an error that says so, and leaves nothing behind.
#[test]
fn cgroup_systemd_driver_without_systemd_is_an_error() {
    if systemd_runs() {
        note("cgroup_systemd: this host runs systemd, so the systemd driver may work: skipped");
        return;
    }
    let ctx = Ctx::new("cgroup_systemd");
    let name = ctx.new_cgroups_path();
    let spec = edit(&sh_spec("true"), |v| {
        v["linux"]["cgroupsPath"] = json!(format!("system.slice:berthtest:{}", &name[1..]));
    });
    let bundle = ctx.bundle(&spec);
    let id = ctx.new_id();
    let out = ctx
        .cmd(&["create", "--bundle", &bundle.display().to_string(), &id])
        .global(&["--systemd-cgroup"])
        .output();
    out.failed();
    assert!(
        out.stderr.to_lowercase().contains("systemd"),
        "the error names systemd: {}",
        out.stderr
    );
    ctx.assert_gone(&id);
}

/// Docker sends `blockIO.weight: 0` (and a zero leaf weight) for "not set"; runc reads a zero
/// weight as unset, so `create` must not try to write 0 (which the kernel refuses).
#[test]
fn cgroup_zero_blkio_weight_means_unset() {
    let ctx = Ctx::new("cgroup_zero_weight");
    let resources = json!({"blockIO": {"weight": 0, "leafWeight": 0}});
    let cg = Cg::start(&ctx, in_new_cgroup(&ctx, &sh_spec("sleep 100"), resources));
    cg.delete(true);
}

/// runc's `exec --cgroup SUB`: the exec'd process goes into an existing sub-cgroup of the
/// container's cgroup (every hierarchy), and a sub-cgroup that does not exist is an error.
#[test]
fn cgroup_exec_into_a_sub_cgroup() {
    let ctx = Ctx::new("cgroup_exec_sub");
    let cg = Cg::start(
        &ctx,
        in_new_cgroup(&ctx, &probe_spec(&["sleep", "100"]), json!({})),
    );
    ctx.rt(&["exec", "--cgroup", "missing", cg.id(), "/bin/true"])
        .failed()
        .stderr_has("missing");
    let subs: Vec<std::path::PathBuf> = cgroup_dirs_at(&cg.path)
        .into_iter()
        .map(|d| d.join("sub"))
        .collect();
    for sub in &subs {
        std::fs::create_dir(sub).expect("make the sub-cgroup");
        // A new v1 cpuset has no cpus or mems until given its parent's.
        for file in ["cpuset.cpus", "cpuset.mems"] {
            let parent = sub.parent().unwrap().join(file);
            if let (Ok(value), true) = (std::fs::read_to_string(&parent), !cgroup_v2()) {
                std::fs::write(sub.join(file), value.trim()).expect("copy the parent's cpuset");
            }
        }
    }
    let report = ctx
        .rt(&["exec", "--cgroup", "sub", cg.id(), PROBE, "report"])
        .json();
    for sub in &subs {
        let _ = std::fs::remove_dir(sub);
    }
    let want = format!("{}/sub", cg.path);
    let lines: Vec<String> = serde_json::from_value(report["cgroup"].clone()).unwrap();
    let memory = lines
        .iter()
        .find(|l| {
            l.split(':')
                .nth(1)
                .is_some_and(|c| c.split(',').any(|c| c == "memory"))
                || l.starts_with("0::")
        })
        .unwrap_or_else(|| panic!("a memory line: {lines:?}"));
    assert!(memory.ends_with(&want), "{memory} is in {want}");
    cg.delete(true);
}
