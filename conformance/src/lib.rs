//! Shared helpers for berth's spec-driven conformance suite (`conformance/tests/`).
//!
//! The suite drives a runc-compatible runtime BINARY, chosen by `$RUNTIME` (default: the
//! workspace's `target/x86_64-unknown-linux-gnu/release/berth`, else `target/release/berth`),
//! against fixture bundles from `bundle-fixtures`, and asserts from inside (the
//! `berth-probe` JSON report) and from outside (host `/proc`, mountinfo, the state dir).
//!
//! Every test makes one [`Ctx`]: a private temp dir holding its `--root`, bundles and captured
//! stdio, and the ids it hands out. Dropping the `Ctx` (also when the test panics) runs
//! `delete --force` on every id, kills the helper processes the test started (by pid), then —
//! unless the test is already failing — checks for leaks and fails the test if it finds any:
//! a mount under the temp dir, a state dir left under `--root`, a container pid still alive
//! (a zombie counts as gone: it is dead, and reaping it is its parent's job), or a cgroup
//! directory named after one of its ids or cgroupsPaths ([`Ctx::new_cgroups_path`]). Leaked mounts and cgroups are removed before the temp
//! dir is, so a failing test does not leave the machine dirty (and never deletes through a
//! leaked bind mount).

use anyhow::{bail, Context as _, Result};
use oci_spec::runtime::{ContainerState, Spec, State};
use serde_json::Value;
use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

pub use bundle_fixtures::PROBE_IN_ROOTFS as PROBE;
pub use cgroup::*;

pub mod cgroup;
pub mod netns;

/// How many fds [`Cmd::extra_fds`] can pass.
pub const MAX_EXTRA_FDS: usize = 8;

/// How long one runtime invocation may take before the test fails (and the process is killed).
pub const CMD_TIMEOUT: Duration = Duration::from_secs(30);

// ------------------------------------------------------------------------------------ runtime

/// The runtime binary under test: `$RUNTIME`, else the workspace's built berth.
pub fn runtime() -> &'static Path {
    static RUNTIME: OnceLock<PathBuf> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        let path = match std::env::var_os("RUNTIME") {
            Some(p) => PathBuf::from(p),
            None => berth().to_path_buf(),
        };
        assert!(path.is_file(), "RUNTIME={} does not exist", path.display());
        note(&format!("conformance: RUNTIME={}", path.display()));
        path
    })
}

/// The berth binary, whatever runtime is under test (its network hooks work under any
/// runtime): `$BERTH`, else the workspace's build.
pub fn berth() -> &'static Path {
    static BERTH: OnceLock<PathBuf> = OnceLock::new();
    BERTH.get_or_init(|| {
        if let Some(path) = std::env::var_os("BERTH") {
            return PathBuf::from(path);
        }
        let target = bundle_fixtures::workspace_root().join("target");
        let candidates = [
            target.join("x86_64-unknown-linux-gnu/release/berth"),
            target.join("release/berth"),
        ];
        candidates
            .iter()
            .find(|c| c.is_file())
            .cloned()
            .unwrap_or_else(|| {
                panic!(
                    "berth is not built ({} missing); run `make build`, or set RUNTIME=/usr/sbin/runc \
                     to run the suite against runc",
                    candidates[0].display()
                )
            })
    })
}

/// True when the runtime under test is runc (its file name is `runc`).
pub fn is_runc() -> bool {
    runtime().file_name().is_some_and(|n| n == "runc")
}

/// Returns true (and says why) when the runtime is runc and runc is known to deviate from the
/// spec here; the test then returns early. Every other runtime, berth first, is held to it.
pub fn skip_for_runc(reason: &str) -> bool {
    if is_runc() {
        note(&format!("SKIP for runc: {reason}"));
    }
    is_runc()
}

