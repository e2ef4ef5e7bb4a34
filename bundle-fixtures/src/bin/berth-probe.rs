//! `berth-probe`: reports what a container process sees, as JSON on stdout.
//!
//! It is copied into every fixture rootfs at `/bin/berth-probe` and must run there with
//! nothing else around it, so it must be a STATIC binary (`make build` builds the workspace
//! with `-C target-feature=+crt-static --target x86_64-unknown-linux-gnu`; a plain
//! `cargo build` gives a dynamic one that `bundle_fixtures::probe_path` refuses). It uses only
//! `std`, `libc` and `serde_json`: no NSS, no user-name lookups, no dynamic loader.
//!
//! Every subcommand prints exactly ONE line of JSON on stdout (except `signals`, which prints
//! one JSON line per event) and exits 0 unless stated otherwise. Usage errors exit 2.
//!
//! # Subcommands
//!
//! * `berth-probe [report] [--sysctl NAME]...` — the full report, one object:
//!   - `argv`: the probe's own argv;
//!   - `pid`, `ppid`;
//!   - `uid`, `gid`: `{"real","effective","saved"}` (getresuid/getresgid);
//!   - `groups`: supplementary groups (getgroups), in kernel order;
//!   - `caps`: `{"inheritable","permitted","effective","bounding","ambient"}`, each the
//!     16-hex-digit string of `CapInh`/`CapPrm`/`CapEff`/`CapBnd`/`CapAmb` in /proc/self/status;
//!   - `no_new_privs` (0/1), `seccomp` (0 disabled, 1 strict, 2 filter), `seccomp_filters`
//!     (how many filters are attached), `umask` (number, from the `Umask:` status line, so
//!     reading it changes nothing);
//!   - `session_keyring`: the description of the session keyring (`keyring;uid;gid;perm;NAME`,
//!     keyctl KEYCTL_DESCRIBE), or `error: ERRNO`;
//!   - `cwd` (readlink /proc/self/cwd), `hostname`, `domainname` (uname);
//!   - `namespaces`: `{"net": "net:[4026531840]", ...}` for every entry of /proc/self/ns;
//!   - `mounts`: /proc/self/mountinfo parsed, in order, each
//!     `{"mount_id","parent_id","major_minor","root","mount_point","mount_options":[..],
//!       "optional":[..] (e.g. "shared:12", "master:3"),"fs_type","source","super_options":[..]}`
//!     (octal escapes such as `\040` are decoded);
//!   - `rlimits`: `{"RLIMIT_NOFILE": {"soft": n, "hard": n}, ...}` for all 16 limits;
//!     unlimited is 18446744073709551615 (RLIM_INFINITY), as in config.json;
//!   - `cgroup`: the lines of /proc/self/cgroup;
//!   - `fds`: `{"0": "/dev/null", "1": "pipe:[123]", ...}`: every open fd and its readlink
//!     target, except the one used to list /proc/self/fd;
//!   - `env`: the environment as `["K=V", ...]`, in order;
//!   - `uid_map`, `gid_map`: the lines of /proc/self/{uid,gid}_map, whitespace-normalised
//!     (`"0 0 4294967295"`);
//!   - `oom_score_adj` (number);
//!   - `sysctl`: `{"kernel.shmmax": "18446744073692774399", ...}` only for the names asked with
//!     `--sysctl` (value trimmed, or `"error: ENOENT"`).
//! * `berth-probe access PATH...` — for each path, an object keyed by the path:
//!   `{"exists", "type" ("file","dir","symlink","char","block","fifo","socket"), "mode" (permission
//!   bits, number), "uid", "gid", "rdev" ("MAJOR:MINOR", devices only), "link" (symlink target),
//!   "read" ("ok" or an errno name such as "EACCES"), "read_bytes" (what one non-blocking read of
//!   up to 64 KiB returned, for files and char devices) or "entries" (directory entry count), "write" ("ok" or an errno name, from
//!   `open(O_WRONLY)` without O_CREAT/O_TRUNC, so nothing is changed), "error" (lstat errno name
//!   when it does not exist)}`. Symlinks are followed for read/write/type except `type`/`link` which
//!   describe the path itself (lstat); `target_type` gives the followed type.
//! * `berth-probe touch PATH...` — tries `open(O_WRONLY|O_CREAT)` on each path:
//!   `{"PATH": "ok" | "EROFS" | ...}`.
//! * `berth-probe sysctl NAME...` — `{"NAME": "value", ...}` read from /proc/sys.
//! * `berth-probe exit N` — exits with status N at once (prints nothing).
//! * `berth-probe sleep SECS` — sleeps (fractions allowed), prints nothing, exits 0.
//! * `berth-probe syscall NR [ARG]...` — makes syscall number NR with up to six integer
//!   arguments (decimal or `0x` hex; only for syscalls that take no pointers):
//!   `{"syscall": NR, "ret": N}`, or `{"syscall": NR, "errno": "EPERM", "errno_number": 1}`.
//! * `berth-probe exe-attack SECS N` — CVE-2019-5736's attacker, for at most SECS seconds or
//!   until it has caught N processes. It prints `{"ready":true,"pid":N}`, then watches /proc for
//!   a process running a program that is neither itself nor `/bin/busybox` (a runtime's
//!   process that has just executed a `#!/proc/self/exe` script, say). For each one it opens
//!   `/proc/PID/exe` with `O_PATH` and prints `{"caught":PID,"exe":readlink,"cmdline":[..],
//!   "dev":"MAJOR:MINOR","ino":N}` at once, then reopens that handle for writing
//!   (`/proc/self/fd/M`, `O_WRONLY`), retrying for up to 1.5 s while the kernel answers ETXTBSY
//!   (a process still runs the file), and prints `{"pid":PID,"write":"ok" | errno name}`. It
//!   never writes: a successful open is the finding. Last comes `{"done":true,"processes":n,
//!   "denied":n}` (`denied`: how often `/proc/PID/exe` itself was refused, e.g. EACCES for a
//!   non-dumpable process).
//! * `berth-probe signals` — blocks every catchable signal, prints `{"ready":true,"pid":N}`,
//!   then one line `{"signal":"SIGUSR1","number":10,"sender_pid":N}` for each signal received
//!   (works as pid 1 of a pid namespace, where default actions do not apply). It exits 0 after
//!   reporting a SIGTERM.
//!
//! Every line is flushed at once, so a caller can poll a file the probe's stdout points to.

