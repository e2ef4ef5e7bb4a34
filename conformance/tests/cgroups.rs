//! config-linux.md "Control groups": `linux.resources` applied to the container's cgroup before
//! it runs, enforced, changed by `update`, frozen by `pause`, listed by `ps`, reported by
//! `events`, and removed by `delete`. Every test is named `cgroup_*` and reads v1 or v2 files
//! as the host has them, so the same tests run on hybrid hosts and on pure cgroup v2.

use std::path::PathBuf;
use std::time::Duration;

use conformance::*;
use oci_spec::runtime::ContainerState;
use serde_json::json;

/// True on a pure cgroup v2 host.
fn unified() -> bool {
    std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// The host path of `file` in the cgroup of `pid` for `controller` (v1) or in its v2 cgroup.
fn cgroup_file(pid: i32, controller: &str, v1_file: &str, v2_file: &str) -> PathBuf {
    let membership = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let line = membership
        .lines()
        .find(|l| {
            let mut parts = l.splitn(3, ':');
            let (id, controllers) = (parts.next().unwrap(), parts.next().unwrap_or(""));
            if unified() {
                id == "0"
            } else {
                controllers.split(',').any(|c| c == controller)
            }
        })
        .unwrap_or_else(|| panic!("no {controller} cgroup for {pid}: {membership}"));
    let path = line.splitn(3, ':').nth(2).unwrap().trim_start_matches('/');
    if unified() {
        PathBuf::from("/sys/fs/cgroup").join(path).join(v2_file)
    } else {
        PathBuf::from("/sys/fs/cgroup")
            .join(controller)
            .join(path)
            .join(v1_file)
    }
}

fn read(path: &PathBuf) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .trim()
        .to_string()
}

fn memory_limit(pid: i32) -> String {
    read(&cgroup_file(
        pid,
        "memory",
        "memory.limit_in_bytes",
        "memory.max",
    ))
}

fn pids_max(pid: i32) -> String {
    read(&cgroup_file(pid, "pids", "pids.max", "pids.max"))
}

/// Waits until `ps --format json` lists `count` processes of container `id`; returns them.
fn wait_for_processes(ctx: &Ctx, id: &str, count: usize) -> Vec<i32> {
    let mut pids = Vec::new();
    wait_for(
        &format!("{count} processes"),
        Duration::from_secs(5),
        || {
            pids = ctx
                .rt(&["ps", "--format", "json", id])
                .ok()
                .json()
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_i64().unwrap() as i32)
                .collect();
            pids.len() == count
        },
    );
    pids
}

fn with_resources(script: &str, resources: serde_json::Value) -> oci_spec::runtime::Spec {
    edit(&sh_spec(script), |v| v["linux"]["resources"] = resources)
}

/// A started container running `script` with `resources`, and its host pid.
fn started(ctx: &Ctx, script: &str, resources: serde_json::Value) -> (Container, i32) {
    let c = ctx.start_new(&with_resources(script, resources));
    let pid = ctx.state(&c.id).pid();
    (c, pid)
}

#[test]
fn cgroup_limits_are_applied_before_the_process_runs() {
    let ctx = Ctx::new("cg-limits");
    let resources = json!({
        "memory": {"limit": 64 << 20},
        "pids": {"limit": 20},
        "cpu": {"shares": 512, "quota": 50000, "period": 100000},
    });
    // The first thing the process does is report its own cgroup.
    let (c, pid) = started(&ctx, "cat /proc/self/cgroup; exec sleep 100", resources);
    assert_eq!(memory_limit(pid), (64u64 << 20).to_string());
    assert_eq!(pids_max(pid), "20");
    if unified() {
        assert_eq!(
            read(&cgroup_file(pid, "cpu", "", "cpu.max")),
            "50000 100000"
        );
    } else {
        assert_eq!(read(&cgroup_file(pid, "cpu", "cpu.shares", "")), "512");
        assert_eq!(
            read(&cgroup_file(pid, "cpu", "cpu.cfs_quota_us", "")),
            "50000"
        );
    }
    wait_for(
        "the container's first output",
        Duration::from_secs(5),
        || !c.stdout().is_empty(),
    );
    let own = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    assert_eq!(
        c.stdout().trim(),
        own.trim(),
        "the process was in its cgroup from its first instruction"
    );
}