/// Writes a line straight to stderr, past the test harness's output capture, so that skips
/// show up in a normal `cargo test` run.
pub fn note(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

// ------------------------------------------------------------------------------------ specs

/// The fixture base spec running the probe with `args` (e.g. `&["access", "/dev/null"]`).
pub fn probe_spec(args: &[&str]) -> Spec {
    let mut full = vec![PROBE];
    full.extend_from_slice(args);
    bundle_fixtures::base_spec(&full)
}

/// The fixture base spec running `/bin/sh -c script`.
pub fn sh_spec(script: &str) -> Spec {
    bundle_fixtures::base_spec(&["/bin/sh", "-c", script])
}

/// The fixture base spec running several probe invocations in a row (`sh -c 'p1 && p2'`),
/// e.g. `probes_spec(&[&["access", "/x"], &[]])` for an access check and a full report.
pub fn probes_spec(calls: &[&[&str]]) -> Spec {
    let script = calls
        .iter()
        .map(|args| {
            std::iter::once(PROBE)
                .chain(args.iter().copied())
                .map(sh_quote)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join(" && ");
    sh_spec(&script)
}

/// Quotes `s` for /bin/sh.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Edits a spec through its JSON form: handy for fields the oci-spec builders make verbose
/// and for configs oci-spec itself would refuse to represent.
pub fn edit_json(spec: &Spec, f: impl FnOnce(&mut Value)) -> Value {
    let mut v = serde_json::to_value(spec).expect("spec serializes");
    f(&mut v);
    v
}

/// Converts an edited JSON config back into a [`Spec`] (panics if oci-spec rejects it).
pub fn from_json(v: Value) -> Spec {
    serde_json::from_value(v).expect("edited config is still a valid oci-spec Spec")
}

/// [`edit_json`] then [`from_json`]: `edit(&spec, |v| v["hostname"] = "h".into())`.
pub fn edit(spec: &Spec, f: impl FnOnce(&mut Value)) -> Spec {
    from_json(edit_json(spec, f))
}

/// Appends `mounts` (a JSON array of mount objects) to the spec's mounts.
pub fn with_mounts(spec: &Spec, mounts: Value) -> Spec {
    edit(spec, |v| {
        let list = v["mounts"].as_array_mut().expect("mounts array");
        list.extend(
            mounts
                .as_array()
                .expect("a JSON array of mounts")
                .iter()
                .cloned(),
        );
    })
}

/// Adds `capability` to the bounding, effective and permitted sets of the spec's process.
pub fn with_capability(spec: &Spec, capability: &str) -> Spec {
    edit(spec, |v| {
        for set in ["bounding", "effective", "permitted"] {
            let list = v["process"]["capabilities"][set].as_array_mut();
            list.expect("a capability set").push(capability.into());
        }
    })
}

// ------------------------------------------------------------------------------------ output

/// What one runtime invocation did.
#[derive(Debug)]
pub struct Output {
    pub cmdline: String,
    /// Exit code, or None when killed by a signal.
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// Files stdout/stderr went to (a `create`d container keeps writing there).
    pub stdout_path: PathBuf,
    pub stderr_path: PathBuf,
}

impl Output {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// The command line, its exit and its output, for assertion messages.
    pub fn describe(&self) -> String {
        format!(
            "`{}` -> code {:?} signal {:?}\n--- stdout:\n{}\n--- stderr:\n{}",
            self.cmdline, self.code, self.signal, self.stdout, self.stderr
        )
    }

    /// Asserts exit status 0.
    #[track_caller]
    pub fn ok(&self) -> &Self {
        assert!(self.success(), "expected success: {}", self.describe());
        self
    }

    /// Asserts a non-zero exit (not a crash by signal).
    #[track_caller]
    pub fn failed(&self) -> &Self {
        assert!(
            matches!(self.code, Some(c) if c != 0),
            "expected a non-zero exit: {}",
            self.describe()
        );
        self
    }

    /// Asserts the exit code.
    #[track_caller]
    pub fn code_is(&self, code: i32) -> &Self {
        assert_eq!(self.code, Some(code), "exit code: {}", self.describe());
        self
    }

    /// Asserts a failure whose stderr is exactly one non-empty line, and returns that line.
    #[track_caller]
    pub fn one_line_error(&self) -> &str {
        self.failed();
        let text = self.stderr.trim();
        assert!(
            !text.is_empty(),
            "expected an error message: {}",
            self.describe()
        );
        assert_eq!(
            text.lines().count(),
            1,
            "expected a ONE-line error: {}",
            self.describe()
        );
        text
    }

    /// Asserts stderr contains `needle`.
    #[track_caller]
    pub fn stderr_has(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "stderr should contain {needle:?}: {}",
            self.describe()
        );
        self
    }

    /// Asserts the error names `field` (berth's errors name the config field at fault). runc's
    /// wording often does not: then, for runc only, it prints `runc_wording` as a skip.
    #[track_caller]
    pub fn error_names_field(&self, field: &str, runc_wording: &str) -> &Self {
        if !self.stderr.contains(field)
            && skip_for_runc(&format!(
                "its error does not name `{field}`: {runc_wording}"
            ))
        {
            return self;
        }
        self.stderr_has(field)
    }

    /// Parses stdout as one JSON value (asserts success first).
    #[track_caller]
    pub fn json(&self) -> Value {
        self.ok();
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.describe()))
    }
}

// ------------------------------------------------------------------------------------ commands

/// A runtime invocation being built: `ctx.cmd(&["run", id]).stdin(b"x").output()`.
pub struct Cmd<'a> {
    ctx: &'a Ctx,
    global: Vec<String>,
    args: Vec<String>,
    stdin: Option<Vec<u8>>,
    extra_fds: Vec<OwnedFd>,
    listen_fds: bool,
    env: Vec<(String, String)>,
    cwd: Option<PathBuf>,
    umask: Option<u32>,
    user: Option<(u32, u32)>,
    oom_score_adj: Option<i32>,
    in_terminal: bool,
    timeout: Duration,
}

impl<'a> Cmd<'a> {
    /// Global flags placed before the subcommand (after `--root`), e.g. `--log FILE`.
    pub fn global(mut self, flags: &[&str]) -> Self {
        self.global.extend(flags.iter().map(|s| s.to_string()));
        self
    }

    /// Feeds `data` on stdin (default: /dev/null).
    pub fn stdin(mut self, data: &[u8]) -> Self {
        self.stdin = Some(data.to_vec());
        self
    }

    /// Passes `fds` to the runtime as fds 3, 4, ...
    pub fn extra_fds(mut self, fds: Vec<OwnedFd>) -> Self {
        self.extra_fds = fds;
        self
    }