use serde_json::{json, Map, Value};
use std::ffi::{CStr, CString};
use std::io::Write;
use std::os::fd::FromRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rest = &args[1.min(args.len())..];
    let (cmd, params) = match rest.split_first() {
        Some((c, p)) if !c.starts_with("--") => (c.as_str(), p),
        _ => ("report", rest),
    };
    let out = match cmd {
        "report" => report(params),
        "access" => per_path(params, access),
        "touch" => per_path(params, |p| Value::String(touch(p))),
        "sysctl" => per_path(params, |p| Value::String(sysctl(p))),
        "exit" => std::process::exit(parse_or_usage(params.first())),
        "sleep" => {
            let secs: f64 = parse_or_usage(params.first());
            std::thread::sleep(std::time::Duration::from_secs_f64(secs));
            return;
        }
        "signals" => signals(),
        "exe-attack" => exe_attack(params),
        "syscall" => syscall(params),
        _ => usage(&format!("unknown subcommand {cmd:?}")),
    };
    emit(&out);
}

fn usage(msg: &str) -> ! {
    eprintln!("berth-probe: {msg}");
    eprintln!(
        "usage: berth-probe [report] [--sysctl NAME]... | access PATH... | touch PATH... | \
         sysctl NAME... | exit N | sleep SECS | signals | syscall NR [ARG]... | \
         exe-attack SECS N"
    );
    std::process::exit(2)
}

fn parse_or_usage<T: std::str::FromStr>(arg: Option<&String>) -> T {
    match arg.map(|a| a.parse()) {
        Some(Ok(v)) => v,
        _ => usage("expected a number argument"),
    }
}

fn emit(v: &Value) {
    let mut stdout = std::io::stdout().lock();
    // A closed stdout is the caller's problem; nothing useful to do about it here.
    let _ = writeln!(stdout, "{v}");
    let _ = stdout.flush();
}

