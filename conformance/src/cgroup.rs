//! Containers in cgroups of their own and the cgroup files they are checked against, for the
//! `cgroups` and `cgroup_fields` test modules.
//!
//! Every helper reads the files of the layout the host has ([`cgroup_v2`]): v1 (and hybrid)
//! files under `/sys/fs/cgroup/<controller>/`, or the v2 names under `/sys/fs/cgroup/`, with
//! runc's conversions of v1 values (`cpu.shares` -> `cpu.weight`, blkio weight -> `io.weight`).

use crate::{
    by_layout, cgroup_dir, cgroup_dir_of, cgroup_dirs_at, cgroup_mount, cgroup_v2, edit,
    keyed_value, note, read_cgroup_file, sh_quote, sh_spec, skip_for_runc, wait_for, with_mounts,
    Container, Ctx, Output,
};
use oci_spec::runtime::Spec;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

// ------------------------------------------------------------------------------------ specs

/// `spec` placed in a fresh cgroupsPath, with `resources` (an object of LinuxResources
/// sections) added to its own (the base spec's "deny all devices" rule stays first).
pub fn in_new_cgroup(ctx: &Ctx, spec: &Spec, resources: Value) -> (Spec, String) {
    let path = ctx.new_cgroups_path();
    let spec = edit(spec, |v| {
        v["linux"]["cgroupsPath"] = json!(path);
        let own = &mut v["linux"]["resources"];
        for (k, section) in resources.as_object().expect("resources is an object") {
            own[k] = section.clone();
        }
    });
    (spec, path)
}