    /// Runs the runtime with `LISTEN_FDS=<number of extra fds>` and `LISTEN_PID=<its own pid>`
    /// (systemd socket activation).
    pub fn listen_fds(mut self) -> Self {
        self.listen_fds = true;
        self
    }

    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.env.push((k.into(), v.into()));
        self
    }

    pub fn cwd(mut self, dir: &Path) -> Self {
        self.cwd = Some(dir.to_path_buf());
        self
    }

    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }

    /// Runs the runtime with this umask (the test process's own umask is shared by all tests).
    pub fn umask(mut self, mask: u32) -> Self {
        self.umask = Some(mask);
        self
    }

    /// Runs the runtime on a pseudo-terminal of its own, its controlling terminal (through
    /// util-linux `script`), as an interactive `run`/`exec` with a terminal is run; stdin data
    /// is typed into it and stdout holds everything the terminal showed, stderr included.
    pub fn in_terminal(mut self) -> Self {
        self.in_terminal = true;
        self
    }

    /// Runs the runtime as this unprivileged uid and gid, without supplementary groups.
    pub fn as_user(mut self, uid: u32, gid: u32) -> Self {
        self.user = Some((uid, gid));
        self
    }

    /// Runs the runtime with this /proc/self/oom_score_adj.
    pub fn oom_score_adj(mut self, adj: i32) -> Self {
        self.oom_score_adj = Some(adj);
        self
    }

    /// Runs to completion (killing it after the timeout) and captures its stdio via files.
    pub fn output(self) -> Output {
        let n = self.ctx.next();
        let io = self.ctx.dir.join("io");
        std::fs::create_dir_all(&io).expect("create io dir");
        let stdout_path = io.join(format!("{n}.out"));
        let stderr_path = io.join(format!("{n}.err"));
        let mut full: Vec<String> = vec!["--root".into(), self.ctx.root.display().to_string()];
        full.extend(self.global);
        full.extend(self.args);
        let cmdline = format!("{} {}", runtime().display(), full.join(" "));

        let mut c = if self.in_terminal {
            let quoted: Vec<String> = std::iter::once(runtime().display().to_string())
                .chain(full.iter().cloned())
                .map(|a| sh_quote(&a))
                .collect();
            let mut c = Command::new("script");
            c.args(["-qec", &quoted.join(" "), "/dev/null"]);
            c
        } else if self.listen_fds {
            // exec keeps the shell's pid, so $$ is the runtime's own pid.
            let mut c = Command::new("/bin/sh");
            c.arg("-c")
                .arg(r#"LISTEN_PID=$$ exec "$@""#)
                .arg("sh")
                .arg(runtime());
            c
        } else {
            Command::new(runtime())
        };
        if !self.in_terminal {
            c.args(&full);
        }
        c.env_remove("LISTEN_FDS")
            .env_remove("LISTEN_PID")
            .env_remove("NOTIFY_SOCKET");
        if self.listen_fds {
            c.env("LISTEN_FDS", self.extra_fds.len().to_string());
        }
        for (k, v) in &self.env {
            c.env(k, v);
        }
        if let Some(d) = &self.cwd {
            c.current_dir(d);
        }
        c.stdin(match &self.stdin {
            Some(data) => {
                let p = io.join(format!("{n}.in"));
                std::fs::write(&p, data).expect("write stdin file");
                Stdio::from(File::open(&p).expect("open stdin file"))
            }
            // On a terminal, an end of input becomes a character typed into it (script sends
            // its EOF character, a NUL in raw mode, which the container's tty echoes as "^@"):
            // stdin stays open until the runtime exits.
            None if self.in_terminal => Stdio::piped(),
            None => Stdio::null(),
        });
        c.stdout(File::create(&stdout_path).expect("create stdout file"));
        c.stderr(File::create(&stderr_path).expect("create stderr file"));
        let raw: Vec<i32> = self.extra_fds.iter().map(|f| f.as_raw_fd()).collect();
        assert!(
            raw.len() <= MAX_EXTRA_FDS,
            "at most {MAX_EXTRA_FDS} extra fds"
        );
        let umask = self.umask;
        let user = self.user;
        let oom = self.oom_score_adj.map(|a| a.to_string().into_bytes());
        // SAFETY: only async-signal-safe calls (fcntl, dup2, umask, open, write, close,
        // setgroups, setresgid, setresuid) run between fork and exec, on data prepared before
        // the fork.
        unsafe {
            c.pre_exec(move || {
                if let Some(m) = umask {
                    libc::umask(m as libc::mode_t);
                }
                if let Some(bytes) = &oom {
                    let fd = libc::open(c"/proc/self/oom_score_adj".as_ptr(), libc::O_WRONLY);
                    if fd < 0 || libc::write(fd, bytes.as_ptr().cast(), bytes.len()) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    libc::close(fd);
                }
                // Move the fds out of the way first, so that dup2 to 3.. never clobbers one.
                // (No allocation here: the parent may have other threads holding malloc locks.)
                let mut high = [0i32; MAX_EXTRA_FDS];
                for (i, &fd) in raw.iter().enumerate() {
                    high[i] = libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 200);
                    if high[i] < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                for (i, &h) in high[..raw.len()].iter().enumerate() {
                    if libc::dup2(h, 3 + i as i32) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                // Last: the steps above may need root.
                if let Some((uid, gid)) = user {
                    if libc::setgroups(0, std::ptr::null()) < 0
                        || libc::setresgid(gid, gid, gid) < 0
                        || libc::setresuid(uid, uid, uid) < 0
                    {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
        let mut child = c
            .spawn()
            .unwrap_or_else(|e| panic!("spawning `{cmdline}`: {e}"));
        drop(self.extra_fds);
        let _open_stdin = child.stdin.take();
        let status =
            wait_child(&mut child, self.timeout).unwrap_or_else(|e| panic!("`{cmdline}`: {e:#}"));
        Output {
            cmdline,
            code: status.code(),
            signal: status.signal(),
            stdout: std::fs::read_to_string(&stdout_path).unwrap_or_default(),
            stderr: std::fs::read_to_string(&stderr_path).unwrap_or_default(),
            stdout_path,
            stderr_path,
        }
    }
}

/// Waits for `child`, killing it (by its pid) and failing after `timeout`.
fn wait_child(child: &mut Child, timeout: Duration) -> Result<std::process::ExitStatus> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(st) = child.try_wait()? {
            return Ok(st);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("timed out after {timeout:?}; killed pid {}", child.id());
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// Polls `cond` until it holds; panics with `what` after `timeout`.
#[track_caller]
pub fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(1);
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(25));
    }
}

// ------------------------------------------------------------------------------------ state

/// `state` output: strictly typed (oci-spec [`State`]) plus the raw JSON for extra fields.
#[derive(Debug)]
pub struct StateInfo {
    pub state: State,
    pub raw: Value,
}

impl StateInfo {
    pub fn status(&self) -> ContainerState {
        *self.state.status()
    }

    pub fn pid(&self) -> i32 {
        self.state.pid().unwrap_or(0)
    }
}

/// Parses and validates a state object: the spec's required fields with their JSON types, and
/// the fields runc adds (`rootfs`, `created` in RFC 3339, `owner`).
pub fn parse_state(raw: Value) -> Result<StateInfo> {
    let obj = raw.as_object().context("state is not a JSON object")?;
    for key in [
        "ociVersion",
        "id",
        "status",
        "bundle",
        "rootfs",
        "created",
        "owner",
    ] {
        if !obj.get(key).is_some_and(Value::is_string) {
            bail!("state field {key:?} missing or not a string in {raw}");
        }
    }
    let state: State = serde_json::from_value(raw.clone()).context("state does not parse")?;
    let live = matches!(
        state.status(),
        ContainerState::Created | ContainerState::Running
    );
    let pid = obj.get("pid").and_then(Value::as_i64).unwrap_or(0);
    if live && pid <= 0 {
        bail!("state of a created/running container needs a pid > 0: {raw}");
    }
    let version = state.version();
    if !version.starts_with("1.") {
        bail!("state ociVersion {version:?} is not a 1.x SemVer");
    }
    if !state.bundle().is_absolute() {
        bail!("state bundle {:?} is not absolute", state.bundle());
    }
    let created = obj["created"].as_str().unwrap_or_default();
    if !is_rfc3339(created) {
        bail!("state created {created:?} is not RFC 3339");
    }
    Ok(StateInfo { state, raw })
}

/// `YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)`.
pub fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    if b.len() < 20
        || !digits(0..4)
        || b[4] != b'-'
        || !digits(5..7)
        || b[7] != b'-'
        || !digits(8..10)
        || !matches!(b[10], b'T' | b't')
        || !digits(11..13)
        || b[13] != b':'
        || !digits(14..16)
        || b[16] != b':'
        || !digits(17..19)
    {
        return false;
    }
    let mut i = 19;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    match &b[i..] {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => [h1, h2, m1, m2].iter().all(|d| d.is_ascii_digit()),
        _ => false,
    }
}

// ------------------------------------------------------------------------------------ ctx

/// A container made by [`Ctx::create`]: its id, bundle and the files its stdio goes to.
#[derive(Debug, Clone)]
pub struct Container {
    pub id: String,
    pub bundle: PathBuf,
    pub stdout: PathBuf,
    pub stderr: PathBuf,
}

impl Container {
    /// What the container process has written to stdout so far.
    pub fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    /// The JSON lines it printed so far (lines that are not JSON are skipped).
    pub fn json_lines(&self) -> Vec<Value> {
        json_lines(&self.stdout())
    }

    /// Waits until the container has printed `n` JSON lines (the probe's `signals` prints
    /// `{"ready":true}` first) and returns them.
    #[track_caller]
    pub fn wait_json_lines(&self, n: usize) -> Vec<Value> {
        let mut lines = Vec::new();
        wait_for(
            &format!("{n} JSON lines from container {}", self.id),
            Duration::from_secs(10),
            || {
                lines = self.json_lines();
                lines.len() >= n
            },
        );
        lines
    }
}

/// The lines of `text` that parse as JSON (a probe prints one JSON object per line).
pub fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// One test's sandbox; see the crate doc for what dropping it checks.
pub struct Ctx {
    name: String,
    dir: PathBuf,
    root: PathBuf,
    counter: AtomicU64,
    ids: Mutex<Vec<String>>,
    pids: Mutex<Vec<(i32, u64)>>,
    helpers: Mutex<Vec<Child>>,
    own_mounts: Mutex<Vec<PathBuf>>,
    cgroup_names: Mutex<Vec<String>>,
}

impl Ctx {
    /// A fresh sandbox for the test `name`.
    pub fn new(name: &str) -> Ctx {
        runtime();
        static SEQ: AtomicU64 = AtomicU64::new(0);
        // A fresh dir, never an old one reused (it could hold a leaked mount).
        let dir = loop {
            let seq = SEQ.fetch_add(1, Ordering::Relaxed);
            let dir = std::env::temp_dir()
                .join(format!("berth-conf-{name}-{}-{seq}", std::process::id()));
            match std::fs::create_dir(&dir) {
                Ok(()) => break dir,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => panic!("creating {}: {e}", dir.display()),
            }
        };
        let root = dir.join("state");
        std::fs::create_dir(&root).expect("create the --root dir");
        Ctx {
            name: name.to_string(),
            dir,
            root,
            counter: AtomicU64::new(0),
            ids: Mutex::new(Vec::new()),
            pids: Mutex::new(Vec::new()),
            helpers: Mutex::new(Vec::new()),
            own_mounts: Mutex::new(Vec::new()),
            cgroup_names: Mutex::new(Vec::new()),
        }
    }

    /// The test's private temp dir.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The `--root` every invocation gets.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn next(&self) -> u64 {
        self.counter.fetch_add(1, Ordering::Relaxed)
    }

    /// A unique container id, deleted (`delete --force`) when the test ends.
    pub fn new_id(&self) -> String {
        let id = format!(
            "berthc-{}-{}-{}",
            self.name.replace('_', "-"),
            std::process::id(),
            self.next()
        );
        self.ids.lock().unwrap().push(id.clone());
        id
    }

    /// A unique absolute `linux.cgroupsPath`, `/berthtest-<name>-<pid>-<n>`. Like an id, its
    /// name is part of the leak check: a cgroup directory with that name left in any hierarchy
    /// (also under a relative parent) fails the test.
    pub fn new_cgroups_path(&self) -> String {
        let name = format!(
            "berthtest-{}-{}-{}",
            self.name.replace('_', "-"),
            std::process::id(),
            self.next()
        );
        self.cgroup_names.lock().unwrap().push(name.clone());
        format!("/{name}")
    }

    /// A fresh systemd-driver `cgroupsPath` (`system.slice:berthtest:<name>`) and the scope unit
    /// it names (`berthtest-<name>.scope`), whose cgroup the leak check looks for.
    pub fn new_systemd_cgroups_path(&self) -> (String, String) {
        let name = self.new_cgroups_path();
        let name = name.trim_start_matches("/berthtest-");
        let unit = format!("berthtest-{name}.scope");
        self.cgroup_names.lock().unwrap().push(unit.clone());
        (format!("system.slice:berthtest:{name}"), unit)
    }

    /// A new private dir under the test's temp dir.
    pub fn mkdir(&self, what: &str) -> PathBuf {
        let d = self.dir.join(format!("{what}-{}", self.next()));
        std::fs::create_dir_all(&d).expect("mkdir in test dir");
        d
    }

    /// Writes a new bundle for `spec` and returns its (absolute) directory.
    pub fn bundle(&self, spec: &Spec) -> PathBuf {
        let dir = self.mkdir("bundle");
        bundle_fixtures::create_bundle(&dir, spec).expect("create bundle");
        dir
    }

    /// Writes a bundle whose config.json is exactly `config` (any JSON, or raw text).
    pub fn raw_bundle(&self, config: &str) -> PathBuf {
        let dir = self.mkdir("bundle");
        bundle_fixtures::build_rootfs(&dir.join("rootfs")).expect("build rootfs");
        std::fs::write(dir.join("config.json"), config).expect("write config.json");
        dir
    }

    /// Starts building a runtime invocation with `--root <ours>` and `args`.
    pub fn cmd(&self, args: &[&str]) -> Cmd<'_> {
        Cmd {
            ctx: self,
            global: Vec::new(),
            args: args.iter().map(|s| s.to_string()).collect(),
            stdin: None,
            extra_fds: Vec::new(),
            listen_fds: false,
            env: Vec::new(),
            cwd: None,
            umask: None,
            user: None,
            oom_score_adj: None,
            in_terminal: false,
            timeout: CMD_TIMEOUT,
        }
    }

    /// Runs the runtime with `args` and returns what it did.
    pub fn rt(&self, args: &[&str]) -> Output {
        self.cmd(args).output()
    }

    /// `run --bundle B ID` in the foreground with a new id; returns the id and output.
    pub fn run(&self, bundle: &Path) -> (String, Output) {
        let id = self.new_id();
        let out = self.rt(&["run", "--bundle", &bundle.display().to_string(), &id]);
        (id, out)
    }

    /// Runs `spec` in the foreground and returns the probe's JSON report from its stdout.
    #[track_caller]
    pub fn run_probe(&self, spec: &Spec) -> Value {
        let bundle = self.bundle(spec);
        self.run(&bundle).1.json()
    }

    /// Runs `spec` (from [`probes_spec`]) in the foreground and returns the `n` JSON lines
    /// its probes printed.
    #[track_caller]
    pub fn run_probes(&self, spec: &Spec, n: usize) -> Vec<Value> {
        let bundle = self.bundle(spec);
        let out = self.run(&bundle).1;
        out.ok();
        let lines = json_lines(&out.stdout);
        assert_eq!(lines.len(), n, "probe output lines: {}", out.describe());
        lines
    }

    /// `create --bundle B ID` (asserting success) for a new id; the container's stdio goes to
    /// files read through the returned [`Container`].
    #[track_caller]
    pub fn create(&self, bundle: &Path) -> Container {
        let (id, out) = self.try_create(bundle);
        out.ok();
        let c = Container {
            id,
            bundle: bundle.to_path_buf(),
            stdout: out.stdout_path.clone(),
            stderr: out.stderr_path.clone(),
        };
        self.state(&c.id);
        c
    }

    /// `create --bundle B ID` for a new id, whatever its outcome: the id and what it did.
    pub fn try_create(&self, bundle: &Path) -> (String, Output) {
        let id = self.new_id();
        let out = self.rt(&["create", "--bundle", &bundle.display().to_string(), &id]);
        (id, out)
    }

    /// `create` + `start` of `spec`.
    #[track_caller]
    pub fn start_new(&self, spec: &Spec) -> Container {
        let c = self.create(&self.bundle(spec));
        self.rt(&["start", &c.id]).ok();
        c
    }

    /// `state ID`, asserted successful and valid; remembers the pid for the leak check.
    #[track_caller]
    pub fn state(&self, id: &str) -> StateInfo {
        let out = self.rt(&["state", id]);
        let raw = out.json();
        let info = parse_state(raw).unwrap_or_else(|e| panic!("state {id}: {e:#}"));
        assert_eq!(info.state.id(), id, "state id");
        self.remember_pid(info.pid());
        info
    }

    /// Asserts `id` is unknown to the runtime: `state` fails with "does not exist" and nothing
    /// named `id` remains under `--root`.
    #[track_caller]
    pub fn assert_gone(&self, id: &str) {
        self.rt(&["state", id])
            .failed()
            .stderr_has("does not exist");
        let left = paths_named(&self.root, id);
        assert!(left.is_empty(), "state of {id} left behind: {left:?}");
    }

    /// Records a container pid that must be gone when the test ends.
    pub fn remember_pid(&self, pid: i32) {
        if pid > 0 {
            if let Some(start) = proc_start_time(pid) {
                let mut pids = self.pids.lock().unwrap();
                if !pids.contains(&(pid, start)) {
                    pids.push((pid, start));
                }
            }
        }
    }

    /// Polls `state` until the status is `want`.
    #[track_caller]
    pub fn wait_status(&self, id: &str, want: ContainerState) -> StateInfo {
        let mut last = None;
        wait_for(
            &format!("{id} to be {want}"),
            Duration::from_secs(10),
            || {
                let s = self.state(id);
                let done = s.status() == want;
                last = Some(s);
                done
            },
        );
        last.expect("state was read")
    }

    /// Starts a helper process (e.g. `unshare --net sleep 60`); it is killed (by pid) and
    /// reaped when the test ends. Returns its pid.
    pub fn spawn_helper(&self, program: &str, args: &[&str]) -> i32 {
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("spawning helper {program}: {e}"));
        let pid = child.id() as i32;
        self.helpers.lock().unwrap().push(child);
        pid
    }

    /// Mounts a tmpfs at `target` on the HOST (made `shared` if asked); the test's own mount,
    /// lazily unmounted when the test ends (before the leak check).
    #[track_caller]
    pub fn host_tmpfs(&self, target: &Path, shared: bool) {
        self.host_mount(Path::new("tmpfs"), target, Some("tmpfs"), 0);
        if shared {
            self.host_mount(Path::new("none"), target, None, libc::MS_SHARED);
        }
    }

    /// Mounts a new filesystem of type `fs_type` (e.g. `ramfs`) at `target` on the HOST, like
    /// [`Ctx::host_tmpfs`].
    #[track_caller]
    pub fn host_fs(&self, fs_type: &str, target: &Path) {
        self.host_mount(Path::new(fs_type), target, Some(fs_type), 0);
    }

    /// Bind-mounts the host path `source` at `target` on the HOST, like [`Ctx::host_tmpfs`].
    #[track_caller]
    pub fn host_bind(&self, source: &Path, target: &Path) {
        self.host_mount(source, target, None, libc::MS_BIND);
    }

    /// mount(2) at `target`, inside the test dir; a new mount (not a propagation change) is
    /// remembered for the unmount at the end.
    #[track_caller]
    fn host_mount(&self, source: &Path, target: &Path, fs_type: Option<&str>, flags: u64) {
        assert!(
            target.starts_with(&self.dir),
            "host mounts stay in the test dir"
        );
        std::fs::create_dir_all(target).expect("create mount point");
        let c = |p: &[u8]| std::ffi::CString::new(p).unwrap();
        let (src, tgt) = (
            c(source.as_os_str().as_encoded_bytes()),
            c(target.as_os_str().as_encoded_bytes()),
        );
        let fs_type = fs_type.map(|t| c(t.as_bytes()));
        // SAFETY: valid NUL-terminated strings (or NULL for no type); mounting inside the
        // test's own temp dir.
        let rc = unsafe {
            libc::mount(
                src.as_ptr(),
                tgt.as_ptr(),
                fs_type.as_ref().map_or(std::ptr::null(), |t| t.as_ptr()),
                flags,
                std::ptr::null(),
            )
        };
        assert_eq!(
            rc,
            0,
            "mount {} on {} (flags {flags:#x}): {}",
            source.display(),
            target.display(),
            std::io::Error::last_os_error()
        );
        if flags & libc::MS_SHARED == 0 {
            self.own_mounts.lock().unwrap().push(target.to_path_buf());
        }
    }

    fn cleanup_and_find_leaks(&mut self) -> Vec<String> {
        let mut leaks = Vec::new();
        let ids = std::mem::take(&mut *self.ids.lock().unwrap());
        for id in &ids {
            // Best effort: most ids are already deleted; errors are expected then.
            let _ = self
                .cmd(&["delete", "--force", id])
                .timeout(Duration::from_secs(20))
                .output();
        }
        for mut h in std::mem::take(&mut *self.helpers.lock().unwrap()) {
            let _ = h.kill();
            let _ = h.wait();
        }
        for id in &ids {
            for p in paths_named(&self.root, id) {
                leaks.push(format!("state {} left behind", p.display()));
            }
        }
        for m in std::mem::take(&mut *self.own_mounts.lock().unwrap())
            .iter()
            .rev()
        {
            lazy_umount(m);
        }
        let pids = std::mem::take(&mut *self.pids.lock().unwrap());
        for (pid, start) in pids {
            let gone = || proc_start_time(pid) != Some(start) || proc_state(pid) == Some('Z');
            let deadline = Instant::now() + Duration::from_secs(3);
            while !gone() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if !gone() {
                leaks.push(format!("container process {pid} still alive after delete"));
                // SAFETY: it is this test's container process (same pid and start time).
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        for m in mounts_under(&self.dir) {
            leaks.push(format!("mount left at {}", m.display()));
        }
        for m in mounts_under(&self.dir).iter().rev() {
            lazy_umount(m);
        }
        let cgroup_names = std::mem::take(&mut *self.cgroup_names.lock().unwrap());
        for name in ids.iter().chain(&cgroup_names) {
            for d in cgroup_dirs_named(name) {
                leaks.push(format!("cgroup left at {}", d.display()));
                let _ = std::fs::remove_dir(&d);
            }
        }
        if mounts_under(&self.dir).is_empty() {
            let _ = std::fs::remove_dir_all(&self.dir);
        } else {
            leaks.push(format!(
                "could not unmount everything under {}; left it in place",
                self.dir.display()
            ));
        }
        leaks
    }
}

impl Drop for Ctx {
    fn drop(&mut self) {
        let leaks = self.cleanup_and_find_leaks();
        if leaks.is_empty() {
            return;
        }
        let msg = format!("test {} leaked:\n  {}", self.name, leaks.join("\n  "));
        if std::thread::panicking() {
            eprintln!("{msg}");
        } else {
            panic!("{msg}");
        }
    }
}

// ------------------------------------------------------------------------------------ host

/// `umount -l`: detaches the mount at `path` (errors ignored: it may be gone already).
fn lazy_umount(path: &Path) {
    if let Ok(p) = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()) {
        // SAFETY: valid NUL-terminated path.
        unsafe { libc::umount2(p.as_ptr(), libc::MNT_DETACH) };
    }
}

/// Start time (clock ticks since boot) of `pid`, field 22 of /proc/PID/stat.
pub fn proc_start_time(pid: i32) -> Option<u64> {
    stat_fields(pid)?.get(19)?.parse().ok()
}

/// Process state letter of `pid` (`R`, `S`, `Z`, ...).
pub fn proc_state(pid: i32) -> Option<char> {
    stat_fields(pid)?.first()?.chars().next()
}

/// Fields of /proc/PID/stat after the `(comm)` field: index 0 is the state.
fn stat_fields(pid: i32) -> Option<Vec<String>> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(str::to_string).collect())
}