#[test]
fn cgroup_pids_limit_is_enforced() {
    let ctx = Ctx::new("cg-pids");
    // Ten background sleeps under a limit of five processes: the shell fails to fork (and, as
    // a non-interactive shell, gives up).
    let spec = with_resources(
        "for i in 1 2 3 4 5 6 7 8 9 10; do sleep 30 & done; echo all-forked",
        json!({"pids": {"limit": 5}}),
    );
    let (_, out) = ctx.run(&ctx.bundle(&spec));
    let stderr = std::fs::read_to_string(&out.stderr_path).unwrap_or_default();
    assert!(stderr.contains("fork"), "fork must fail: {stderr}");
    assert!(!out.stdout.contains("all-forked"), "{}", out.stdout);
}

#[test]
fn cgroup_memory_hog_is_oom_killed() {
    let ctx = Ctx::new("cg-oom");
    // `tail` keeps the endless line in memory until the OOM killer ends it.
    let spec = with_resources(
        "exec tail /dev/zero",
        json!({"memory": {"limit": 32 << 20, "swap": 32 << 20}}),
    );
    let (_, out) = ctx.run(&ctx.bundle(&spec));
    out.code_is(137);
}

#[test]
fn cgroup_pause_freezes_and_resume_thaws() {
    let ctx = Ctx::new("cg-pause");
    let (c, _) = started(
        &ctx,
        "i=0; while :; do i=$((i+1)); echo $i; sleep 0.02; done",
        json!({}),
    );
    let lines = || c.stdout().lines().count();
    wait_for("output", Duration::from_secs(5), || lines() > 3);
    ctx.rt(&["pause", &c.id]).ok();
    // runc's extra status: oci-spec's State (the spec's four statuses) cannot parse it.
    assert_eq!(ctx.rt(&["state", &c.id]).ok().json()["status"], "paused");
    let frozen_at = lines();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(lines(), frozen_at, "a paused container does not run");
    ctx.rt(&["pause", &c.id]).failed();
    ctx.rt(&["resume", &c.id]).ok();
    assert_eq!(ctx.state(&c.id).status(), ContainerState::Running);
    wait_for("output after resume", Duration::from_secs(5), || {
        lines() > frozen_at
    });
    ctx.rt(&["resume", &c.id]).failed();
}

#[test]
fn cgroup_update_changes_live_limits() {
    let ctx = Ctx::new("cg-update");
    let (c, pid) = started(
        &ctx,
        "exec sleep 100",
        json!({"memory": {"limit": 64 << 20}, "pids": {"limit": 20}}),
    );
    let resources = json!({"memory": {"limit": 48 << 20}, "pids": {"limit": 17}}).to_string();
    ctx.cmd(&["update", "--resources", "-", &c.id])
        .stdin(resources.as_bytes())
        .output()
        .ok();
    assert_eq!(memory_limit(pid), (48u64 << 20).to_string());
    assert_eq!(pids_max(pid), "17");
    ctx.rt(&["update", "--memory", "40M", "--pids-limit", "13", &c.id])
        .ok();
    assert_eq!(memory_limit(pid), (40u64 << 20).to_string());
    assert_eq!(pids_max(pid), "13");
}

#[test]
fn cgroup_ps_and_events_see_the_processes() {
    let ctx = Ctx::new("cg-ps");
    let (c, pid) = started(&ctx, "sleep 100 & exec sleep 101", json!({}));
    let pids = wait_for_processes(&ctx, &c.id, 2);
    assert!(
        pids.contains(&pid),
        "{pids:?} holds the container process {pid}"
    );
    let table = ctx.rt(&["ps", &c.id]).ok().stdout.clone();
    assert!(table.lines().next().unwrap().contains("PID"), "{table}");
    assert_eq!(
        table.lines().count(),
        3,
        "header and two processes: {table}"
    );
    let events = ctx.rt(&["events", "--stats", &c.id]).ok().json();
    assert_eq!(events["type"], "stats");
    assert_eq!(events["id"], c.id.as_str());
    assert_eq!(events["data"]["pids"]["current"], 2);
    assert!(events["data"]["memory"]["usage"]["usage"].as_u64().unwrap() > 0);
}