fn per_path(params: &[String], f: impl Fn(&str) -> Value) -> Value {
    if params.is_empty() {
        usage("expected at least one argument");
    }
    Value::Object(params.iter().map(|p| (p.clone(), f(p))).collect())
}

fn errno_of(e: &std::io::Error) -> String {
    e.raw_os_error()
        .map(errno_name)
        .unwrap_or_else(|| e.to_string())
}

fn errno_name(n: i32) -> String {
    let name = match n {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::ESRCH => "ESRCH",
        libc::EINTR => "EINTR",
        libc::EIO => "EIO",
        libc::ENXIO => "ENXIO",
        libc::E2BIG => "E2BIG",
        libc::EBADF => "EBADF",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::EXDEV => "EXDEV",
        libc::ENODEV => "ENODEV",
        libc::ENOTDIR => "ENOTDIR",
        libc::EISDIR => "EISDIR",
        libc::EINVAL => "EINVAL",
        libc::ENFILE => "ENFILE",
        libc::EMFILE => "EMFILE",
        libc::ENOTTY => "ENOTTY",
        libc::ETXTBSY => "ETXTBSY",
        libc::EFBIG => "EFBIG",
        libc::ENOSPC => "ENOSPC",
        libc::ESPIPE => "ESPIPE",
        libc::EROFS => "EROFS",
        libc::EMLINK => "EMLINK",
        libc::EPIPE => "EPIPE",
        libc::ENAMETOOLONG => "ENAMETOOLONG",
        libc::ENOSYS => "ENOSYS",
        libc::ELOOP => "ELOOP",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        _ => return format!("errno {n}"),
    };
    name.to_string()
}

fn read_trimmed(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path)
        .map(|s| s.trim_end_matches('\n').to_string())
        .map_err(|e| errno_of(&e))
}

fn lines_of(path: &str) -> Value {
    match read_trimmed(path) {
        Ok(s) => s
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect(),
        Err(e) => Value::String(format!("error: {e}")),
    }
}

// ---------------------------------------------------------------- report

/// The session keyring's description from keyctl(KEYCTL_DESCRIBE, KEY_SPEC_SESSION_KEYRING).
fn session_keyring() -> String {
    const KEYCTL_DESCRIBE: libc::c_long = 6;
    const KEY_SPEC_SESSION_KEYRING: libc::c_long = -3;
    let mut buffer = [0u8; 512];
    // SAFETY: keyctl writes at most `buffer.len()` bytes into the valid buffer we pass.
    let n = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_DESCRIBE,
            KEY_SPEC_SESSION_KEYRING,
            buffer.as_mut_ptr(),
            buffer.len(),
        )
    };
    if n < 0 {
        return format!("error: {}", errno_of(&std::io::Error::last_os_error()));
    }
    let len = (n as usize).min(buffer.len());
    String::from_utf8_lossy(&buffer[..len])
        .trim_end_matches('\0')
        .to_string()
}

