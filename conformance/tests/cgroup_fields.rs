//! config-linux.md "Control groups", `linux.resources` field by field: every field the kernel
//! offers is read back from the container's cgroup files, from the host and (with its own
//! cgroup namespace and a cgroup mount) from inside; `update` changes what runc's `update`
//! changes; a value the host cannot apply is a one-line error naming the field that leaves
//! nothing behind.
//!
//! The module is `cgroup_fields`, so `make vm-check` runs it on a pure cgroup v2 VM too: each
//! test reads the files of the layout the host has ([`cgroup_v2`]) and, where the host lacks a
//! feature (real-time group scheduling, a controller, a page size), expects the error instead
//! and says so. Where runc's v2 driver silently ignores a v1-only knob (swappiness,
//! disableOOMKiller, useHierarchy, network, leaf weights), berth ignores it too but warns.

use conformance::*;
use serde_json::{json, Value};
use std::time::Duration;

/// A file named `v1` or `v2` by layout, of `controller`, whose first line reads `value`.
fn want(controller: &'static str, v1: &str, v2: &str, value: impl ToString) -> Want {
    Want::new(controller, by_layout(v1, v2), value)
}

/// `memory.reservation`: v1 soft limit, v2 `memory.low`.
fn memory_reservation(bytes: u64) -> Want {
    want("memory", "memory.soft_limit_in_bytes", "memory.low", bytes)
}

/// `memory.swap` (memory plus swap): v1 `memsw`; v2 swap alone, swap minus limit.
fn memory_swap(limit: u64, swap: u64) -> Want {
    by_layout(
        Want::new("memory", "memory.memsw.limit_in_bytes", swap),
        Want::new("memory", "memory.swap.max", swap - limit),
    )
}

/// Whether the host accounts swap per cgroup (the memory.swap field needs it).
fn has_swap_accounting(ctx: &Ctx) -> bool {
    let file = by_layout("memory.memsw.limit_in_bytes", "memory.swap.max");
    cgroup_has_file(ctx, "memory", file) || {
        note(&format!(
            "{}: no {file} (no swap accounting): memory.swap not read back",
            ctx.dir().display()
        ));
        false
    }
}

