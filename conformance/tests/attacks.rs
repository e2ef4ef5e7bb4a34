//! The known runc escapes, each performed from inside a real container against the runtime's
//! defence: CVE-2019-5736 (a `#!/proc/self/exe` script reaching the runtime's binary),
//! CVE-2024-21626 (a runtime fd as working directory or program path), CVE-2021-30465 (a mount
//! destination swapped for a symlink while `create` runs), CVE-2025-31133 / 52565 / 52881
//! (/dev/null, /dev/console, masked paths and procfs entries of the image as symlinks) and
//! CVE-2019-16884 (a filesystem over /proc swallowing the runtime's procfs writes), and a created
//! container's process, still the runtime's, reached from another container in its pid namespace.
//!
//! Whatever an attack could reach is the test's own: files and mounts in its temp dir, a copy of
//! the probe, a netns-scoped sysctl. The CVE-2019-5736 attacker stops at the open that would let
//! it write: a runtime binary (maybe the system's runc) is never written to.
//!
//! maskedPaths, readonlyPaths, noNewPrivileges and seccomp filtering are checked from inside by
//! `rootfs::masked_paths` and `rootfs::readonly_paths` (plus the masked writes here),
//! `process::no_new_privileges` and the `seccomp` module; the fd scans of `run` and `exec`
//! without a terminal by `process::only_stdio_fds_inside` and `exec::exec_stdio_and_fds`.

use conformance::*;
use oci_spec::runtime::Spec;
use serde_json::{json, Value};
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The fds a runtime's process could still hold while it starts the user's program.
const LEAK_CANDIDATES: std::ops::RangeInclusive<u32> = 3..=10;

/// A relative path that climbs out of any directory by `..` and then names the host path
/// `host`: from a working directory inside the container it stays inside (and names nothing);
/// from a directory of the host it reaches `host`.
fn climb_to(host: &Path) -> String {
    let host = host.display().to_string();
    format!("{}{}", "../".repeat(32), host.trim_start_matches('/'))
}