fn report(params: &[String]) -> Value {
    // fds first, before anything else in this process opens a file.
    let fds = open_fds();
    let mut sysctls = Vec::new();
    let mut it = params.iter();
    while let Some(p) = it.next() {
        match (p.as_str(), it.next()) {
            ("--sysctl", Some(name)) => sysctls.push(name.clone()),
            _ => usage(&format!("unexpected report argument {p:?}")),
        }
    }
    let status = read_trimmed("/proc/self/status").unwrap_or_default();
    let field = |name: &str| -> String {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    let num = |name: &str| -> Value {
        let f = field(name);
        f.parse::<i64>().map(Value::from).unwrap_or(Value::Null)
    };
    let (mut ruid, mut euid, mut suid) = (0, 0, 0);
    let (mut rgid, mut egid, mut sgid) = (0, 0, 0);
    // SAFETY: plain out-parameter syscalls on valid stack variables.
    unsafe {
        libc::getresuid(&mut ruid, &mut euid, &mut suid);
        libc::getresgid(&mut rgid, &mut egid, &mut sgid);
    }
    let uts = uname();
    let mut out = json!({
        "argv": std::env::args().collect::<Vec<_>>(),
        "pid": std::process::id(),
        // SAFETY: getppid has no preconditions.
        "ppid": unsafe { libc::getppid() },
        "uid": {"real": ruid, "effective": euid, "saved": suid},
        "gid": {"real": rgid, "effective": egid, "saved": sgid},
        "groups": groups(),
        "caps": {
            "inheritable": field("CapInh"),
            "permitted": field("CapPrm"),
            "effective": field("CapEff"),
            "bounding": field("CapBnd"),
            "ambient": field("CapAmb"),
        },
        "no_new_privs": num("NoNewPrivs"),
        "seccomp": num("Seccomp"),
        "seccomp_filters": num("Seccomp_filters"),
        "session_keyring": session_keyring(),
        "umask": u32::from_str_radix(&field("Umask"), 8).map(Value::from).unwrap_or(Value::Null),
        "cwd": std::fs::read_link("/proc/self/cwd")
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|e| format!("error: {}", errno_of(&e))),
        "hostname": uts.0,
        "domainname": uts.1,
        "namespaces": namespaces(),
        "mounts": mounts(),
        "rlimits": rlimits(),
        "cgroup": lines_of("/proc/self/cgroup"),
        "fds": fds,
        "env": std::env::vars_os()
            .map(|(k, v)| format!("{}={}", k.to_string_lossy(), v.to_string_lossy()))
            .collect::<Vec<_>>(),
        "uid_map": lines_of("/proc/self/uid_map"),
        "gid_map": lines_of("/proc/self/gid_map"),
        "oom_score_adj": read_trimmed("/proc/self/oom_score_adj")
            .ok()
            .and_then(|s| s.parse::<i64>().ok()),
    });
    if !sysctls.is_empty() {
        out["sysctl"] = per_path(&sysctls, |n| Value::String(sysctl(n)));
    }
    out
}

fn groups() -> Vec<u32> {
    // SAFETY: getgroups(0, NULL) returns the count; the second call fills a buffer of that size.
    unsafe {
        let n = libc::getgroups(0, std::ptr::null_mut());
        if n <= 0 {
            return Vec::new();
        }
        let mut buf = vec![0 as libc::gid_t; n as usize];
        let n = libc::getgroups(n, buf.as_mut_ptr());
        buf.truncate(n.max(0) as usize);
        buf
    }
}

fn uname() -> (String, String) {
    // SAFETY: utsname is plain data; uname fills it with NUL-terminated strings.
    unsafe {
        let mut u: libc::utsname = std::mem::zeroed();
        if libc::uname(&mut u) != 0 {
            return (String::new(), String::new());
        }
        let s = |f: &[libc::c_char]| CStr::from_ptr(f.as_ptr()).to_string_lossy().into_owned();
        (s(&u.nodename), s(&u.domainname))
    }
}

fn open_fds() -> Value {
    // Collect the names first and close the directory: its own fd then no longer resolves.
    let names: Vec<String> = match std::fs::read_dir("/proc/self/fd") {
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(e) => return Value::String(format!("error: {}", errno_of(&e))),
    };
    let mut fds: Vec<(u32, String)> = names
        .iter()
        .filter_map(|n| {
            let target = std::fs::read_link(format!("/proc/self/fd/{n}")).ok()?;
            Some((n.parse().ok()?, target.to_string_lossy().into_owned()))
        })
        .collect();
    fds.sort();
    Value::Object(
        fds.into_iter()
            .map(|(n, t)| (n.to_string(), Value::String(t)))
            .collect(),
    )
}

fn namespaces() -> Value {
    let mut m = Map::new();
    if let Ok(rd) = std::fs::read_dir("/proc/self/ns") {
        for e in rd.flatten() {
            if let Ok(t) = std::fs::read_link(e.path()) {
                m.insert(
                    e.file_name().to_string_lossy().into_owned(),
                    Value::String(t.to_string_lossy().into_owned()),
                );
            }
        }
    }
    Value::Object(m)
}