/// The first line of a host file (e.g. /sys/devices/system/cpu/online).
fn host_line(path: &str) -> String {
    read_cgroup_file(std::path::Path::new(path))
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

/// Where a fresh cgroup has `want`'s file, `resources` read back as `want`; elsewhere `create`
/// is refused with an error naming `field` (for runc, `runc` is its wording).
#[track_caller]
fn read_back_where_offered(ctx: &Ctx, resources: Value, want: Want, field: &str, runc: &str) {
    if cgroup_has_file(ctx, want.controller, &want.file) {
        assert_read_back(ctx, resources, &[want]);
    } else {
        note(&format!(
            "no {} on this host: the {field} error is tested",
            want.file
        ));
        assert_refused(ctx, resources, field, runc);
    }
}

/// `update --resources -` fails with an error naming `field` (for runc, `runc_wording`), and
/// the container keeps running with `unchanged` as it was (runc may have applied some fields
/// before the refused one: `runc_partial` says when).
#[track_caller]
fn update_refused(
    cg: &Cg,
    resources: Value,
    (field, runc_wording): (&str, &str),
    unchanged: &Want,
    runc_partial: &str,
) {
    let before = cg.read(unchanged);
    let out = cg.update(&[], Some(&resources));
    out.failed();
    out.error_names_field(field, runc_wording);
    assert_eq!(cg.status(), "running");
    let after = cg.read(unchanged);
    if after != before && skip_for_runc(runc_partial) {
        return;
    }
    assert_eq!(after, before, "a refused update changes nothing");
}

// ------------------------------------------------------------------------------------ cpu

/// cpu.shares (v2: runc's conversion to cpu.weight, checked at both ends of the range through
/// `update --cpu-share`), quota, period, cpus and mems.
#[test]
fn cpu_shares_quota_period_cpus_mems() {
    let ctx = Ctx::new("cgf_cpu");
    let resources = json!({"cpu": {"shares": 100, "quota": 30000, "period": 60000,
                                   "cpus": "0", "mems": "0"}});
    let mut wants = vec![
        cpu_shares(100),
        cpuset_cpus("0"),
        Want::new("cpuset", "cpuset.mems", 0),
    ];
    wants.extend(cpu_quota(30000, 60000));
    assert_read_back(&ctx, resources, &wants);

    let cg = Cg::start(
        &ctx,
        in_new_cgroup(&ctx, &sh_spec("exec sleep 100"), json!({})),
    );
    for shares in [2, 262144] {
        cg.update(&["--cpu-share", &shares.to_string()], None).ok();
        cg.assert_host(&[cpu_shares(shares)]);
    }
    cg.delete(true);
}

/// cpu.realtimeRuntime and realtimePeriod: v1 `cpu.rt_runtime_us` / `cpu.rt_period_us` where
/// the kernel has real-time group scheduling; else (and always on v2) an error. A runtime
/// longer than the parent allows is refused by the kernel: an error too.
#[test]
fn cpu_realtime_runtime_and_period() {
    let ctx = Ctx::new("cgf_rt");
    if !cgroup_has_file(&ctx, "cpu", "cpu.rt_runtime_us") {
        note("cgf_rt: no real-time group scheduling on this host: its error is tested");
        if cgroup_v2() && skip_for_runc("runc 1.1 ignores realtime values on cgroup v2") {
            return;
        }
        let realtime = json!({"cpu": {"realtimeRuntime": 1000, "realtimePeriod": 500000}});
        assert_refused(
            &ctx,
            realtime,
            "linux.resources.cpu.realtimeRuntime",
            "runc fails to open cpu.rt_runtime_us",
        );
        return;
    }
    let resources = json!({"cpu": {"realtimeRuntime": 1000, "realtimePeriod": 500000}});
    let wants = [
        Want::new("cpu", "cpu.rt_runtime_us", 1000),
        Want::new("cpu", "cpu.rt_period_us", 500000),
    ];
    assert_read_back(&ctx, resources, &wants);
    assert_refused(
        &ctx,
        json!({"cpu": {"realtimeRuntime": 2000000}}),
        "linux.resources.cpu.realtimeRuntime",
        "runc prints the kernel's EINVAL for cpu.rt_runtime_us",
    );
}

/// cpu.idle: `cpu.idle` (v2, and v1 since Linux 5.15); a host without it is an error.
#[test]
fn cpu_idle() {
    let ctx = Ctx::new("cgf_idle");
    if skip_for_runc("runc 1.1 does not write cpu.idle") {
        return;
    }
    let idle = Want::new("cpu", "cpu.idle", 1);
    let resources = json!({"cpu": {"idle": 1}});
    read_back_where_offered(&ctx, resources, idle, "linux.resources.cpu.idle", "");
}

/// cpu.burst: v1 `cpu.cfs_burst_us`, v2 `cpu.max.burst` (Linux 5.14); else an error.
#[test]
fn cpu_burst() {
    let ctx = Ctx::new("cgf_burst");
    if skip_for_runc("runc 1.1 does not write cpu.burst") {
        return;
    }
    let resources = json!({"cpu": {"quota": 50000, "period": 100000, "burst": 20000}});
    let burst = want("cpu", "cpu.cfs_burst_us", "cpu.max.burst", 20000);
    read_back_where_offered(&ctx, resources, burst, "linux.resources.cpu.burst", "");
}

// ------------------------------------------------------------------------------------ memory

/// memory.limit, reservation (v1 soft limit, v2 `memory.low`) and swap (v1 memsw, v2 swap
/// alone: swap minus limit). A reservation on its own is written too, and a limit without swap
/// leaves swap unlimited (runc does not touch `memory.swap.max` then).
#[test]
fn memory_limit_reservation_swap() {
    let ctx = Ctx::new("cgf_mem");
    let (limit, reservation, swap) = (64 << 20, 32 << 20, 96 << 20);
    let mut resources = json!({"memory": {"limit": limit, "reservation": reservation}});
    let mut wants = vec![memory_limit(limit), memory_reservation(reservation)];
    let swap_accounting = has_swap_accounting(&ctx);
    if swap_accounting {
        resources["memory"]["swap"] = json!(swap);
        wants.push(memory_swap(limit, swap));
    }
    assert_read_back(&ctx, resources, &wants);

    let cg = Cg::start(
        &ctx,
        in_new_cgroup(
            &ctx,
            &sh_spec("exec sleep 100"),
            json!({"memory": {"reservation": 16 << 20}}),
        ),
    );
    cg.assert_host(&[memory_reservation(16 << 20)]);
    cg.update(&["--memory", "48M"], None).ok();
    cg.assert_host(&[memory_limit(48 << 20)]);
    if swap_accounting {
        // Unlimited: v2 "max"; v1 the same huge number as the root cgroup's.
        let file = by_layout("memory.memsw.limit_in_bytes", "memory.swap.max");
        let unlimited = match cgroup_v2() {
            true => "max".to_string(),
            false => read_cgroup_file(&cgroup_dir("memory", "/").join(file)),
        };
        cg.assert_host(&[Want::new("memory", file, unlimited)]);
    }
    cg.delete(true);
}

/// memory.swap is memory plus swap: below the limit, or (v2) without a limit to subtract, it
/// is an error; on v1 the kernel refuses a memsw limit below the memory limit too.
#[test]
fn memory_swap_below_limit_is_an_error() {
    let ctx = Ctx::new("cgf_swap");
    if !has_swap_accounting(&ctx) {
        return;
    }
    assert_refused(
        &ctx,
        json!({"memory": {"limit": 64 << 20, "swap": 32 << 20}}),
        "linux.resources.memory.swap",
        "runc prints the kernel's EINVAL (v1) or \"memory+swap limit should be >= memory limit\"",
    );
    assert_refused(
        &ctx,
        json!({"memory": {"swap": 32 << 20}}),
        "linux.resources.memory.swap",
        "runc prints the kernel's EINVAL (v1) or \"unable to set swap limit without memory limit\"",
    );
}

/// memory.swappiness: v1 `memory.swappiness`; above 100 an error; v2 has none (runc ignores
/// it there, berth too, with a warning).
#[test]
fn memory_swappiness() {
    let ctx = Ctx::new("cgf_swappiness");
    if cgroup_v2() {
        let cg = assert_ignored_with_warning(
            &ctx,
            json!({"memory": {"swappiness": 30}}),
            "linux.resources.memory.swappiness",
            "runc 1.1 ignores swappiness on cgroup v2 without a word",
        );
        cg.delete(true);
        if skip_for_runc("runc 1.1 ignores swappiness on cgroup v2, also out of range") {
            return;
        }
    } else {
        let wants = [Want::new("memory", "memory.swappiness", 30)];
        assert_read_back(&ctx, json!({"memory": {"swappiness": 30}}), &wants);
    }
    assert_refused(
        &ctx,
        json!({"memory": {"swappiness": 101}}),
        "linux.resources.memory.swappiness",
        "runc says \"invalid memory swappiness value: 101 (valid range is 0-100)\"",
    );
}

/// memory.disableOOMKiller: v1 `oom_kill_disable 1`, and enforced: a process growing past the
/// limit is not killed (it waits, `under_oom 1`, or its allocation fails). v2 cannot turn the
/// OOM killer off (runc ignores the field there, berth too, with a warning).
#[test]
fn memory_disable_oom_killer() {
    let ctx = Ctx::new("cgf_oom_off");
    let limit: u64 = 16 << 20;
    let mut resources = json!({"memory": {"limit": limit, "disableOOMKiller": true}});
    if cgroup_v2() {
        let cg = assert_ignored_with_warning(
            &ctx,
            resources,
            "linux.resources.memory.disableOOMKiller",
            "runc 1.1 ignores disableOOMKiller on cgroup v2 without a word",
        );
        cg.delete(true);
        return;
    }
    let disabled = Want::line(
        "memory",
        "memory.oom_control",
        "oom_kill_disable",
        "oom_kill_disable 1",
    );
    assert_read_back(&ctx, resources.clone(), &[disabled]);

    // Swap must not relieve the pressure either.
    if has_swap_accounting(&ctx) {
        resources["memory"]["swap"] = json!(limit);
    }
    // tail's buffer grows past the limit. Not killed, it either waits for memory (a fault in
    // its own code) or gets ENOMEM (a fault in the kernel, filling it in read(2)).
    let hog = "head -c 256m /dev/zero | tail >/dev/null; echo tail-status=$?; exec sleep 100";
    let cg = Cg::start(&ctx, in_new_cgroup(&ctx, &sh_spec(hog), resources));
    let oom_control = Want::new("memory", "memory.oom_control", "");
    wait_for(
        "the hog to wait in the OOM condition or fail",
        Duration::from_secs(20),
        || cg.c.stdout().contains("tail-status=") || cg.keyed(&oom_control, "under_oom") == 1,
    );
    assert_eq!(cg.keyed(&oom_control, "oom_kill"), 0, "nothing was killed");
    assert!(
        !cg.c.stdout().contains("tail-status=137"),
        "tail was not SIGKILLed: {}",
        cg.c.stdout()
    );
    cg.delete(true);
}

/// memory.kernel and kernelTCP: deprecated, and ignored as runc 1.1 ignores them (with a
/// warning): the container runs and `memory.kmem.*` keep their default.
#[test]
fn memory_kernel_limits_are_ignored() {
    let ctx = Ctx::new("cgf_kmem");
    let resources = json!({"memory": {"limit": 64 << 20, "kernel": 32 << 20,
                                      "kernelTCP": 16 << 20}});
    let cg = assert_ignored_with_warning(
        &ctx,
        resources,
        "linux.resources.memory.kernel",
        "runc warns \"Kernel memory settings are ignored and will be removed\", naming no field",
    );
    cg.assert_host(&[memory_limit(64 << 20)]);
    for file in [
        "memory.kmem.limit_in_bytes",
        "memory.kmem.tcp.limit_in_bytes",
    ] {
        let root = cgroup_dir("memory", "/").join(file);
        if !cgroup_v2() && root.exists() {
            cg.assert_host(&[Want::new("memory", file, read_cgroup_file(&root))]);
        }
    }
    cg.delete(true);
}

/// memory.useHierarchy: v1 `memory.use_hierarchy`. Turning it off is an error where the
/// kernel's memory cgroups are always hierarchical (Linux 5.16+: it refuses 0); v2 is always
/// hierarchical (runc ignores the field there, berth too, with a warning).
#[test]
fn memory_use_hierarchy() {
    let ctx = Ctx::new("cgf_hierarchy");
    let off = json!({"memory": {"useHierarchy": false}});
    if cgroup_v2() {
        let cg = assert_ignored_with_warning(
            &ctx,
            off,
            "linux.resources.memory.useHierarchy",
            "runc 1.1 ignores useHierarchy",
        );
        cg.delete(true);
        return;
    }
    let on = [Want::new("memory", "memory.use_hierarchy", 1)];
    assert_read_back(&ctx, json!({"memory": {"useHierarchy": true}}), &on);
    if skip_for_runc("runc 1.1 never writes memory.use_hierarchy: off is silently on") {
        return;
    }
    let (spec, path) = in_new_cgroup(&ctx, &sh_spec("exec sleep 100"), off);
    let (id, out) = ctx.try_create(&ctx.bundle(&spec));
    if out.success() {
        let file = cgroup_dir("memory", &path).join("memory.use_hierarchy");
        assert_eq!(read_cgroup_file(&file), "0", "{}", file.display());
        ctx.rt(&["delete", "--force", &id]).ok();
    } else {
        out.one_line_error();
        out.stderr_has("linux.resources.memory.useHierarchy");
        ctx.assert_gone(&id);
        assert_cgroup_gone(&path);
    }
}

/// memory.checkBeforeUpdate: `update` to a limit below the current usage is refused (and the
/// limit stays); a limit above it is applied.
#[test]
fn memory_check_before_update() {
    let ctx = Ctx::new("cgf_check");
    if skip_for_runc("runc 1.1 predates memory.checkBeforeUpdate") {
        return;
    }
    // The shell keeps 8 MB in a variable while it sleeps.
    let script = "x=$(yes 0123456789abcde | head -c 8000000); echo ready=1; sleep 100; echo ${#x}";
    let cg = Cg::start(
        &ctx,
        in_new_cgroup(
            &ctx,
            &sh_spec(script),
            json!({"memory": {"limit": 128 << 20}}),
        ),
    );
    cg.wait_output("ready=");
    let usage = Want::new(
        "memory",
        by_layout("memory.usage_in_bytes", "memory.current"),
        "",
    );
    let used: u64 = cg.read(&usage).parse().expect("memory usage");
    assert!(used > 8_000_000, "the container uses its 8 MB: {used}");
    update_refused(
        &cg,
        json!({"memory": {"limit": 4 << 20, "checkBeforeUpdate": true}}),
        ("linux.resources.memory.checkBeforeUpdate", ""),
        &memory_limit(128 << 20),
        "",
    );
    cg.assert_host(&[memory_limit(128 << 20)]);
    let above = json!({"memory": {"limit": 64 << 20, "checkBeforeUpdate": true}});
    cg.update(&[], Some(&above)).ok();
    cg.assert_host(&[memory_limit(64 << 20)]);
    cg.delete(true);
}

// ------------------------------------------------------------------------------------ pids

/// pids.limit -1 (and 0, runc's "unset") is unlimited: `pids.max` reads "max".
#[test]
fn pids_limit_unlimited() {
    let ctx = Ctx::new("cgf_pids");
    for limit in [-1, 0] {
        let resources = json!({"pids": {"limit": limit}});
        assert_read_back(&ctx, resources, &[Want::new("pids", "pids.max", "max")]);
    }
}

// ------------------------------------------------------------------------------------ block IO

/// blockIO.leafWeight: v1 `blkio.leaf_weight` exists with CFQ only (gone since Linux 5.0):
/// elsewhere an error, as with runc. v2 has no leaf weights (runc ignores the field, berth
/// too, with a warning).
#[test]
fn blkio_leaf_weight() {
    let ctx = Ctx::new("cgf_leaf");
    let resources = json!({"blockIO": {"leafWeight": 300}});
    if cgroup_v2() {
        let cg = assert_ignored_with_warning(
            &ctx,
            resources,
            "linux.resources.blockIO.leafWeight",
            "runc 1.1 ignores leafWeight on cgroup v2",
        );
        cg.delete(true);
    } else {
        read_back_where_offered(
            &ctx,
            resources,
            Want::new("blkio", "blkio.leaf_weight", 300),
            "linux.resources.blockIO.leafWeight",
            "runc fails to open blkio.leaf_weight",
        );
    }
}

/// blockIO.throttle{Read,Write}{Bps,IOPS}Device on a loop device of the test's own: v1 one
/// `blkio.throttle.*` file each, v2 one `io.max` line. A device that does not exist is an error.
#[test]
fn blkio_throttles_per_device() {
    let ctx = Ctx::new("cgf_throttle");
    let Some(dev) = LoopDevice::attach(&ctx) else {
        return;
    };
    let (major, minor) = dev.id.split_once(':').expect("MAJOR:MINOR");
    let device = |rate: u64| {
        json!([{"major": major.parse::<u64>().unwrap(),
                                     "minor": minor.parse::<u64>().unwrap(), "rate": rate}])
    };
    let resources = json!({"blockIO": {
        "throttleReadBpsDevice": device(1 << 20), "throttleWriteBpsDevice": device(2 << 20),
        "throttleReadIOPSDevice": device(100), "throttleWriteIOPSDevice": device(200)}});
    let prefix = format!("{} ", dev.id);
    let wants: Vec<Want> = if cgroup_v2() {
        let line = format!("{prefix}rbps=1048576 wbps=2097152 riops=100 wiops=200");
        vec![Want::line("io", "io.max", &prefix, line)]
    } else {
        [
            ("blkio.throttle.read_bps_device", 1 << 20),
            ("blkio.throttle.write_bps_device", 2 << 20),
            ("blkio.throttle.read_iops_device", 100),
            ("blkio.throttle.write_iops_device", 200),
        ]
        .into_iter()
        .map(|(file, rate)| Want::line("blkio", file, &prefix, format!("{prefix}{rate}")))
        .collect()
    };
    assert_read_back(&ctx, resources, &wants);

    let missing = json!([{"major": 4095, "minor": 4095, "rate": 100}]);
    assert_refused(
        &ctx,
        json!({"blockIO": {"throttleReadIOPSDevice": missing}}),
        "linux.resources.blockIO.throttleReadIOPSDevice",
        "runc prints the kernel's ENODEV",
    );
}

/// blockIO.weightDevice on a loop device of the test's own, switched to BFQ: v1
/// `blkio.weight_device` or BFQ's `blkio.bfq.weight_device`, v2 a line of `io.bfq.weight`.
/// Without BFQ, v2 has no per-device weights (runc ignores them, berth too, with a warning).
#[test]
fn blkio_weight_device() {
    let ctx = Ctx::new("cgf_weight_dev");
    let Some(mut dev) = LoopDevice::attach(&ctx) else {
        return;
    };
    let (major, minor) = dev.id.split_once(':').expect("MAJOR:MINOR");
    let resources = json!({"blockIO": {"weightDevice": [{"major": major.parse::<u64>().unwrap(),
        "minor": minor.parse::<u64>().unwrap(), "weight": 300}]}});
    let bfq = dev.use_scheduler("bfq");
    let prefix = format!("{} ", dev.id);
    let line = format!("{prefix}300");
    if cgroup_v2() {
        if bfq && cgroup_has_file(&ctx, "io", "io.bfq.weight") {
            let wants = [Want::line("io", "io.bfq.weight", &prefix, line)];
            assert_read_back(&ctx, resources, &wants);
        } else {
            let cg = assert_ignored_with_warning(
                &ctx,
                resources,
                "linux.resources.blockIO.weightDevice",
                "runc 1.1 ignores per-device weights on cgroup v2 without BFQ",
            );
            cg.delete(true);
        }
        return;
    }
    let file = ["blkio.weight_device", "blkio.bfq.weight_device"]
        .into_iter()
        .find(|f| cgroup_has_file(&ctx, "blkio", f));
    match file {
        Some(file) if bfq || file == "blkio.weight_device" => {
            let wants = [Want::line("blkio", file, &prefix, line)];
            assert_read_back(&ctx, resources, &wants);
        }
        _ => {
            note("cgf_weight_dev: no per-device weight for this device: its error is tested");
            assert_refused(
                &ctx,
                resources,
                "linux.resources.blockIO.weightDevice",
                "runc prints the kernel's error",
            );
        }
    }
}

// ------------------------------------------------------------------------------------ others

/// hugepageLimits: v1 `hugetlb.2MB.limit_in_bytes`, v2 `hugetlb.2MB.max`; a page size the host
/// does not have is an error, and so is any limit on a host without the hugetlb controller
/// (this hybrid kind of host mounts none).
#[test]
fn hugepage_limits() {
    let ctx = Ctx::new("cgf_hugetlb");
    let file = by_layout("hugetlb.2MB.limit_in_bytes", "hugetlb.2MB.max");
    let resources = json!({"hugepageLimits": [{"pageSize": "2MB", "limit": 4 << 20}]});
    if !cgroup_has_file(&ctx, "hugetlb", file) {
        note("cgf_hugetlb: no hugetlb controller (or no 2MB pages) here: its error is tested");
        assert_refused(
            &ctx,
            resources,
            "linux.resources.hugepageLimits",
            "runc says \"cannot set hugetlb limit: container could not join or create cgroup\"",
        );
        return;
    }
    assert_read_back(&ctx, resources, &[Want::new("hugetlb", file, 4 << 20)]);
    assert_refused(
        &ctx,
        json!({"hugepageLimits": [{"pageSize": "3MB", "limit": 4 << 20}]}),
        "linux.resources.hugepageLimits",
        "runc fails to open hugetlb.3MB.max",
    );
}

/// network.classID (v1 `net_cls.classid`) and priorities (v1 `net_prio.ifpriomap`, written in
/// the host's network namespace, so read from the host). Without those controllers an error;
/// v2 has neither (runc ignores the fields there, berth too, with a warning).
#[test]
fn network_class_id_and_priorities() {
    let ctx = Ctx::new("cgf_net");
    let class_id = json!({"network": {"classID": 1048577}});
    let priorities = json!({"network": {"priorities": [{"name": "lo", "priority": 5}]}});
    if cgroup_v2() {
        let both = json!({"network": {"classID": 1048577,
                                      "priorities": [{"name": "lo", "priority": 5}]}});
        let cg = assert_ignored_with_warning(
            &ctx,
            both,
            "linux.resources.network",
            "runc 1.1 ignores network on cgroup v2 without a word",
        );
        cg.delete(true);
        return;
    }
    match cgroup_mount("net_cls") {
        Some(_) => {
            let wants = [Want::new("net_cls", "net_cls.classid", 1048577)];
            assert_read_back(&ctx, class_id, &wants);
        }
        None => {
            note("cgf_net: no net_cls hierarchy on this host: its error is tested");
            assert_refused(
                &ctx,
                class_id,
                "linux.resources.network.classID",
                "runc says \"cannot set net_cls limit: container could not join or create cgroup\"",
            );
        }
    }
    match cgroup_mount("net_prio") {
        Some(_) => {
            let spec = sh_spec("exec sleep 100");
            let cg = Cg::start(&ctx, in_new_cgroup(&ctx, &spec, priorities));
            cg.assert_host(&[Want::line("net_prio", "net_prio.ifpriomap", "lo ", "lo 5")]);
            cg.delete(true);
        }
        None => {
            assert_refused(
                &ctx,
                priorities,
                "linux.resources.network.priorities",
                "runc says \"cannot set net_prio limit: container could not join or create cgroup\"",
            );
        }
    }
}

/// rdma: `rdma.max` of a device of the host; a device the host does not have, or any limit
/// on a host without the rdma controller, is an error.
#[test]
fn rdma_limits() {
    let ctx = Ctx::new("cgf_rdma");
    let device = std::fs::read_dir("/sys/class/infiniband")
        .into_iter()
        .flatten()
        .flatten()
        .find_map(|e| e.file_name().into_string().ok());
    let has_controller = cgroup_has_file(&ctx, "rdma", "rdma.max");
    if let (true, Some(device)) = (has_controller, &device) {
        let resources = json!({"rdma": {device: {"hcaHandles": 3, "hcaObjects": 100}}});
        let line = format!("{device} hca_handle=3 hca_object=100");
        let wants = [Want::line("rdma", "rdma.max", device, line)];
        assert_read_back(&ctx, resources, &wants);
    } else {
        note(&format!(
            "cgf_rdma: rdma controller: {has_controller}, RDMA device: {device:?}: only errors tested"
        ));
    }
    assert_refused(
        &ctx,
        json!({"rdma": {"berth-no-such-hca": {"hcaHandles": 3}}}),
        "linux.resources.rdma",
        "runc prints the kernel's ENODEV, or that it has no rdma cgroup",
    );
}

/// unified: raw v2 files, written after (so over) the fields: `memory.high` and `pids.max`
/// (over pids.limit). Keys must be file names of the cgroup (no "/", no ".."), and name files
/// the cgroup has. On v1 and hybrid hosts any key is an error, as with runc.
#[test]
fn unified_keys() {
    let ctx = Ctx::new("cgf_unified");
    let high = json!({"unified": {"memory.high": "52428800"}});
    if !cgroup_v2() {
        assert_refused(
            &ctx,
            high,
            "linux.resources.unified",
            "runc says \"cannot use unified on cgroup v1\"",
        );
        return;
    }
    let resources = json!({"pids": {"limit": 20},
                           "unified": {"memory.high": "52428800", "pids.max": "7"}});
    let wants = [
        Want::new("memory", "memory.high", 52428800),
        Want::new("pids", "pids.max", 7),
    ];
    assert_read_back(&ctx, resources, &wants);
    for key in ["../memory.high", "..", "memory.nope"] {
        assert_refused(
            &ctx,
            json!({"unified": {key: "5"}}),
            "linux.resources.unified",
            "runc names the key, not the field",
        );
    }
}

// ------------------------------------------------------------------------------------ update

/// The container every `update` test changes: memory, cpu, cpuset, pids and (where the host
/// has a weight file) block IO weight set at create, read back before the update.
fn updatable(ctx: &Ctx) -> (Cg<'_>, bool) {
    let mut resources = json!({
        "memory": {"limit": 128 << 20, "reservation": 64 << 20},
        "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"},
        "pids": {"limit": 20},
    });
    let weight = blkio_weight(ctx, 500);
    if weight.is_some() {
        resources["blockIO"] = json!({"weight": 500});
    }
    let cg = Cg::start(
        ctx,
        in_new_cgroup(ctx, &sh_spec("exec sleep 100"), resources),
    );
    let mut wants = vec![
        memory_limit(128 << 20),
        memory_reservation(64 << 20),
        cpu_shares(512),
        cpuset_cpus("0"),
        pids_max(20),
    ];
    wants.extend(cpu_quota(50000, 100000));
    wants.extend(weight);
    cg.assert_host(&wants);
    (cg, blkio_weight(ctx, 200).is_some())
}