/// The processes whose parent is `pid`, zombies included, in pid order.
pub fn children_of(pid: i32) -> Vec<i32> {
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut children: Vec<i32> = rd
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .filter(|&p| stat_fields(p).and_then(|f| f.get(1)?.parse().ok()) == Some(pid))
        .collect();
    children.sort();
    children
}

/// The command name of `pid` (/proc/PID/comm), None once it is gone.
pub fn proc_comm(pid: i32) -> Option<String> {
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    Some(comm.trim_end().to_string())
}

/// A signal set of `pid` from /proc/PID/status (`field`: `SigBlk`, `SigIgn`, `SigCgt`, ...)
/// as a bitmask where bit N-1 is signal N; 0 once the process is gone.
pub fn signal_set(pid: i32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .unwrap_or(0)
}

/// True while `pid` exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    matches!(proc_state(pid), Some(s) if s != 'Z')
}

/// The host's (this test process's) namespace link, e.g. `host_ns("net")`.
pub fn host_ns(kind: &str) -> String {
    ns_of("self", kind)
}

/// The namespace link of `/proc/<who>/ns/<kind>` (`who` = pid or `self`).
pub fn ns_of(who: &str, kind: &str) -> String {
    std::fs::read_link(format!("/proc/{who}/ns/{kind}"))
        .map(|p| p.display().to_string())
        .unwrap_or_else(|e| panic!("readlink /proc/{who}/ns/{kind}: {e}"))
}