/// Decodes mountinfo's octal escapes (`\040` for space, `\011`, `\012`, `\134`).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn mounts() -> Value {
    let text = read_trimmed("/proc/self/mountinfo").unwrap_or_default();
    let split = |s: &str| -> Vec<String> { s.split(',').map(str::to_string).collect() };
    text.lines()
        .filter_map(|line| {
            let (pre, post) = line.split_once(" - ")?;
            let f: Vec<&str> = pre.split(' ').collect();
            let g: Vec<&str> = post.split(' ').collect();
            if f.len() < 6 || g.len() < 3 {
                return None;
            }
            Some(json!({
                "mount_id": f[0].parse::<u64>().ok(),
                "parent_id": f[1].parse::<u64>().ok(),
                "major_minor": f[2],
                "root": unescape(f[3]),
                "mount_point": unescape(f[4]),
                "mount_options": split(f[5]),
                "optional": f[6..].iter().filter(|s| !s.is_empty()).collect::<Vec<_>>(),
                "fs_type": g[0],
                "source": unescape(g[1]),
                "super_options": split(g[2]),
            }))
        })
        .collect()
}

const RLIMITS: [(&str, libc::__rlimit_resource_t); 16] = [
    ("RLIMIT_CPU", libc::RLIMIT_CPU),
    ("RLIMIT_FSIZE", libc::RLIMIT_FSIZE),
    ("RLIMIT_DATA", libc::RLIMIT_DATA),
    ("RLIMIT_STACK", libc::RLIMIT_STACK),
    ("RLIMIT_CORE", libc::RLIMIT_CORE),
    ("RLIMIT_RSS", libc::RLIMIT_RSS),
    ("RLIMIT_NPROC", libc::RLIMIT_NPROC),
    ("RLIMIT_NOFILE", libc::RLIMIT_NOFILE),
    ("RLIMIT_MEMLOCK", libc::RLIMIT_MEMLOCK),
    ("RLIMIT_AS", libc::RLIMIT_AS),
    ("RLIMIT_LOCKS", libc::RLIMIT_LOCKS),
    ("RLIMIT_SIGPENDING", libc::RLIMIT_SIGPENDING),
    ("RLIMIT_MSGQUEUE", libc::RLIMIT_MSGQUEUE),
    ("RLIMIT_NICE", libc::RLIMIT_NICE),
    ("RLIMIT_RTPRIO", libc::RLIMIT_RTPRIO),
    ("RLIMIT_RTTIME", libc::RLIMIT_RTTIME),
];

fn rlimits() -> Value {
    let mut m = Map::new();
    for (name, res) in RLIMITS {
        let mut r = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into a valid rlimit.
        if unsafe { libc::getrlimit(res, &mut r) } == 0 {
            m.insert(
                name.to_string(),
                json!({"soft": r.rlim_cur, "hard": r.rlim_max}),
            );
        }
    }
    Value::Object(m)
}

fn sysctl(name: &str) -> String {
    let path = format!("/proc/sys/{}", name.replace('.', "/"));
    read_trimmed(&path).unwrap_or_else(|e| format!("error: {e}"))
}

// ---------------------------------------------------------------- access / touch

fn type_name(ft: std::fs::FileType) -> &'static str {
    if ft.is_symlink() {
        "symlink"
    } else if ft.is_dir() {
        "dir"
    } else if ft.is_file() {
        "file"
    } else if ft.is_char_device() {
        "char"
    } else if ft.is_block_device() {
        "block"
    } else if ft.is_fifo() {
        "fifo"
    } else if ft.is_socket() {
        "socket"
    } else {
        "unknown"
    }
}

fn open_raw(path: &str, flags: libc::c_int) -> Result<libc::c_int, String> {
    let c =
        CString::new(Path::new(path).as_os_str().as_bytes()).map_err(|_| "EINVAL".to_string())?;
    // SAFETY: c is a valid NUL-terminated path; the mode argument is only used with O_CREAT.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            flags | libc::O_CLOEXEC | libc::O_NOCTTY | libc::O_NONBLOCK,
            0o644,
        )
    };
    if fd < 0 {
        Err(errno_of(&std::io::Error::last_os_error()))
    } else {
        Ok(fd)
    }
}