/// What every update test sets, and how the host shows it: memory 96M + 48M reserved, swap
/// 192M (where accounted), shares 2048, quota 100000 per 200000, all online cpus, mems 0,
/// pids 30, block IO weight 200 (where the host has a weight file).
fn updated_wants(ctx: &Ctx, weight: bool) -> Vec<Want> {
    let mut wants = vec![
        memory_limit(96 << 20),
        memory_reservation(48 << 20),
        cpu_shares(2048),
        cpuset_cpus(&host_line("/sys/devices/system/cpu/online")),
        Want::new("cpuset", "cpuset.mems", 0),
        pids_max(30),
    ];
    wants.extend(cpu_quota(100000, 200000));
    if has_swap_accounting(ctx) {
        wants.push(memory_swap(96 << 20, 192 << 20));
    }
    if weight {
        wants.extend(blkio_weight(ctx, 200));
    }
    wants
}

/// runc's `update` flags, one for each field it can change, read back from the host;
/// `--cpu-rt-period`/`--cpu-rt-runtime` where the host has real-time group scheduling, else
/// (berth) an error naming the field.
#[test]
fn update_flags_change_every_field() {
    let ctx = Ctx::new("cgf_upd_flags");
    let (cg, weight) = updatable(&ctx);
    let cpus = host_line("/sys/devices/system/cpu/online");
    let mut flags = vec![
        "--memory",
        "96M",
        "--memory-reservation",
        "48M",
        "--cpu-share",
        "2048",
        "--cpu-quota",
        "100000",
        "--cpu-period",
        "200000",
        "--cpuset-cpus",
        &cpus,
        "--cpuset-mems",
        "0",
        "--pids-limit",
        "30",
    ];
    if has_swap_accounting(&ctx) {
        flags.extend(["--memory-swap", "192M"]);
    }
    if weight {
        flags.extend(["--blkio-weight", "200"]);
    }
    cg.update(&flags, None).ok();
    cg.assert_host(&updated_wants(&ctx, weight));

    let realtime = ["--cpu-rt-period", "500000", "--cpu-rt-runtime", "2000"];
    if cgroup_has_file(&ctx, "cpu", "cpu.rt_runtime_us") {
        cg.update(&realtime, None).ok();
        cg.assert_host(&[
            Want::new("cpu", "cpu.rt_period_us", 500000),
            Want::new("cpu", "cpu.rt_runtime_us", 2000),
        ]);
    } else if !(cgroup_v2() && skip_for_runc("runc 1.1 ignores realtime values on cgroup v2")) {
        let out = cg.update(&realtime, None);
        out.failed();
        out.error_names_field("linux.resources.cpu.realtime", "");
    }
    cg.delete(true);
}