/// Polls the JSON lines of `c` for up to `within` until `n` of them have `key`.
fn lines_with(c: &Container, key: &str, n: usize, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if c.json_lines()
            .iter()
            .filter(|l| l.get(key).is_some())
            .count()
            >= n
        {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `run` of `spec` in the foreground, the runtime on a terminal of its own.
fn run_in_terminal(ctx: &Ctx, spec: &Spec) -> Output {
    let bundle = ctx.bundle(spec);
    let id = ctx.new_id();
    ctx.cmd(&["run", "--bundle", &bundle.display().to_string(), &id])
        .in_terminal()
        .output()
}

/// The JSON lines a terminal showed (`Cmd::in_terminal`), from the first `{` of each line (the
/// terminal may echo control characters before it).
fn terminal_json_lines(out: &Output) -> Vec<Value> {
    out.stdout
        .lines()
        .filter_map(|l| serde_json::from_str(&l[l.find('{')?..]).ok())
        .collect()
}

// ------------------------------------------------------------------------ CVE-2019-5736

/// A container that swaps its /bin/sh for a `#!/proc/self/exe` script has the runtime's own
/// binary run there twice: when `exec` runs /bin/sh, and when the image's entrypoint is that
/// script (here a second container in the attacker's pid namespace). The attacker (the probe's
/// `exe-attack`) catches each such process, holds its /proc/PID/exe and reopens it for writing
/// once nothing runs it any more: that must fail, or reach a copy that is not the host's file,
/// and the host binary stays byte for byte the same.
#[test]
fn cve_2019_5736_proc_self_exe_cannot_reach_the_runtime_binary() {
    let ctx = Ctx::new("cve-2019-5736");
    let before = std::fs::read(runtime()).expect("read the runtime binary");
    let meta = std::fs::metadata(runtime()).unwrap();
    let host_file = json!([
        format!("{}:{}", libc::major(meta.dev()), libc::minor(meta.dev())),
        meta.ino()
    ]);
    let script = format!(
        "rm /bin/sh && printf '#!/proc/self/exe\\n' > /bin/sh && chmod 755 /bin/sh && \
         exec {PROBE} exe-attack 9 2"
    );
    let attacker = ctx.start_new(&bundle_fixtures::base_spec(&[
        "/bin/busybox",
        "sh",
        "-c",
        &script,
    ]));
    attacker.wait_json_lines(1);

    // exec: the runtime's process in the container executes /bin/sh, that is itself.
    for _ in 0..10 {
        ctx.rt(&["exec", &attacker.id, "/bin/sh"]);
        if lines_with(&attacker, "caught", 1, Duration::from_millis(300)) {
            break;
        }
    }
    if !lines_with(&attacker, "caught", 1, Duration::ZERO)
        && skip_for_runc(
            "runc's process in the container fails to execute the `#!/proc/self/exe` script \
             (\"exec /bin/sh: no such file or directory\"): nothing of runc runs there to attack",
        )
    {
        return;
    }
    assert!(
        lines_with(&attacker, "write", 1, Duration::from_secs(5)),
        "the attacker never caught the process of `exec` running /bin/sh: {}",
        attacker.stdout()
    );

    // create/run: an image whose entrypoint is the script, in the attacker's pid namespace.
    let attacker_pid = ctx.state(&attacker.id).pid();
    let spec = edit(&bundle_fixtures::base_spec(&["/bin/sh"]), |v| {
        for ns in v["linux"]["namespaces"].as_array_mut().unwrap() {
            if ns["type"] == "pid" {
                ns["path"] = json!(format!("/proc/{attacker_pid}/ns/pid"));
            }
        }
    });
    let bundle = ctx.bundle(&spec);
    let sh = bundle.join("rootfs/bin/sh");
    std::fs::remove_file(&sh).unwrap();
    std::fs::write(&sh, "#!/proc/self/exe\n").unwrap();
    std::fs::set_permissions(&sh, std::fs::Permissions::from_mode(0o755)).unwrap();
    for _ in 0..10 {
        ctx.run(&bundle);
        if lines_with(&attacker, "caught", 2, Duration::from_millis(300)) {
            break;
        }
    }
    assert!(
        lines_with(&attacker, "done", 1, Duration::from_secs(5)),
        "the attacker never caught the process of a container whose entrypoint is the script: {}",
        attacker.stdout()
    );

    let lines = attacker.json_lines();
    for caught in lines.iter().filter(|l| l.get("caught").is_some()) {
        let pid = &caught["caught"];
        let result = lines
            .iter()
            .find(|l| l.get("write").is_some() && &l["pid"] == pid)
            .unwrap_or_else(|| panic!("no result for {caught}"));
        let write = result["write"].as_str().unwrap_or_default();
        let host_binary = json!([caught["dev"], caught["ino"]]) == host_file;
        assert!(
            !(write == "ok" && host_binary),
            "CVE-2019-5736: from inside the container, /proc/{pid}/exe of the runtime's process \
             opens the host's {} for writing ({caught})",
            runtime().display()
        );
        assert!(
            write == "ok" || ["EROFS", "ETXTBSY", "EACCES", "EPERM"].contains(&write),
            "unexpected answer to the write open: {result} ({caught})"
        );
    }
    assert!(
        std::fs::read(runtime()).unwrap() == before,
        "the runtime binary {} changed",
        runtime().display()
    );
}

/// Until `start`, a created container's process is still the runtime's (it holds the exec fifo
/// and the setup channel, and execs the program later): it must not be dumpable, so that a
/// process of another container in its pid namespace, with the same uid and capabilities,
/// can neither trace it nor reach its memory or /proc files. Checked through its
/// /proc/PID/environ, whose open asks the kernel what a ptrace read would.
#[test]
fn created_process_cannot_be_inspected_from_its_pid_namespace() {
    let ctx = Ctx::new("created-not-dumpable");
    let attacker = ctx.start_new(&probe_spec(&["sleep", "30"]));
    let attacker_pid = ctx.state(&attacker.id).pid();
    let spec = edit(&probe_spec(&[]), |v| {
        for ns in v["linux"]["namespaces"].as_array_mut().unwrap() {
            if ns["type"] == "pid" {
                ns["path"] = json!(format!("/proc/{attacker_pid}/ns/pid"));
            }
        }
    });
    let created = ctx.create(&ctx.bundle(&spec));
    let host_pid = ctx.state(&created.id).pid();
    let status = std::fs::read_to_string(format!("/proc/{host_pid}/status")).unwrap();
    let pid = status
        .lines()
        .find_map(|l| l.strip_prefix("NSpid:"))
        .and_then(|ids| ids.split_whitespace().last())
        .expect("NSpid in /proc/PID/status")
        .to_string();
    let environ = format!("/proc/{pid}/environ");
    let out = ctx.rt(&["exec", &attacker.id, PROBE, "access", &environ]);
    let lines = json_lines(&out.ok().stdout);
    let r = access_of(&lines[0], &environ);
    assert_eq!(
        r["exists"], true,
        "the created process in the attacker's /proc: {r}"
    );
    assert_ne!(
        r["read"], "ok",
        "the created container's process is dumpable: another container in its pid namespace \
         opens its {environ}: {r}"
    );
}

// ------------------------------------------------------------------------ CVE-2024-21626

/// Checks a run or exec whose working directory was `/proc/self/fd/N`: refused, or inside the
/// container (`..` from it does not reach the host's secret). True when skipped for runc.
#[track_caller]
fn refused_or_inside(out: &Output, escape: &str, what: &str) -> bool {
    if !out.success() {
        let error = out.one_line_error();
        assert!(
            error.contains("process.cwd") || is_runc(),
            "{what}: the error should name process.cwd: {error}"
        );
        return false;
    }
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 2, "{what}: {}", out.stdout);
    let escaped = access_of(&lines[0], escape)["exists"] == true;
    if escaped
        && skip_for_runc(
            "runc 1.1.5 leaks a host directory fd into the container: a working directory \
             /proc/self/fd/N is on the host (CVE-2024-21626, fixed in runc 1.1.12)",
        )
    {
        return true;
    }
    assert!(
        !escaped,
        "CVE-2024-21626: with {what} the working directory ({}) is outside the container: a \
         host file is readable through `..`: {}",
        lines[1]["cwd"], lines[0]
    );
    false
}

/// `process.cwd` and `exec --cwd` set to `/proc/self/fd/N` for N in 3..=10 are refused or
/// end inside the container, never in a directory of the host.
#[test]
fn cve_2024_21626_working_directory_through_a_leaked_fd() {
    let ctx = Ctx::new("cve-2024-21626-cwd");
    let secret = ctx.dir().join("host-secret.txt");
    std::fs::write(&secret, "host secret").unwrap();
    let escape = climb_to(&secret);
    let calls: &[&[&str]] = &[&["access", &escape], &[]];
    for n in LEAK_CANDIDATES {
        let cwd = format!("/proc/self/fd/{n}");
        let spec = edit(&probes_spec(calls), |v| v["process"]["cwd"] = json!(cwd));
        let out = ctx.run(&ctx.bundle(&spec)).1;
        if refused_or_inside(&out, &escape, &format!("process.cwd {cwd}")) {
            return;
        }
    }
    let c = ctx.start_new(&probe_spec(&["sleep", "30"]));
    let command = probes_spec(calls)
        .process()
        .clone()
        .unwrap()
        .args()
        .clone()
        .unwrap();
    for n in LEAK_CANDIDATES {
        let cwd = format!("/proc/self/fd/{n}");
        let mut args = vec!["exec", "--cwd", &cwd, &c.id];
        args.extend(command.iter().map(String::as_str));
        if refused_or_inside(&ctx.rt(&args), &escape, &format!("exec --cwd {cwd}")) {
            return;
        }
    }
}

/// A program named through `/proc/self/fd/N/../..` (N in 3..=10), for `run` and `exec`, never
/// runs a program of the host (a copy of the probe that only the host has).
#[test]
fn cve_2024_21626_program_path_through_a_leaked_fd() {
    let ctx = Ctx::new("cve-2024-21626-exe");
    let host_program = ctx.mkdir("host-only").join("host-probe");
    std::fs::copy(bundle_fixtures::probe_path().unwrap(), &host_program).unwrap();
    let through = |n: u32| format!("/proc/self/fd/{n}/{}", climb_to(&host_program));
    let check = |out: Output, what: &str| -> bool {
        let ran = !json_lines(&out.stdout).is_empty();
        if ran
            && skip_for_runc(
                "runc 1.1.5 leaks a host directory fd into the container: a program path \
                 through /proc/self/fd/N runs a host binary (CVE-2024-21626, fixed in 1.1.12)",
            )
        {
            return true;
        }
        assert!(
            !ran,
            "CVE-2024-21626: {what} ran a program of the host: {}",
            out.stdout
        );
        out.failed();
        false
    };
    for n in LEAK_CANDIDATES {
        let program = through(n);
        let bundle = ctx.bundle(&bundle_fixtures::base_spec(&[&program]));
        if check(ctx.run(&bundle).1, &format!("process.args[0] {program}")) {
            return;
        }
    }
    let c = ctx.start_new(&probe_spec(&["sleep", "30"]));
    for n in LEAK_CANDIDATES {
        let program = through(n);
        if check(
            ctx.rt(&["exec", &c.id, &program]),
            &format!("exec {program}"),
        ) {
            return;
        }
    }
}

/// With a terminal the process holds its pty on 0, 1 and 2 and no other fd, for `run` and
/// `exec -t`.
#[test]
fn cve_2024_21626_only_the_terminal_with_a_terminal() {
    let ctx = Ctx::new("cve-2024-21626-tty");
    let only_the_pty = |out: Output, what: &str| {
        let lines = terminal_json_lines(&out);
        let r = lines
            .first()
            .unwrap_or_else(|| panic!("{what}: no report on the terminal: {}", out.stdout));
        assert_eq!(fd_numbers(r), [0, 1, 2], "{what}: fds {}", r["fds"]);
        for fd in ["0", "1", "2"] {
            let target = r["fds"][fd].as_str().unwrap_or_default();
            assert!(
                target.starts_with("/dev/pts/"),
                "{what}: fd {fd} is {target}"
            );
        }
    };
    let spec = edit(&probe_spec(&[]), |v| v["process"]["terminal"] = json!(true));
    only_the_pty(run_in_terminal(&ctx, &spec), "run with a terminal");
    let c = ctx.start_new(&probe_spec(&["sleep", "30"]));
    let exec = ctx
        .cmd(&["exec", "-t", &c.id, PROBE])
        .in_terminal()
        .output();
    only_the_pty(exec, "exec -t");
}

// ------------------------------------------------------------------------ CVE-2021-30465

/// Binds a volume read-only at eight destinations while a helper swaps each destination
/// directory with a symlink to a host directory (`renameat2(RENAME_EXCHANGE)`, as fast as it
/// can, before and during every `create`, up to 24 of them). The host directory is a shared mount and the
/// container's propagation `rshared`, so a mount landing there in the container's namespace
/// would show up on the host: it must stay the only mount there, and empty. Inside, every bind
/// is in place and read-only, and the root (root.readonly false) is not.
#[test]
fn cve_2021_30465_mount_destination_swapped_for_a_symlink_during_create() {
    const PAIRS: usize = 8;
    let ctx = Ctx::new("cve-2021-30465");
    let target = ctx.dir().join("host-target");
    ctx.host_tmpfs(&target, true);
    let volume = ctx.mkdir("volume");
    std::fs::write(volume.join("from-the-volume"), "volume").unwrap();
    // Where the symlinks lead when resolved inside the rootfs, as a runtime must: a mount of
    // its own, so that a runtime looking a destination up again after mounting there finds a
    // mount to remount (read-only instead of the bind, which stays writable).
    let twin = json!({"destination": target, "type": "tmpfs", "source": "tmpfs"});
    let binds: Vec<Value> = std::iter::once(twin)
        .chain((0..PAIRS).map(|i| {
            json!({"destination": format!("/race/d{i}"), "type": "bind", "source": volume,
                   "options": ["bind", "ro"]})
        }))
        .collect();
    let spec = edit(&with_mounts(&probe_spec(&[]), json!(binds)), |v| {
        v["linux"]["rootfsPropagation"] = json!("rshared")
    });
    let bundle = ctx.bundle(&spec);
    let rootfs = bundle.join("rootfs");
    let race = rootfs.join("race");
    for i in 0..PAIRS {
        std::fs::create_dir_all(race.join(format!("d{i}"))).unwrap();
        symlink(&target, race.join(format!("l{i}"))).unwrap();
    }

    let swapper = Swapper::start(&race, PAIRS);
    let per_mount = |m: &Value, option: &str| {
        m["mount_options"]
            .as_array()
            .is_some_and(|o| o.contains(&json!(option)))
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    let (mut runs, mut check_flags) = (0, true);
    while runs < 24 && Instant::now() < deadline {
        let out = ctx.run(&bundle).1;
        runs += 1;
        assert_eq!(
            mounts_under(&target),
            std::slice::from_ref(&target),
            "CVE-2021-30465: a mount landed on the host directory the symlinks point to"
        );
        let entries: Vec<_> = std::fs::read_dir(&target).unwrap().flatten().collect();
        assert!(entries.is_empty(), "the host directory got {entries:?}");
        if !out.success() {
            // Refusing a destination that changed under it is fine.
            out.one_line_error();
            continue;
        }
        let r = out.json();
        let volume_mounts: Vec<&Value> = r["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| Path::new(m["root"].as_str().unwrap_or_default()) == volume)
            .collect();
        assert_eq!(
            volume_mounts.len(),
            PAIRS,
            "the binds inside: {volume_mounts:?}"
        );
        let writable: Vec<&&Value> = volume_mounts
            .iter()
            .filter(|m| !per_mount(m, "ro"))
            .collect();
        let root = mount_at(&r, "/").expect("a mount at /");
        if check_flags
            && (!writable.is_empty() || !per_mount(root, "rw"))
            && skip_for_runc(
                "runc 1.1.5 makes a bind read-only by a remount that looks the destination up \
                 again: a swap in between leaves the `ro` bind writable (the checks that \
                 nothing lands outside the rootfs go on)",
            )
        {
            check_flags = false;
        }
        if check_flags {
            assert!(
                writable.is_empty(),
                "read-only binds are writable inside: {writable:?}"
            );
            assert!(per_mount(root, "rw"), "the root became read-only: {root}");
        }
    }
    assert!(
        swapper.finish() > 0,
        "the helper never swapped a destination"
    );
}

/// The helper thread swapping the destinations; stopped and joined when dropped, also when the
/// test fails (before the test dir, which it renames in, is removed).
struct Swapper {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<u64>>,
}

impl Swapper {
    fn start(race: &Path, pairs: usize) -> Swapper {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (stop, race) = (stop.clone(), race.to_path_buf());
            std::thread::spawn(move || swap_until(&race, pairs, &stop))
        };
        Swapper {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops the helper; how many swaps it made.
    fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        let thread = self.thread.take().expect("running");
        thread.join().expect("the swapping thread")
    }
}

impl Drop for Swapper {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Swaps `race/dI` and `race/lI` for every I below `pairs` until `stop` (at most 20 s);
/// returns how many swaps succeeded.
fn swap_until(race: &Path, pairs: usize, stop: &AtomicBool) -> u64 {
    use nix::fcntl::{renameat2, RenameFlags};
    let dir = std::fs::File::open(race).unwrap();
    let names: Vec<(String, String)> = (0..pairs)
        .map(|i| (format!("d{i}"), format!("l{i}")))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut swaps = 0;
    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
        for (d, l) in &names {
            if renameat2(
                &dir,
                d.as_str(),
                &dir,
                l.as_str(),
                RenameFlags::RENAME_EXCHANGE,
            )
            .is_ok()
            {
                swaps += 1;
            }
        }
    }
    swaps
}

// ------------------------------------------------------------------------ CVE-2025-31133 / 52565

const VICTIM_DATA: &str = "host data behind a symlink of the image";

/// A file of the host bound at /victim: what the symlinks of the image aim at (in an attack, a
/// procfs file such as /proc/sys/kernel/core_pattern).
fn victim(ctx: &Ctx) -> (PathBuf, Value) {
    let path = ctx.dir().join("victim.txt");
    std::fs::write(&path, VICTIM_DATA).unwrap();
    let mount = json!({"destination": "/victim", "type": "bind", "source": path,
                       "options": ["bind"]});
    (path, mount)
}

/// `spec` with /dev a directory of the image (bound from the test dir, so the runtime makes no
/// device nodes there) holding `ptmx -> pts/ptmx` and the symlinks `links` (name, target).
fn with_image_dev(ctx: &Ctx, spec: &Spec, links: &[(&str, &str)]) -> Spec {
    let dev = ctx.mkdir("image-dev");
    symlink("pts/ptmx", dev.join("ptmx")).unwrap();
    for (name, target) in links {
        symlink(target, dev.join(name)).unwrap();
    }
    edit(spec, |v| {
        for m in v["mounts"].as_array_mut().unwrap() {
            if m["destination"] == "/dev" {
                *m = json!({"destination": "/dev", "type": "bind", "source": dev,
                            "options": ["bind"]});
            }
        }
    })
}

/// The image's /dev/null is a symlink to a host file, and one masked path is a symlink to it
/// too. A masked file must be the host's /dev/null, not the container's (which would make each
/// masked path an alias of the symlink's target, core_pattern in the real attack): the
/// container writes into its masked paths and reads them; the reads give nothing, the host
/// file and the image's masked file stay unchanged, the masked directory refuses new files.
#[test]
fn cve_2025_31133_dev_null_symlink_cannot_unmask() {
    let ctx = Ctx::new("cve-2025-31133");
    let (host_file, victim_mount) = victim(&ctx);
    let script = format!(
        "echo pwned > /masked-file; echo pwned > /masked-link; \
         {PROBE} access /masked-file /masked-link /masked-dir && {PROBE} touch /masked-dir/new"
    );
    let spec = edit(
        &with_image_dev(
            &ctx,
            &with_mounts(&sh_spec(&script), json!([victim_mount])),
            &[("null", "/victim")],
        ),
        |v| {
            let masked = v["linux"]["maskedPaths"].as_array_mut().unwrap();
            masked.extend([
                json!("/masked-file"),
                json!("/masked-link"),
                json!("/masked-dir"),
            ]);
        },
    );
    let bundle = ctx.bundle(&spec);
    let rootfs = bundle.join("rootfs");
    std::fs::write(rootfs.join("masked-file"), "image secret").unwrap();
    symlink("/victim", rootfs.join("masked-link")).unwrap();
    std::fs::create_dir(rootfs.join("masked-dir")).unwrap();
    std::fs::write(rootfs.join("masked-dir/inside"), "image secret").unwrap();

    let out = ctx.run(&bundle).1;
    let lines = json_lines(&out.ok().stdout);
    let (access, touch) = (&lines[0], &lines[1]);
    let now = std::fs::read_to_string(&host_file).unwrap();
    let aliased = now != VICTIM_DATA || access_of(access, "/masked-file")["read_bytes"] != 0;
    if aliased
        && skip_for_runc(
            "runc 1.1.5 masks files with the container's /dev/null, here a symlink: a masked \
             path is the host file it points to, read and written through the mask \
             (CVE-2025-31133, fixed in runc 1.2.8)",
        )
    {
        return;
    }
    assert_eq!(
        now, VICTIM_DATA,
        "CVE-2025-31133: a write into a masked path reached the host file"
    );
    assert_eq!(
        std::fs::read_to_string(rootfs.join("masked-file")).unwrap(),
        "image secret"
    );
    for path in ["/masked-file", "/masked-link"] {
        assert_eq!(access_of(access, path)["read_bytes"], 0, "{path}: {access}");
    }
    assert_eq!(access_of(access, "/masked-dir")["entries"], 0, "{access}");
    assert_eq!(touch["/masked-dir/new"], "EROFS", "{touch}");
}

/// The image's /dev/console is a symlink to a host file. The runtime neither opens nor binds
/// the terminal through it: the host file is unchanged after the process wrote to its console,
/// /victim still reads as that file (not a terminal), and /dev/console is the terminal.
#[test]
fn cve_2025_52565_dev_console_symlink_is_not_followed() {
    let ctx = Ctx::new("cve-2025-52565");
    let (host_file, victim_mount) = victim(&ctx);
    let script = format!("echo pwned > /dev/console; {PROBE} access /dev/console /victim");
    let spec = edit(
        &with_image_dev(
            &ctx,
            &with_mounts(&sh_spec(&script), json!([victim_mount])),
            &[("console", "/victim")],
        ),
        |v| v["process"]["terminal"] = json!(true),
    );
    let out = run_in_terminal(&ctx, &spec);
    let now = std::fs::read_to_string(&host_file).unwrap();
    if now != VICTIM_DATA
        && skip_for_runc(
            "runc 1.1.5 creates /dev/console through the image's symlink and truncates the \
             host file it points to (CVE-2025-52565, fixed in runc 1.2.8)",
        )
    {
        return;
    }
    assert_eq!(
        now, VICTIM_DATA,
        "CVE-2025-52565: the host file behind the /dev/console symlink changed"
    );
    let lines = terminal_json_lines(&out);
    let access = lines
        .first()
        .unwrap_or_else(|| panic!("no report on the terminal: {}", out.stdout));
    let victim = access_of(access, "/victim");
    if victim["target_type"] != "file"
        && skip_for_runc(
            "runc 1.1.5 follows a /dev/console symlink of the image and binds the terminal over \
             its target (CVE-2025-52565, fixed in runc 1.2.8)",
        )
    {
        return;
    }
    assert_eq!(
        victim["target_type"], "file",
        "the symlink's target was covered: {victim}"
    );
    assert_eq!(victim["read_bytes"], VICTIM_DATA.len(), "{victim}");
    let console = access_of(access, "/dev/console");
    assert_eq!(console["target_type"], "char", "{console}");
    assert!(
        console["rdev"]
            .as_str()
            .unwrap_or_default()
            .starts_with("136:"),
        "/dev/console is the terminal: {console}"
    );
}

// ------------------------------------------------------------------------ CVE-2019-16884 / 2025-52881

/// `linux.sysctl` (a netns-scoped one) and `process.oomScoreAdj` with something else than
/// procfs at the container's /proc: a tmpfs mounted after the proc mount, a directory of fake
/// proc files (with `self` a symlink, as in procfs) bound there, and a tmpfs before the proc
/// mount. Each create either fails with a one-line error or takes effect in the real procfs, as
/// the host reads it through /proc/PID; the fake files are never written.
#[test]
fn cve_2019_16884_procfs_writes_reach_the_real_procfs() {
    const PORT_SYSCTL: &str = "net/ipv4/ip_unprivileged_port_start";
    let ctx = Ctx::new("cve-2019-16884");
    let fake = ctx.mkdir("fake-proc");
    std::fs::create_dir_all(fake.join("sys/net/ipv4")).unwrap();
    std::fs::write(fake.join("sys").join(PORT_SYSCTL), "1024\n").unwrap();
    std::fs::create_dir(fake.join("1")).unwrap();
    std::fs::write(fake.join("1/oom_score_adj"), "0\n").unwrap();
    symlink("1", fake.join("self")).unwrap();
    let tmpfs = json!({"destination": "/proc", "type": "tmpfs", "source": "tmpfs"});
    let fake_files = json!({"destination": "/proc", "type": "bind", "source": fake,
                            "options": ["rbind"]});
    for (what, mount, before_proc) in [
        (
            "a tmpfs over /proc after the proc mount",
            tmpfs.clone(),
            false,
        ),
        ("fake proc files bound over /proc", fake_files, false),
        ("a tmpfs at /proc before the proc mount", tmpfs, true),
    ] {
        let spec = edit(&probe_spec(&["sleep", "30"]), |v| {
            // They only hide or freeze parts of a procfs, which /proc is not here (and a
            // read-only /proc/sys would stop a misdirected write with an error).
            v["linux"]["maskedPaths"] = json!([]);
            v["linux"]["readonlyPaths"] = json!([]);
            v["process"]["oomScoreAdj"] = json!(421);
            v["linux"]["sysctl"] = json!({"net.ipv4.ip_unprivileged_port_start": "555"});
            let mounts = v["mounts"].as_array_mut().unwrap();
            mounts.insert(if before_proc { 0 } else { mounts.len() }, mount);
        });
        let (id, out) = ctx.try_create(&ctx.bundle(&spec));
        if !out.success() {
            out.one_line_error();
            continue;
        }
        let pid = ctx.state(&id).pid();
        let oom = std::fs::read_to_string(format!("/proc/{pid}/oom_score_adj")).unwrap();
        assert_eq!(
            oom.trim(),
            "421",
            "{what}: oomScoreAdj did not reach the process"
        );
        let sysctl = std::process::Command::new("nsenter")
            .arg(format!("--net=/proc/{pid}/ns/net"))
            .args(["cat", &format!("/proc/sys/{PORT_SYSCTL}")])
            .output()
            .expect("run nsenter");
        assert_eq!(
            String::from_utf8_lossy(&sysctl.stdout).trim(),
            "555",
            "{what}: the sysctl did not reach the container's network namespace"
        );
        ctx.rt(&["delete", "--force", &id]).ok();
    }
    assert_eq!(
        std::fs::read_to_string(fake.join("1/oom_score_adj")).unwrap(),
        "0\n"
    );
    assert_eq!(
        std::fs::read_to_string(fake.join("sys").join(PORT_SYSCTL)).unwrap(),
        "1024\n"
    );
}