/// Decoded mount points of the host's /proc/self/mountinfo.
pub fn host_mount_points() -> Vec<PathBuf> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .expect("read host mountinfo")
        .lines()
        .filter_map(|l| {
            l.split(' ')
                .nth(4)
                .map(|m| PathBuf::from(unescape_mount(m)))
        })
        .collect()
}

/// Host mount points at or under `dir`.
pub fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    host_mount_points()
        .into_iter()
        .filter(|m| m.starts_with(dir))
        .collect()
}

fn unescape_mount(s: &str) -> String {
    s.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

/// Entries named `name` under `dir` (not following symlinks, depth <= `depth`).
fn find_named(dir: &Path, name: &str, depth: usize, dirs_only: bool, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
        if e.file_name() == name && (is_dir || !dirs_only) {
            out.push(e.path());
        }
        if is_dir && depth > 0 {
            find_named(&e.path(), name, depth - 1, dirs_only, out);
        }
    }
}

/// Files or dirs named `name` anywhere under `dir` (a runtime's state for a container id).
pub fn paths_named(dir: &Path, name: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    find_named(dir, name, 8, false, &mut out);
    out
}

/// Directories named `id` in any cgroup hierarchy (depth <= 6).
pub fn cgroup_dirs_named(id: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    find_named(Path::new("/sys/fs/cgroup"), id, 6, true, &mut out);
    out
}