/// `spec` with its own cgroup namespace and the cgroup filesystem mounted read-only at
/// /sys/fs/cgroup: the container sees its own cgroup as the root of every hierarchy there.
pub fn with_cgroup_view(spec: &Spec) -> Spec {
    let spec = with_mounts(
        spec,
        json!([{"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
                "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}]),
    );
    edit(&spec, |v| {
        let ns = v["linux"]["namespaces"].as_array_mut().expect("namespaces");
        ns.push(json!({"type": "cgroup"}));
    })
}

// ------------------------------------------------------------------------------------ files

/// One cgroup interface file and the content expected in it: its first line, or the line that
/// starts with a given prefix (per-device files such as `io.max`).
#[derive(Debug, Clone)]
pub struct Want {
    /// The controller whose hierarchy holds the file (on v1).
    pub controller: &'static str,
    /// The file name, e.g. `memory.max`.
    pub file: String,
    /// Which line is compared: the one starting with this, else the first.
    pub line: Option<String>,
    /// The expected line, trimmed.
    pub value: String,
}

impl Want {
    /// The first line of `file` reads `value`.
    pub fn new(controller: &'static str, file: impl Into<String>, value: impl ToString) -> Want {
        Want {
            controller,
            file: file.into(),
            line: None,
            value: value.to_string(),
        }
    }

    /// The line of `file` that starts with `prefix` reads `value` (the whole line).
    pub fn line(
        controller: &'static str,
        file: impl Into<String>,
        prefix: &str,
        value: impl ToString,
    ) -> Want {
        Want {
            line: Some(prefix.to_string()),
            ..Want::new(controller, file, value)
        }
    }

    /// The name the container reports this file under (see [`report_script`]).
    fn label(&self) -> String {
        match &self.line {
            Some(prefix) => format!("{} {}", self.file, prefix.trim()),
            None => self.file.clone(),
        }
    }

    /// The line of `text` this want compares: the one with its prefix, or the first.
    pub fn pick(&self, text: &str) -> String {
        let found = match &self.line {
            Some(prefix) => text.lines().find(|l| l.starts_with(prefix.as_str())),
            None => text.lines().next(),
        };
        found.unwrap_or("").trim().to_string()
    }

    /// Where the container sees this file through [`with_cgroup_view`]: its cgroup is the root
    /// of the hierarchy, mounted where the host mounts it.
    pub fn inside_path(&self) -> PathBuf {
        let m = cgroup_mount(self.controller)
            .unwrap_or_else(|| panic!("no {} hierarchy", self.controller));
        m.point.join(&self.file)
    }
}

/// `memory.limit` as the host shows it.
pub fn memory_limit(bytes: u64) -> Want {
    Want::new(
        "memory",
        by_layout("memory.limit_in_bytes", "memory.max"),
        bytes,
    )
}

/// `pids.limit` as the host shows it.
pub fn pids_max(n: u64) -> Want {
    Want::new("pids", "pids.max", n)
}

/// runc's v2 mapping of `cpu.shares` [2, 262144] onto `cpu.weight` [1, 10000].
pub fn cpu_shares(shares: u64) -> Want {
    by_layout(
        Want::new("cpu", "cpu.shares", shares),
        Want::new("cpu", "cpu.weight", 1 + (shares - 2) * 9999 / 262142),
    )
}

/// `cpu.quota` and `cpu.period` as the host shows them.
pub fn cpu_quota(quota: u64, period: u64) -> Vec<Want> {
    by_layout(
        vec![
            Want::new("cpu", "cpu.cfs_quota_us", quota),
            Want::new("cpu", "cpu.cfs_period_us", period),
        ],
        vec![Want::new("cpu", "cpu.max", format!("{quota} {period}"))],
    )
}

/// `cpu.cpus` as the host shows it.
pub fn cpuset_cpus(cpus: &str) -> Want {
    Want::new("cpuset", "cpuset.cpus", cpus)
}

/// Whether a fresh cgroup of `controller` has `file` (some files depend on the kernel's
/// configuration or the I/O scheduler, and the root cgroup lacks many). Looks in a scratch
/// cgroup of `ctx` (a [`Ctx::new_cgroups_path`], so never left behind); false when the
/// controller is not there at all.
pub fn cgroup_has_file(ctx: &Ctx, controller: &str, file: &str) -> bool {
    cgroup_mount(controller).is_some() && {
        let scratch = cgroup_dir(controller, &ctx.new_cgroups_path());
        std::fs::create_dir(&scratch).expect("create a scratch cgroup");
        let has = scratch.join(file).exists();
        std::fs::remove_dir(&scratch).expect("remove the scratch cgroup");
        has
    }
}

/// The file a blkio weight of `weight` lands in, and its content, on this host: v1
/// `blkio.weight` or `blkio.bfq.weight`; v2 `io.bfq.weight`, else `io.weight` with runc's
/// conversion from [10, 1000] to [1, 10000]. Which ones exist depends on the I/O scheduler.
/// None when there is none.
pub fn blkio_weight(ctx: &Ctx, weight: u64) -> Option<Want> {
    let has = |f: &str| cgroup_has_file(ctx, "blkio", f);
    if cgroup_v2() {
        if has("io.bfq.weight") {
            Some(Want::new(
                "io",
                "io.bfq.weight",
                format!("default {weight}"),
            ))
        } else if has("io.weight") {
            let converted = 1 + (weight - 10) * 9999 / 990;
            Some(Want::new("io", "io.weight", format!("default {converted}")))
        } else {
            None
        }
    } else {
        ["blkio.weight", "blkio.bfq.weight"]
            .into_iter()
            .find(|f| has(f))
            .map(|f| Want::new("blkio", f, weight))
    }
}

/// The `LABEL=CONTENT` lines the container prints for its wants (see [`report_script`]).
fn inside_values(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

/// A script printing `LABEL=LINE` for each of `wants` as the container sees it (the line each
/// compares), then staying alive for the host to look.
pub fn report_script(wants: &[Want]) -> String {
    let mut script = String::new();
    for w in wants {
        let path = sh_quote(&w.inside_path().display().to_string());
        let read = match &w.line {
            Some(prefix) => format!("grep -m 1 -e {} {path}", sh_quote(&format!("^{prefix}"))),
            None => format!("head -n 1 {path}"),
        };
        script += &format!("echo {}=\"$({read})\"; ", sh_quote(&w.label()));
    }
    script + "echo done=1; exec sleep 100"
}

// ------------------------------------------------------------------------------------ containers

/// A container in its own cgroup: its id, the configured cgroupsPath and its first process.
pub struct Cg<'a> {
    ctx: &'a Ctx,
    /// The container.
    pub c: Container,
    /// Its `linux.cgroupsPath`.
    pub path: String,
    /// The host pid of its first process.
    pub pid: i32,
}

impl<'a> Cg<'a> {
    /// `create` only: the process waits in its cgroup for `start`.
    pub fn create(ctx: &'a Ctx, (spec, path): (Spec, String)) -> Cg<'a> {
        let c = ctx.create(&ctx.bundle(&spec));
        let pid = ctx.state(&c.id).pid();
        Cg { ctx, c, path, pid }
    }

    /// `create` + `start`.
    pub fn start(ctx: &'a Ctx, spec_and_path: (Spec, String)) -> Cg<'a> {
        let cg = Cg::create(ctx, spec_and_path);
        ctx.rt(&["start", &cg.c.id]).ok();
        cg
    }

    /// The container id.
    pub fn id(&self) -> &str {
        &self.c.id
    }

    /// The host path of `file` in the container's cgroup for `controller`, found from
    /// `/proc/<pid>/cgroup` of its first process.
    #[track_caller]
    pub fn host_file(&self, controller: &str, file: &str) -> PathBuf {
        cgroup_dir_of(self.pid, controller).join(file)
    }

    /// The content of `w`'s file, trimmed.
    #[track_caller]
    pub fn read(&self, w: &Want) -> String {
        read_cgroup_file(&self.host_file(w.controller, &w.file))
    }

    /// Asserts every file of `wants`, read from the host.
    #[track_caller]
    pub fn assert_host(&self, wants: &[Want]) {
        for w in wants {
            assert_eq!(
                w.pick(&self.read(w)),
                w.value,
                "host {}",
                self.host_file(w.controller, &w.file).display()
            );
        }
    }

    /// Polls until `w`'s file reads as expected (for states the kernel reaches asynchronously).
    #[track_caller]
    pub fn wait_host(&self, w: &Want) {
        wait_for(
            &format!("{} to read {:?}", w.file, w.value),
            Duration::from_secs(5),
            || w.pick(&self.read(w)) == w.value,
        );
    }

    /// The value of `key` in the flat-keyed file of `w` (`pids.events`, `memory.events`).
    #[track_caller]
    pub fn keyed(&self, w: &Want, key: &str) -> u64 {
        let text = self.read(w);
        keyed_value(&text, key).unwrap_or_else(|| panic!("no {key} in {}: {text}", w.file))
    }

    /// The processes in the container's cgroup (`cgroup.procs` of its pids cgroup).
    pub fn procs(&self) -> Vec<i32> {
        let mut pids: Vec<i32> = read_cgroup_file(&self.host_file("pids", "cgroup.procs"))
            .lines()
            .map(|l| l.parse().expect("a pid in cgroup.procs"))
            .collect();
        pids.sort_unstable();
        pids
    }

    /// Waits until the cgroup holds `n` processes; returns them (remembered for the leak check).
    #[track_caller]
    pub fn wait_procs(&self, n: usize) -> Vec<i32> {
        let mut pids = Vec::new();
        wait_for(
            &format!("{n} processes in {}", self.path),
            Duration::from_secs(5),
            || {
                pids = self.procs();
                pids.len() == n
            },
        );
        for p in &pids {
            self.ctx.remember_pid(*p);
        }
        pids
    }

    /// Waits until the container has printed a line starting with `prefix`; returns stdout.
    #[track_caller]
    pub fn wait_output(&self, prefix: &str) -> String {
        let mut out = String::new();
        wait_for(
            &format!("{prefix:?} from {}", self.id()),
            // Slow machines (the TCG VM) take seconds to OOM-kill a process.
            Duration::from_secs(20),
            || {
                out = self.c.stdout();
                out.lines().any(|l| l.starts_with(prefix))
            },
        );
        out
    }

    /// The raw `state` JSON status (runc's `paused` is not one of oci-spec's statuses).
    pub fn status(&self) -> Value {
        self.ctx.rt(&["state", self.id()]).json()["status"].clone()
    }

    /// `update` of the container with `args` (flags) and, if given, LinuxResources JSON on
    /// stdin (`--resources -`); returns what it did.
    pub fn update(&self, flags: &[&str], resources: Option<&Value>) -> Output {
        let mut args = vec!["update"];
        if resources.is_some() {
            args.extend(["--resources", "-"]);
        }
        args.extend(flags);
        args.push(self.id());
        let cmd = self.ctx.cmd(&args);
        match resources {
            Some(r) => cmd.stdin(r.to_string().as_bytes()).output(),
            None => cmd.output(),
        }
    }

    /// `delete` (with `--force` if asked): the cgroup existed before and is gone after, in
    /// every hierarchy, and so is the container.
    #[track_caller]
    pub fn delete(&self, force: bool) {
        self.delete_container(force);
        assert_cgroup_gone(&self.path);
    }

    /// [`Cg::delete`] without the check of the cgroup afterwards; returns what `delete` said.
    #[track_caller]
    pub fn delete_container(&self, force: bool) -> Output {
        assert_cgroup_exists(&self.path);
        let mut args = vec!["delete"];
        if force {
            args.push("--force");
        }
        args.push(self.id());
        let out = self.ctx.rt(&args);
        out.ok();
        self.ctx.assert_gone(self.id());
        out
    }
}

/// Asserts that the cgroup `path` exists, in the memory hierarchy at least.
#[track_caller]
pub fn assert_cgroup_exists(path: &str) {
    let dirs = cgroup_dirs_at(path);
    assert!(!dirs.is_empty(), "the container's cgroup {path} exists");
    assert!(
        dirs.iter()
            .any(|d| d.starts_with(cgroup_dir("memory", "/"))),
        "cgroup {path} is in the memory hierarchy: {dirs:?}"
    );
}

/// Asserts that the cgroup `path` is in no hierarchy.
#[track_caller]
pub fn assert_cgroup_gone(path: &str) {
    let left = cgroup_dirs_at(path);
    assert!(left.is_empty(), "cgroup {path} left behind: {left:?}");
}

/// Starts a container with `resources`, its own cgroup namespace and a cgroup mount, and
/// asserts each of `wants` from inside (the container reads its own cgroup files) and from the
/// host; then deletes it.
#[track_caller]
pub fn assert_read_back(ctx: &Ctx, resources: Value, wants: &[Want]) {
    let spec = with_cgroup_view(&sh_spec(&report_script(wants)));
    let cg = Cg::start(ctx, in_new_cgroup(ctx, &spec, resources));
    let out = cg.wait_output("done=");
    let inside = inside_values(&out);
    for w in wants {
        assert!(
            inside.contains(&(w.label(), w.value.clone())),
            "inside, {} should read {:?}: {out}",
            w.inside_path().display(),
            w.value
        );
    }
    cg.assert_host(wants);
    cg.delete(true);
}

/// `create` with `resources` fails with a one-line error naming `field` (runc's wording, which
/// names no field, is `runc_wording`) and leaves nothing behind: no container, no cgroup.
/// runc sometimes logs a warning line before its error: then only its failure is checked.
#[track_caller]
pub fn assert_refused(ctx: &Ctx, resources: Value, field: &str, runc_wording: &str) -> Output {
    let (spec, path) = in_new_cgroup(ctx, &sh_spec("exec sleep 100"), resources);
    let bundle = ctx.bundle(&spec);
    let id = ctx.new_id();
    let out = ctx.rt(&["create", "--bundle", &bundle.display().to_string(), &id]);
    if out.stderr.trim().lines().count() > 1
        && skip_for_runc(&format!(
            "it logs more than its one error line: {runc_wording}"
        ))
    {
        out.failed();
    } else {
        out.one_line_error();
    }
    out.error_names_field(field, runc_wording);
    ctx.assert_gone(&id);
    assert_cgroup_gone(&path);
    out
}

/// Starts a container with `resources` that this host cannot apply and runc ignores there
/// (`runc_does` says so): it runs, and berth's stderr warns about `field`. Returns it for
/// more checks.
#[track_caller]
pub fn assert_ignored_with_warning<'a>(
    ctx: &'a Ctx,
    resources: Value,
    field: &str,
    runc_does: &str,
) -> Cg<'a> {
    let cg = Cg::create(
        ctx,
        in_new_cgroup(ctx, &sh_spec("exec sleep 100"), resources),
    );
    let stderr = std::fs::read_to_string(&cg.c.stderr).unwrap_or_default();
    if !stderr.contains(field) {
        assert!(
            skip_for_runc(&format!("no warning about `{field}`: {runc_does}")),
            "a warning about {field}: {stderr}"
        );
    }
    ctx.rt(&["start", cg.id()]).ok();
    cg
}

// ------------------------------------------------------------------------------------ devices

/// A loop device the test attaches to a small file in its temp dir (a block device of its own
/// for per-device limits); detached, and its I/O scheduler reset, when dropped.
pub struct LoopDevice {
    /// `/dev/loopN`.
    pub dev: PathBuf,
    /// `MAJOR:MINOR`, as the cgroup files name devices.
    pub id: String,
    scheduler: Option<String>,
}

impl LoopDevice {
    /// Attaches a new loop device; None (with the reason printed) when the host has none.
    pub fn attach(ctx: &Ctx) -> Option<LoopDevice> {
        let file = ctx.dir().join("loop.img");
        std::fs::File::create(&file)
            .and_then(|f| f.set_len(1 << 20))
            .expect("create the loop device's backing file");
        let out = Command::new("losetup")
            .args(["--find", "--show"])
            .arg(&file)
            .output()
            .expect("run losetup");
        if !out.status.success() {
            note(&format!(
                "no loop device on this host: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
            return None;
        }
        let dev = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        let mut device = LoopDevice {
            id: String::new(),
            dev,
            scheduler: None,
        };
        device.id = read_cgroup_file(&device.sysfs("dev"));
        Some(device)
    }

    /// `/sys/block/loopN/<file>`.
    fn sysfs(&self, file: &str) -> PathBuf {
        let name = self.dev.file_name().expect("a device name");
        Path::new("/sys/block").join(name).join(file)
    }

    /// Switches the device to the I/O scheduler `name` (e.g. `bfq`); false when the kernel
    /// does not offer it.
    pub fn use_scheduler(&mut self, name: &str) -> bool {
        let file = self.sysfs("queue/scheduler");
        let offered = read_cgroup_file(&file);
        let old = offered
            .split_whitespace()
            .find_map(|s| s.strip_prefix('[')?.strip_suffix(']'))
            .unwrap_or("none")
            .to_string();
        if !offered
            .split_whitespace()
            .any(|s| s.trim_matches(['[', ']']) == name)
        {
            return false;
        }
        std::fs::write(&file, name).expect("set the loop device's scheduler");
        self.scheduler.get_or_insert(old);
        true
    }
}

impl Drop for LoopDevice {
    fn drop(&mut self) {
        if let Some(old) = &self.scheduler {
            let _ = std::fs::write(self.sysfs("queue/scheduler"), old);
        }
        let _ = Command::new("losetup").arg("-d").arg(&self.dev).status();
    }
}