#[test]
fn cgroup_delete_force_kills_every_process_and_removes_the_cgroup() {
    let ctx = Ctx::new("cg-delete");
    let (c, pid) = started(
        &ctx,
        "sleep 100 & sleep 100 & wait",
        json!({"pids": {"limit": 10}}),
    );
    let cgroup_dir = cgroup_file(pid, "pids", "pids.max", "pids.max")
        .parent()
        .unwrap()
        .to_path_buf();
    let pids = wait_for_processes(&ctx, &c.id, 3);
    for p in &pids {
        ctx.remember_pid(*p);
    }
    ctx.rt(&["delete", "--force", &c.id]).ok();
    // Killed; their reaper (not berth: they are not its children) may take a moment.
    for p in &pids {
        wait_for(
            &format!("process {p} to be gone"),
            Duration::from_secs(5),
            || proc_start_time(*p).is_none(),
        );
    }
    assert!(!cgroup_dir.exists(), "{} left behind", cgroup_dir.display());
    ctx.assert_gone(&c.id);
}

#[test]
fn cgroup_removed_after_a_failed_create() {
    let ctx = Ctx::new("cg-failed");
    let path = format!("/berth-conf-failed-{}", std::process::id());
    let spec = edit(&sh_spec("true"), |v| {
        v["process"]["args"] = json!(["/no/such/program"]);
        v["linux"]["cgroupsPath"] = json!(path);
    });
    let bundle = ctx.bundle(&spec);
    ctx.rt(&[
        "create",
        "--bundle",
        &bundle.display().to_string(),
        &ctx.new_id(),
    ])
    .failed();
    let controller_root = if unified() {
        "/sys/fs/cgroup".to_string()
    } else {
        "/sys/fs/cgroup/pids".to_string()
    };
    let dir = PathBuf::from(controller_root).join(path.trim_start_matches('/'));
    assert!(!dir.exists(), "{} left behind", dir.display());
}

#[test]
fn cgroup_systemd_driver_without_systemd_is_a_clear_error() {
    if std::path::Path::new("/run/systemd/system").exists() {
        note("skipped: this host runs systemd");
        return;
    }
    let ctx = Ctx::new("cg-systemd");
    let spec = edit(&sh_spec("true"), |v| {
        v["linux"]["cgroupsPath"] = json!("system.slice:berth:x")
    });
    let bundle = ctx.bundle(&spec);
    ctx.cmd(&[
        "create",
        "--bundle",
        &bundle.display().to_string(),
        &ctx.new_id(),
    ])
    .global(&["--systemd-cgroup"])
    .output()
    .failed();
}

#[test]
fn cgroup_device_not_allowed_cannot_be_opened() {
    let ctx = Ctx::new("cg-devices");
    // Deny everything; the runtime adds the default devices and mknod of any device (runc's
    // rules), so /dev/null opens but a node made for /dev/mem (c 1:1) does not.
    let spec = edit(
        &sh_spec(
            "mknod /tmp/mem c 1 1 || exit 3; head -c 1 /dev/null || exit 4; \
             head -c 1 /tmp/mem; echo status=$?",
        ),
        |v| {
            v["linux"]["resources"] = json!({"devices": [{"allow": false, "access": "rwm"}]});
            for set in ["bounding", "effective", "permitted"] {
                v["process"]["capabilities"][set]
                    .as_array_mut()
                    .unwrap()
                    .push(json!("CAP_MKNOD"));
            }
        },
    );
    let (_, out) = ctx.run(&ctx.bundle(&spec));
    out.ok();
    let stderr = std::fs::read_to_string(&out.stderr_path).unwrap_or_default();
    assert!(out.stdout.contains("status=1"), "{} / {stderr}", out.stdout);
    assert!(stderr.contains("Operation not permitted"), "{stderr}");
}