// ------------------------------------------------------------------------------------ cgroups

/// Where the host's cgroup hierarchies are mounted.
pub const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// True when `/sys/fs/cgroup` itself is cgroup2 (statfs magic `CGROUP2_SUPER_MAGIC`): a pure
/// cgroup v2 host. False on v1 and hybrid hosts (v1 controllers, cgroup2 at `unified/`).
pub fn cgroup_v2() -> bool {
    static V2: OnceLock<bool> = OnceLock::new();
    *V2.get_or_init(|| {
        // SAFETY: a zeroed statfs is a valid out-parameter; the path is NUL-terminated.
        let mut st: libc::statfs = unsafe { std::mem::zeroed() };
        let rc = unsafe { libc::statfs(c"/sys/fs/cgroup".as_ptr(), &mut st) };
        assert_eq!(
            rc,
            0,
            "statfs /sys/fs/cgroup: {}",
            std::io::Error::last_os_error()
        );
        st.f_type == libc::CGROUP2_SUPER_MAGIC
    })
}

/// `v1` on a v1 or hybrid host, `v2` on a pure cgroup v2 host.
pub fn by_layout<T>(v1: T, v2: T) -> T {
    if cgroup_v2() {
        v2
    } else {
        v1
    }
}

/// One cgroup hierarchy mounted on the host (a line of /proc/self/mountinfo).
#[derive(Debug, Clone)]
pub struct CgroupMount {
    /// Where it is mounted, e.g. `/sys/fs/cgroup/cpu,cpuacct` or `/sys/fs/cgroup`.
    pub point: PathBuf,
    /// The cgroup of the hierarchy shown at `point` (`/` unless mounted from a namespace).
    pub root: String,
    /// v1: its controllers and `name=` options (`["cpu", "cpuacct"]`); cgroup2: empty.
    pub controllers: Vec<String>,
    pub v2: bool,
}