fn access(path: &str) -> Value {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) => return json!({"exists": false, "error": errno_of(&e)}),
    };
    let mut v = json!({
        "exists": true,
        "type": type_name(meta.file_type()),
        "mode": meta.permissions().mode() & 0o7777,
        "uid": meta.uid(),
        "gid": meta.gid(),
    });
    if meta.file_type().is_symlink() {
        if let Ok(t) = std::fs::read_link(path) {
            v["link"] = Value::String(t.to_string_lossy().into_owned());
        }
    }
    let followed = std::fs::metadata(path).ok();
    if let Some(m) = &followed {
        v["target_type"] = Value::String(type_name(m.file_type()).into());
        let ft = m.file_type();
        if ft.is_char_device() || ft.is_block_device() {
            let rdev = m.rdev();
            v["rdev"] = Value::String(format!("{}:{}", libc::major(rdev), libc::minor(rdev)));
        }
    }
    let is_dir = followed.as_ref().is_some_and(|m| m.is_dir());
    let readable_kind = followed
        .as_ref()
        .is_some_and(|m| m.is_file() || m.file_type().is_char_device());
    match open_raw(path, libc::O_RDONLY) {
        Ok(fd) => {
            // SAFETY: fd was just opened by us and is owned by this File from here on.
            let file = unsafe { std::fs::File::from_raw_fd(fd) };
            v["read"] = Value::String("ok".into());
            if is_dir {
                v["entries"] = std::fs::read_dir(path)
                    .map(|rd| Value::from(rd.count()))
                    .unwrap_or(Value::Null);
            } else if readable_kind {
                v["read_bytes"] = read_len(file);
            }
        }
        Err(e) => v["read"] = Value::String(e),
    }
    v["write"] = Value::String(match open_raw(path, libc::O_WRONLY) {
        Ok(fd) => {
            // SAFETY: as above.
            unsafe { libc::close(fd) };
            "ok".into()
        }
        Err(e) => e,
    });
    v
}

/// Bytes read by one read(2) of up to 64 KiB (the fd is non-blocking: EAGAIN is reported).
fn read_len(mut file: std::fs::File) -> Value {
    use std::io::Read;
    let mut buf = vec![0u8; 64 * 1024];
    match file.read(&mut buf) {
        Ok(n) => Value::from(n),
        Err(e) => Value::String(errno_of(&e)),
    }
}

fn touch(path: &str) -> String {
    match open_raw(path, libc::O_WRONLY | libc::O_CREAT) {
        Ok(fd) => {
            // SAFETY: fd is ours.
            unsafe { libc::close(fd) };
            "ok".into()
        }
        Err(e) => e,
    }
}

// ---------------------------------------------------------------- signals

fn signal_name(n: i32) -> String {
    const NAMES: [&str; 32] = [
        "",
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    match usize::try_from(n).ok().and_then(|i| NAMES.get(i)) {
        Some(s) if !s.is_empty() => s.to_string(),
        _ => format!("SIGRTMIN+{}", n - libc::SIGRTMIN()),
    }
}

fn syscall(params: &[String]) -> Value {
    let numbers: Vec<u64> = params
        .iter()
        .map(|p| {
            let parsed = match p.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => p.parse(),
            };
            parsed.unwrap_or_else(|_| usage(&format!("not a number: {p:?}")))
        })
        .collect();
    let Some((&nr, args)) = numbers.split_first() else {
        usage("expected a syscall number")
    };
    if args.len() > 6 {
        usage("a syscall takes at most six arguments");
    }
    let mut a = [0u64; 6];
    a[..args.len()].copy_from_slice(args);
    // SAFETY: the caller names a syscall whose arguments are plain integers, so the kernel
    // dereferences no pointer of ours; it validates the values itself.
    let ret = unsafe { libc::syscall(nr as libc::c_long, a[0], a[1], a[2], a[3], a[4], a[5]) };
    if ret < 0 {
        let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
        return json!({"syscall": nr, "errno": errno_name(errno), "errno_number": errno});
    }
    json!({"syscall": nr, "ret": ret})
}

