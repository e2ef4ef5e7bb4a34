//! The container process's own attributes: rlimits, identity, capabilities, working directory,
//! and the final `execve` of the user's program.

use std::collections::HashSet;
use std::convert::Infallible;
use std::ffi::{CStr, CString};
use std::os::fd::BorrowedFd;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use caps::{CapSet, CapsHashSet};
use nix::fcntl::AtFlags;
use nix::sys::resource::{setrlimit, Resource};
use nix::sys::signal::SigSet;
use nix::sys::stat::{umask, Mode};
use nix::unistd::{fchdir, setgroups, setresgid, setresuid, Gid, Uid};
use oci_spec::runtime::{LinuxCapabilities, PosixRlimitType, Process};

use super::rootfs::RootDir;
use crate::error::{Context, Error, Result};
use crate::logging;

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Applies `process.rlimits` (while still privileged: raising a hard limit needs it).
pub fn apply_rlimits(process: &Process) -> Result<()> {
    for rlimit in process.rlimits().iter().flatten() {
        let resource = rlimit_resource(rlimit.typ());
        setrlimit(resource, rlimit.soft(), rlimit.hard()).map_err(|e| {
            Error::config(
                "process.rlimits",
                format!(
                    "{:?} soft {} hard {}: {e}",
                    rlimit.typ(),
                    rlimit.soft(),
                    rlimit.hard()
                ),
            )
        })?;
    }
    Ok(())
}

fn rlimit_resource(typ: PosixRlimitType) -> Resource {
    match typ {
        PosixRlimitType::RlimitCpu => Resource::RLIMIT_CPU,
        PosixRlimitType::RlimitFsize => Resource::RLIMIT_FSIZE,
        PosixRlimitType::RlimitData => Resource::RLIMIT_DATA,
        PosixRlimitType::RlimitStack => Resource::RLIMIT_STACK,
        PosixRlimitType::RlimitCore => Resource::RLIMIT_CORE,
        PosixRlimitType::RlimitRss => Resource::RLIMIT_RSS,
        PosixRlimitType::RlimitNproc => Resource::RLIMIT_NPROC,
        PosixRlimitType::RlimitNofile => Resource::RLIMIT_NOFILE,
        PosixRlimitType::RlimitMemlock => Resource::RLIMIT_MEMLOCK,
        PosixRlimitType::RlimitAs => Resource::RLIMIT_AS,
        PosixRlimitType::RlimitLocks => Resource::RLIMIT_LOCKS,
        PosixRlimitType::RlimitSigpending => Resource::RLIMIT_SIGPENDING,
        PosixRlimitType::RlimitMsgqueue => Resource::RLIMIT_MSGQUEUE,
        PosixRlimitType::RlimitNice => Resource::RLIMIT_NICE,
        PosixRlimitType::RlimitRtprio => Resource::RLIMIT_RTPRIO,
        PosixRlimitType::RlimitRttime => Resource::RLIMIT_RTTIME,
    }
}

/// The program the container process will become, resolved before `start`.
#[derive(Debug)]
pub struct ExecPlan {
    path: CString,
    args: Vec<CString>,
    env: Vec<CString>,
}

/// Enters `process.cwd` and resolves the program to run, inside the container's root.
pub fn prepare_exec(process: &Process, extra_env: &[String]) -> Result<ExecPlan> {
    enter_cwd(process.cwd())?;
    let mut env: Vec<String> = process.env().clone().unwrap_or_default();
    env.extend(extra_env.iter().cloned());
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={}", home_of(process.user().uid())));
    }
    let args = process.args().clone().unwrap_or_default();
    let program = &args[0];
    let search_path = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or(DEFAULT_PATH);
    let path = find_executable(program, search_path).ok_or_else(|| {
        Error::config(
            "process.args",
            format!("exec: \"{program}\": executable file not found in $PATH"),
        )
    })?;
    let cstring = |s: &str, field: &str| {
        CString::new(s).map_err(|_| Error::config(field, "contains a NUL byte"))
    };
    Ok(ExecPlan {
        path: cstring(&path.to_string_lossy(), "process.args")?,
        args: args
            .iter()
            .map(|a| cstring(a, "process.args"))
            .collect::<Result<_>>()?,
        env: env
            .iter()
            .map(|e| cstring(e, "process.env"))
            .collect::<Result<_>>()?,
    })
}

/// Enters `cwd` as resolved inside the container's root: no `..` or symlink leads out of it,
/// and no /proc magic link is followed, so a working directory such as `/proc/self/fd/N` can
/// never be a directory outside the container (CVE-2024-21626).
fn enter_cwd(cwd: &Path) -> Result<()> {
    let refused = |e: nix::Error| {
        let why = if e == nix::Error::ELOOP {
            "it leads through a /proc magic link or too many symlinks".to_string()
        } else {
            e.to_string()
        };
        Error::config("process.cwd", format!("{}: {why}", cwd.display()))
    };
    let dir = RootDir::open(Path::new("/"))?
        .resolve(cwd)
        .map_err(refused)?;
    fchdir(&dir).map_err(refused)
}

/// Finds `program` like execvp does: as given when it holds a slash, else on `search_path`.
fn find_executable(program: &str, search_path: &str) -> Option<PathBuf> {
    let is_executable = |p: &Path| {
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        let path = PathBuf::from(program);
        return is_executable(&path).then_some(path);
    }
    search_path
        .split(':')
        .map(|dir| Path::new(if dir.is_empty() { "." } else { dir }).join(program))
        .find(|candidate| is_executable(candidate))
}

/// The home directory of `uid` from the container's /etc/passwd, `/` when unknown.
fn home_of(uid: u32) -> String {
    crate::passwd::lookup_uid(Path::new("/etc/passwd"), uid)
        .map(|(_, home)| home)
        .unwrap_or_else(|| "/".to_string())
}