/// The host's cgroup and cgroup2 mounts.
pub fn cgroup_mounts() -> Vec<CgroupMount> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .expect("read host mountinfo")
        .lines()
        .filter_map(|l| {
            let fields: Vec<&str> = l.split(' ').collect();
            let sep = fields.iter().position(|f| *f == "-")?;
            let (fs_type, options) = (*fields.get(sep + 1)?, *fields.get(sep + 3)?);
            let v2 = match fs_type {
                "cgroup2" => true,
                "cgroup" => false,
                _ => return None,
            };
            let controllers = if v2 {
                Vec::new()
            } else {
                options
                    .split(',')
                    .filter(|o| !matches!(*o, "rw" | "ro") && !o.contains("release_agent"))
                    .map(str::to_string)
                    .collect()
            };
            Some(CgroupMount {
                point: PathBuf::from(unescape_mount(fields[4])),
                root: unescape_mount(fields[3]),
                controllers,
                v2,
            })
        })
        .collect()
}

/// The mount holding `controller` (`"memory"`, `"cpu"`, ..., `"name=systemd"`): on a pure v2
/// host the cgroup2 mount at /sys/fs/cgroup for every controller; on v1 the hierarchy whose
/// options name it. None when the controller is not mounted.
pub fn cgroup_mount(controller: &str) -> Option<CgroupMount> {
    let v2 = cgroup_v2();
    cgroup_mounts().into_iter().find(|m| {
        if v2 {
            m.v2 && m.point == Path::new(CGROUP_ROOT)
        } else {
            !m.v2 && m.controllers.iter().any(|c| c == controller)
        }
    })
}

/// The cgroup of `pid` for `controller` as `/proc/<pid>/cgroup` names it (v2: the `0::`
/// line), e.g. `/berthtest-x`. None if the process is gone or has no such line.
pub fn cgroup_of(pid: i32, controller: &str) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    cgroup_line(&text, controller).map(str::to_string)
}

/// The path for `controller` in /proc/PID/cgroup `text` (v2: the `0::` line).
pub fn cgroup_line<'a>(text: &'a str, controller: &str) -> Option<&'a str> {
    let v2 = cgroup_v2();
    text.lines().find_map(|l| {
        let mut parts = l.splitn(3, ':');
        let (hid, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let hit = if v2 {
            hid == "0" && controllers.is_empty()
        } else {
            controllers.split(',').any(|c| c == controller)
        };
        hit.then_some(path)
    })
}