fn signals() -> Value {
    // SAFETY: sigset manipulation on a local set; sigprocmask/sigwaitinfo on this thread.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut set);
        libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        emit(&json!({"ready": true, "pid": std::process::id()}));
        loop {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            let sig = libc::sigwaitinfo(&set, &mut info);
            if sig < 0 {
                continue;
            }
            emit(&json!({
                "signal": signal_name(sig),
                "number": sig,
                "sender_pid": info.si_pid(),
            }));
            if sig == libc::SIGTERM {
                std::process::exit(0);
            }
        }
    }
}

// ---------------------------------------------------------------- exe-attack

/// Device ("MAJOR:MINOR") and inode of what `fd` refers to.
fn identity(fd: libc::c_int) -> Option<(String, u64)> {
    // SAFETY: a zeroed stat is a valid out-parameter; fstat only writes into it.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fd is an open fd of ours and st a valid stat buffer.
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return None;
    }
    Some((
        format!("{}:{}", libc::major(st.st_dev), libc::minor(st.st_dev)),
        st.st_ino,
    ))
}

fn identity_of(path: &str) -> Option<(String, u64)> {
    let fd = open_raw(path, libc::O_PATH).ok()?;
    let id = identity(fd);
    // SAFETY: fd was opened above and is not used afterwards.
    unsafe { libc::close(fd) };
    id
}

fn exe_attack(params: &[String]) -> Value {
    let secs: f64 = parse_or_usage(params.first());
    let wanted: usize = parse_or_usage(params.get(1));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs_f64(secs);
    let ignored: Vec<(String, u64)> = ["/proc/self/exe", "/bin/busybox"]
        .iter()
        .filter_map(|p| identity_of(p))
        .collect();
    let me = std::process::id();
    emit(&json!({"ready": true, "pid": me}));
    let mut caught: Vec<u32> = Vec::new();
    let mut denied = 0u64;
    while caught.len() < wanted && std::time::Instant::now() < deadline {
        let pids: Vec<u32> = std::fs::read_dir("/proc")
            .map(|rd| {
                rd.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        for pid in pids {
            if pid == me || caught.contains(&pid) {
                continue;
            }
            let exe = format!("/proc/{pid}/exe");
            let fd = match open_raw(&exe, libc::O_PATH) {
                Ok(fd) => fd,
                Err(e) => {
                    denied += u64::from(e == "EACCES" || e == "EPERM");
                    continue;
                }
            };
            let id = identity(fd);
            if id.as_ref().is_none_or(|id| ignored.contains(id)) {
                // SAFETY: fd is ours and not used afterwards.
                unsafe { libc::close(fd) };
                continue;
            }
            let (dev, ino) = id.unwrap_or_default();
            caught.push(pid);
            emit(&json!({
                "caught": pid,
                "exe": std::fs::read_link(&exe)
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                "cmdline": read_trimmed(&format!("/proc/{pid}/cmdline"))
                    .unwrap_or_default()
                    .split('\0')
                    .filter(|a| !a.is_empty())
                    .collect::<Vec<_>>(),
                "dev": dev,
                "ino": ino,
            }));
            emit(&json!({"pid": pid, "write": open_for_writing_when_free(fd)}));
            // SAFETY: fd is ours and not used afterwards.
            unsafe { libc::close(fd) };
        }
    }
    json!({"done": true, "processes": caught.len(), "denied": denied})
}

/// Reopens the file behind the `O_PATH` fd for writing (closing it at once if that works),
/// retrying while it is being executed (ETXTBSY) for up to 1.5 s.
fn open_for_writing_when_free(fd: libc::c_int) -> String {
    let until = std::time::Instant::now() + std::time::Duration::from_millis(1500);
    loop {
        match open_raw(&format!("/proc/self/fd/{fd}"), libc::O_WRONLY) {
            Ok(w) => {
                // SAFETY: w was just opened and is not used afterwards; nothing was written.
                unsafe { libc::close(w) };
                return "ok".into();
            }
            Err(e) if e == "ETXTBSY" && std::time::Instant::now() < until => {
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            Err(e) => return e,
        }
    }
}