/// Switches to the configured user and capability sets, umask and no_new_privs.
pub fn set_identity(process: &Process) -> Result<()> {
    let user = process.user();
    let capabilities = process.capabilities().as_ref();
    if let Some(caps) = capabilities {
        let bounding = to_caps(caps.bounding().as_ref(), "bounding")?;
        for cap in caps::all().difference(&bounding) {
            caps::drop(None, CapSet::Bounding, *cap).map_err(|e| cap_error("bounding", e))?;
        }
    }
    // Keep the permitted set across the switch away from uid 0.
    nix::sys::prctl::set_keepcaps(true).context("keep capabilities")?;
    let groups: Vec<Gid> = user
        .additional_gids()
        .iter()
        .flatten()
        .map(|g| Gid::from_raw(*g))
        .collect();
    match setgroups(&groups) {
        // A user namespace made by an unprivileged user denies setgroups; with no groups
        // asked for, the ones inherited stay (as under runc).
        Err(nix::Error::EPERM) if groups.is_empty() && setgroups_denied() => {}
        result => result.context("process.user.additionalGids: setgroups")?,
    }
    let gid = Gid::from_raw(user.gid());
    setresgid(gid, gid, gid).context("process.user.gid: setresgid")?;
    let uid = Uid::from_raw(user.uid());
    setresuid(uid, uid, uid).context("process.user.uid: setresuid")?;
    nix::sys::prctl::set_keepcaps(false).context("reset keepcaps")?;
    if let Some(caps) = capabilities {
        apply_capability_sets(caps)?;
    }
    // Unset means the caller's umask stays (config.md).
    if let Some(mask) = user.umask() {
        umask(Mode::from_bits_truncate(mask));
    }
    if process.no_new_privileges().unwrap_or(false) {
        nix::sys::prctl::set_no_new_privs().context("process.noNewPrivileges")?;
    }
    Ok(())
}

/// True when this user namespace denies setgroups(2) (`/proc/self/setgroups` says "deny").
fn setgroups_denied() -> bool {
    std::fs::read_to_string("/proc/self/setgroups").is_ok_and(|s| s.trim() == "deny")
}

/// Sets effective (first, while permitted is still full), permitted and inheritable, then
/// raises each ambient capability. An ambient capability the kernel refuses (not in both
/// permitted and inheritable) is one warning line, not an error (config.md: capabilities that
/// cannot be granted are logged as warnings; runc ignores them silently).
fn apply_capability_sets(caps: &LinuxCapabilities) -> Result<()> {
    let sets = [
        (CapSet::Effective, caps.effective(), "effective"),
        (CapSet::Permitted, caps.permitted(), "permitted"),
        (CapSet::Inheritable, caps.inheritable(), "inheritable"),
    ];
    for (set, wanted, name) in sets {
        let wanted = to_caps(wanted.as_ref(), name)?;
        caps::set(None, set, &wanted).map_err(|e| cap_error(name, e))?;
    }
    caps::clear(None, CapSet::Ambient).map_err(|e| cap_error("ambient", e))?;
    let mut refused: Vec<String> = to_caps(caps.ambient().as_ref(), "ambient")?
        .into_iter()
        .filter(|cap| caps::raise(None, CapSet::Ambient, *cap).is_err())
        .map(|cap| cap.to_string())
        .collect();
    if !refused.is_empty() {
        refused.sort();
        logging::warn(&format!(
            "process.capabilities.ambient: {} not raised (an ambient capability must also be permitted and inheritable)",
            refused.join(", ")
        ));
    }
    Ok(())
}

fn to_caps(
    set: Option<&HashSet<oci_spec::runtime::Capability>>,
    name: &str,
) -> Result<CapsHashSet> {
    let supported = caps::runtime::thread_all_supported();
    set.into_iter()
        .flatten()
        .map(|cap| {
            let parsed: caps::Capability = format!("CAP_{cap}")
                .parse()
                .map_err(|_| Error::config(cap_field(name), format!("unknown capability {cap}")))?;
            if !supported.contains(&parsed) {
                logging::warn(&format!(
                    "{}: {parsed} is not supported by this kernel; skipped",
                    cap_field(name)
                ));
                return Ok(None);
            }
            Ok(Some(parsed))
        })
        .filter_map(Result::transpose)
        .collect()
}

fn cap_field(set: &str) -> String {
    format!("process.capabilities.{set}")
}

fn cap_error(set: &str, e: caps::errors::CapsError) -> Error {
    Error::config(cap_field(set), e.to_string())
}

/// Restores default signal handling, then replaces this process with the user's program, or,
/// given berth-init's image (`init`), with `berth-init -- <args>`, which runs the program as
/// its child. The image's fd is close-on-exec: once the exec succeeds it is gone.
pub fn exec(plan: &ExecPlan, init: Option<BorrowedFd<'_>>) -> Result<Infallible> {
    crate::sys::reset_signal_dispositions();
    SigSet::empty()
        .thread_set_mask()
        .context("clear signal mask")?;
    let (err, program) = match init {
        None => (
            nix::unistd::execve(&plan.path, &plan.args, &plan.env).unwrap_err(),
            plan.path.to_string_lossy(),
        ),
        Some(image) => {
            let args: Vec<&CStr> = [c"berth-init", c"--"]
                .into_iter()
                .chain(plan.args.iter().map(CString::as_c_str))
                .collect();
            let empty_path = AtFlags::AT_EMPTY_PATH;
            let result = nix::unistd::execveat(image, c"", &args, &plan.env, empty_path);
            (result.unwrap_err(), "berth-init (--init)".into())
        }
    };
    Err(Error::Sys {
        context: format!("exec {program}"),
        source: err,
    })
}