/// The host directory of the cgroup `path` (as /proc/PID/cgroup or an absolute cgroupsPath
/// names it) in the hierarchy of `controller`.
#[track_caller]
pub fn cgroup_dir(controller: &str, path: &str) -> PathBuf {
    let m = cgroup_mount(controller)
        .unwrap_or_else(|| panic!("no cgroup hierarchy with the {controller} controller"));
    let rel = path
        .strip_prefix(m.root.as_str())
        .unwrap_or(path)
        .trim_start_matches('/');
    m.point.join(rel)
}

/// The host directory of the cgroup of process `pid` for `controller`.
#[track_caller]
pub fn cgroup_dir_of(pid: i32, controller: &str) -> PathBuf {
    let path = cgroup_of(pid, controller)
        .unwrap_or_else(|| panic!("process {pid} has no {controller} cgroup"));
    cgroup_dir(controller, &path)
}

/// The directories the absolute cgroup `path` has in any host hierarchy (none once deleted).
pub fn cgroup_dirs_at(path: &str) -> Vec<PathBuf> {
    cgroup_mounts()
        .iter()
        .map(|m| m.point.join(path.trim_start_matches('/')))
        .filter(|d| d.is_dir())
        .collect()
}

/// Reads a cgroup interface file, trimmed.
#[track_caller]
pub fn read_cgroup_file(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .trim()
        .to_string()
}

/// The number after `key` in a flat-keyed cgroup file (`memory.events`, `pids.events`,
/// `memory.oom_control`): `"oom_kill 1\n..."` -> 1.
pub fn keyed_value(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok()).flatten()
    })
}

// ------------------------------------------------------------------------------------ probe

/// The last mount at `point` in a probe report (the one visible there).
pub fn mount_at<'a>(report: &'a Value, point: &str) -> Option<&'a Value> {
    report["mounts"]
        .as_array()?
        .iter()
        .rev()
        .find(|m| m["mount_point"] == point)
}

/// Per-mount and super options of a probe mount entry, merged.
pub fn mount_options(m: &Value) -> Vec<String> {
    ["mount_options", "super_options"]
        .iter()
        .flat_map(|k| m[*k].as_array().cloned().unwrap_or_default())
        .filter_map(|o| o.as_str().map(str::to_string))
        .collect()
}

/// A capability set of a probe report as a bitmask (`set` = "bounding", "effective", ...).
#[track_caller]
pub fn caps(report: &Value, set: &str) -> u64 {
    let hex = report["caps"][set]
        .as_str()
        .unwrap_or_else(|| panic!("no caps.{set} in report"));
    u64::from_str_radix(hex, 16).unwrap_or_else(|e| panic!("caps.{set} {hex:?}: {e}"))
}

/// Capability names in the order of their numbers (capabilities(7)).
pub const CAP_NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// The bitmask of capability `names`.
#[track_caller]
pub fn cap_mask(names: &[&str]) -> u64 {
    names.iter().fold(0, |m, n| {
        let bit = CAP_NAMES
            .iter()
            .position(|c| c == n)
            .unwrap_or_else(|| panic!("unknown capability {n}"));
        m | 1 << bit
    })
}

/// The fd numbers open in the probe that made `report`, sorted.
#[track_caller]
pub fn fd_numbers(report: &Value) -> Vec<u32> {
    let mut fds: Vec<u32> = report["fds"]
        .as_object()
        .unwrap_or_else(|| panic!("no fds object in report: {report}"))
        .keys()
        .map(|k| k.parse().expect("fd number"))
        .collect();
    fds.sort();
    fds
}

/// The `access` result for `path` from `berth-probe access ...` output.
#[track_caller]
pub fn access_of<'a>(report: &'a Value, path: &str) -> &'a Value {
    let v = &report[path];
    assert!(v.is_object(), "no access entry for {path} in {report}");
    v
}

// ------------------------------------------------------------------------------------ fd passing

/// Receives one message and the fds attached to it (`SCM_RIGHTS`, as runtimes send a console
/// master or a seccomp listener), all owned by the caller.
pub fn receive_fds(
    stream: &std::os::unix::net::UnixStream,
) -> Result<(Vec<u8>, Vec<OwnedFd>), String> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    use std::os::fd::{FromRawFd, RawFd};
    let mut buffer = vec![0u8; 64 * 1024];
    let mut control = nix::cmsg_space!([RawFd; 4]);
    let mut iov = [std::io::IoSliceMut::new(&mut buffer)];
    let msg = recvmsg::<()>(
        stream.as_raw_fd(),
        &mut iov,
        Some(&mut control),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(|e| format!("recvmsg: {e}"))?;
    let bytes = msg.bytes;
    let fds: Vec<RawFd> = msg
        .cmsgs()
        .map_err(|e| format!("control messages: {e}"))?
        .filter_map(|c| match c {
            ControlMessageOwned::ScmRights(fds) => Some(fds),
            _ => None,
        })
        .flatten()
        .collect();
    // SAFETY: the kernel just installed these fds in our table; nothing else owns them.
    let fds = fds
        .into_iter()
        .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) })
        .collect();
    Ok((buffer[..bytes].to_vec(), fds))
}

/// Accepts one connection on `listener` and receives one message with one fd attached;
/// returns the message bytes and the fd.
pub fn accept_fd(listener: &std::os::unix::net::UnixListener) -> (Vec<u8>, OwnedFd) {
    let (stream, _) = listener.accept().expect("accept on the socket");
    let (bytes, fds) = receive_fds(&stream).unwrap_or_else(|e| panic!("{e}"));
    let fd = fds.into_iter().next().expect("an fd in SCM_RIGHTS");
    (bytes, fd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339() {
        assert!(is_rfc3339("2026-11-22T09:11:37.827611293Z"));
        assert!(is_rfc3339("2026-11-22T09:11:37+02:00"));
        assert!(!is_rfc3339("2026-11-22 09:11:37Z"));
        assert!(!is_rfc3339("2026-11-22T09:11:37."));
        assert!(!is_rfc3339("yesterday"));
    }

    #[test]
    fn cap_masks() {
        assert_eq!(
            cap_mask(&["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]),
            0x20000420
        );
        assert_eq!(CAP_NAMES.len(), 41);
    }
}