/// `update --resources -` (LinuxResources JSON on stdin, as containerd calls it): the same
/// fields as the flags, plus `unified` on v2, and for berth cpu idle and burst. A refused
/// update (swap below the limit) changes nothing.
#[test]
fn update_resources_json_changes_every_field() {
    let ctx = Ctx::new("cgf_upd_json");
    let (cg, weight) = updatable(&ctx);
    let cpus = host_line("/sys/devices/system/cpu/online");
    let mut resources = json!({
        "memory": {"limit": 96 << 20, "reservation": 48 << 20},
        "cpu": {"shares": 2048, "quota": 100000, "period": 200000, "cpus": cpus, "mems": "0"},
        "pids": {"limit": 30},
    });
    if has_swap_accounting(&ctx) {
        resources["memory"]["swap"] = json!(192 << 20);
    }
    if weight {
        resources["blockIO"] = json!({"weight": 200});
    }
    let mut wants = updated_wants(&ctx, weight);
    if cgroup_v2() {
        resources["unified"] = json!({"memory.high": "83886080"});
        wants.push(Want::new("memory", "memory.high", 83886080));
    }
    cg.update(&[], Some(&resources)).ok();
    cg.assert_host(&wants);

    if has_swap_accounting(&ctx) {
        update_refused(
            &cg,
            json!({"memory": {"limit": 64 << 20, "swap": 32 << 20}}),
            (
                "linux.resources.memory.swap",
                "runc prints the kernel's EINVAL or \"memory+swap limit should be >= memory limit\"",
            ),
            &memory_limit(96 << 20),
            "runc 1.1 on v1 lowers memory.limit_in_bytes before the kernel refuses memsw",
        );
    }
    if skip_for_runc("runc 1.1 does not write cpu.idle or cpu.burst") {
        cg.delete(true);
        return;
    }
    let mut berth_only = Vec::new();
    let mut cpu = json!({});
    if cgroup_has_file(&ctx, "cpu", "cpu.idle") {
        cpu["idle"] = json!(1);
        berth_only.push(Want::new("cpu", "cpu.idle", 1));
    }
    let burst = want("cpu", "cpu.cfs_burst_us", "cpu.max.burst", 30000);
    if cgroup_has_file(&ctx, "cpu", &burst.file) {
        cpu["burst"] = json!(30000);
        berth_only.push(burst);
    }
    cg.update(&[], Some(&json!({ "cpu": cpu }))).ok();
    cg.assert_host(&berth_only);
    cg.delete(true);
}
