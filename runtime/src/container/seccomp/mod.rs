//! `linux.seccomp`: compiles an OCI seccomp profile into one classic BPF program with
//! seccompiler, ready for `seccomp(2)`.
//!
//! seccompiler's [`SeccompFilter`] has one match action and one mismatch action, while an OCI
//! profile gives each rule its own action. So the rules are grouped by action, each group is
//! compiled as a filter of its own whose mismatch action is a sentinel, and the groups are
//! chained: every sentinel `RET` is rewritten into a `BPF_JA` to the first instruction of the
//! next group, and the last group's mismatch action is `defaultAction`. Groups are ordered by
//! the kernel's precedence of actions (`KILL_PROCESS` first, `ALLOW` last), so when conditional
//! rules for the same syscall disagree, the most restrictive matching rule wins, as between
//! stacked filters. A rule without `args` for a syscall named before follows libseccomp (so
//! runc): the first such rule of a syscall is its only one, later rules for it are dropped, and
//! it replaces the conditional rules before it (a profile such as Podman's default, given as it
//! is, names a syscall both allowed and denied, the engine meaning to pick by capability). `SCMP_ACT_NOTIFY` (`SECCOMP_RET_USER_NOTIF`) is not a seccompiler action either: it
//! is compiled as a second sentinel and rewritten the same way.
//!
//! Like runc: a syscall name this architecture does not have is skipped (logged with
//! `--debug`), a rule whose action is the default action is ignored, and a rule comparing the
//! same argument twice becomes one rule per comparison (any of them matching) instead of one
//! rule needing all of them.
//!
//! Architectures (a deviation from runc): seccompiler compiles for the native architecture
//! only, and its program kills the process (`SECCOMP_RET_KILL_PROCESS`) on a syscall made
//! through any other ABI. runc (libseccomp) also filters the ABIs named in `architectures`,
//! e.g. `SCMP_ARCH_X86` and `SCMP_ARCH_X32` on x86_64, with the same rules. berth does not: a
//! 32-bit or x32 program in a container with a seccomp profile is killed at its first syscall,
//! whatever `architectures` says. x32 syscalls carry the native audit arch with bit 30 set in
//! their number, which seccompiler does not check; berth adds that check, so that they cannot
//! slip past the rules to the default action.

mod listener;
mod syscalls;

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::path::PathBuf;

use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompFilterFlag,
    LinuxSeccompOperator, LinuxSyscall,
};
use seccompiler::{
    sock_filter, BackendError, BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp,
    SeccompCondition, SeccompFilter, SeccompRule, TargetArch,
};

use crate::error::{Error, Result};
use crate::logging;

pub use listener::send_listener;

/// The actions berth compiles (`syscalls[].action`, `defaultAction`).
pub const ACTIONS: &[&str] = &[
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_TRAP",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY",
];

/// The argument comparisons berth compiles (`syscalls[].args[].op`).
pub const OPERATORS: &[&str] = &[
    "SCMP_CMP_NE",
    "SCMP_CMP_LT",
    "SCMP_CMP_LE",
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_MASKED_EQ",
];

/// The architectures whose syscalls berth filters: the native one only (see the module doc).
/// Other names are accepted in `architectures`, but syscalls of those ABIs kill the process.
#[cfg(target_arch = "x86_64")]
pub const ARCHITECTURES: &[&str] = &["SCMP_ARCH_X86_64"];
/// The architectures whose syscalls berth filters: none, no syscall table for this one yet.
#[cfg(not(target_arch = "x86_64"))]
pub const ARCHITECTURES: &[&str] = &[];

/// The `flags` berth passes to `seccomp(2)`.
pub const FLAGS: &[&str] = &[
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
];

/// The kernel's limit on the length of a classic BPF program (`BPF_MAXINSNS`).
pub const MAX_INSTRUCTIONS: usize = 4096;

/// The syscall berth itself still makes after loading a filter with a listener, to hand the
/// listener to its parent: notifying it would wait for an agent that never gets the listener.
const LISTENER_HANDOFF_SYSCALL: &str = "sendmsg";

/// A compiled profile: the program and how to load it.
#[derive(Debug, Clone)]
pub struct Program {
    filter: BpfProgram,
    flags: libc::c_ulong,
    listener: Option<Listener>,
}

/// Where the listener fd of a profile with `SCMP_ACT_NOTIFY` goes (`listenerPath`), and the
/// `listenerMetadata` sent with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    /// The seccomp agent's unix socket, a host path.
    pub path: PathBuf,
    /// Opaque data for the agent.
    pub metadata: Option<String>,
}

impl Program {
    /// The BPF instructions.
    pub fn filter(&self) -> &[sock_filter] {
        &self.filter
    }

    /// `SECCOMP_FILTER_FLAG_*` bits for `seccomp(2)`; `NEW_LISTENER` when a rule notifies.
    pub fn flags(&self) -> libc::c_ulong {
        self.flags
    }

    /// The agent to send the listener fd to, when a rule notifies.
    pub fn listener(&self) -> Option<&Listener> {
        self.listener.as_ref()
    }
}

/// An action with its data, ordered by the kernel's precedence (most restrictive first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Action {
    KillProcess,
    KillThread,
    Trap,
    Errno(u16),
    Notify,
    Trace(u16),
    Log,
    Allow,
}

impl Action {
    /// The same action for seccompiler, which has no `SECCOMP_RET_USER_NOTIF`.
    fn seccompiler(self) -> Option<SeccompAction> {
        Some(match self {
            Action::KillProcess => SeccompAction::KillProcess,
            Action::KillThread => SeccompAction::KillThread,
            Action::Trap => SeccompAction::Trap,
            Action::Errno(errno) => SeccompAction::Errno(errno.into()),
            Action::Notify => return None,
            Action::Trace(data) => SeccompAction::Trace(data.into()),
            Action::Log => SeccompAction::Log,
            Action::Allow => SeccompAction::Allow,
        })
    }
}

/// The rules of one action: syscall number -> rules, any of which matching is a match (no
/// rules: the syscall matches whatever its arguments).
type Rules = BTreeMap<i64, Vec<SeccompRule>>;

/// Compiles the spec's `linux.seccomp`, if any.
pub fn compile_spec(spec: &oci_spec::runtime::Spec) -> Result<Option<Program>> {
    spec.linux()
        .as_ref()
        .and_then(|l| l.seccomp().as_ref())
        .map(compile)
        .transpose()
}

/// Compiles a profile; errors name the field at fault.
pub fn compile(seccomp: &LinuxSeccomp) -> Result<Program> {
    let arch = native_arch()?;
    check_architectures(seccomp.architectures().as_deref().unwrap_or_default());
    let default = action(
        seccomp.default_action(),
        seccomp.default_errno_ret(),
        "linux.seccomp.defaultErrnoRet",
    )?;
    if default == Action::Notify {
        return Err(Error::config(
            "linux.seccomp.defaultAction",
            "SCMP_ACT_NOTIFY cannot be the default action: berth must still send the listener \
             to its parent after loading the filter",
        ));
    }
    let mut groups: BTreeMap<Action, Rules> = BTreeMap::new();
    for (i, syscall) in seccomp.syscalls().iter().flatten().enumerate() {
        add_syscall(&mut groups, syscall, i, default)?;
    }
    let listener = listener(seccomp, groups.contains_key(&Action::Notify))?;
    let filter = assemble(arch, groups, default)?;
    Ok(Program {
        filter,
        flags: flags(
            seccomp.flags().as_deref().unwrap_or_default(),
            listener.is_some(),
        ),
        listener,
    })
}

fn native_arch() -> Result<TargetArch> {
    let arch = std::env::consts::ARCH;
    TargetArch::try_from(arch)
        .ok()
        .filter(|_| syscalls::native_table_available())
        .ok_or_else(|| {
            Error::config(
                "linux.seccomp",
                format!("berth cannot compile seccomp filters for {arch} yet"),
            )
        })
}

/// The audit arch of the native architecture as `architectures` names it.
fn is_native(arch: Arch) -> bool {
    arch == Arch::ScmpArchNative || ARCHITECTURES.contains(&arch.to_string().as_str())
}

fn check_architectures(architectures: &[Arch]) {
    for arch in architectures.iter().filter(|a| !is_native(**a)) {
        logging::debug(&format!(
            "linux.seccomp.architectures: {arch} is not filtered by berth; syscalls made \
             through that ABI kill the process"
        ));
    }
}

fn action(action: LinuxSeccompAction, errno_ret: Option<u32>, field: &str) -> Result<Action> {
    use LinuxSeccompAction as A;
    let data = || -> Result<u16> {
        let errno = errno_ret.unwrap_or(libc::EPERM as u32);
        u16::try_from(errno)
            .map_err(|_| Error::config(field, format!("{errno} is not an errno (at most 65535)")))
    };
    let compiled = match action {
        A::ScmpActErrno => return Ok(Action::Errno(data()?)),
        A::ScmpActTrace => return Ok(Action::Trace(data()?)),
        A::ScmpActKill | A::ScmpActKillThread => Action::KillThread,
        A::ScmpActKillProcess => Action::KillProcess,
        A::ScmpActTrap => Action::Trap,
        A::ScmpActNotify => Action::Notify,
        A::ScmpActLog => Action::Log,
        A::ScmpActAllow => Action::Allow,
    };
    match errno_ret {
        Some(_) => Err(Error::config(
            field,
            format!("{action} takes no errno; only SCMP_ACT_ERRNO and SCMP_ACT_TRACE do"),
        )),
        None => Ok(compiled),
    }
}

/// Adds `syscalls[index]` to the group of its action.
fn add_syscall(
    groups: &mut BTreeMap<Action, Rules>,
    syscall: &LinuxSyscall,
    index: usize,
    default: Action,
) -> Result<()> {
    let field = format!("linux.seccomp.syscalls[{index}]");
    if syscall.names().is_empty() {
        return Err(Error::config(
            format!("{field}.names"),
            "must name at least one syscall",
        ));
    }
    let action = action(
        syscall.action(),
        syscall.errno_ret(),
        &format!("{field}.errnoRet"),
    )?;
    let rules = rules(syscall.args().as_deref().unwrap_or_default(), &field)?;
    if action == default {
        logging::debug(&format!(
            "{field}: the same action as defaultAction; ignored"
        ));
        return Ok(());
    }
    for name in syscall.names() {
        if action == Action::Notify && name == LISTENER_HANDOFF_SYSCALL {
            return Err(Error::config(
                format!("{field}.names"),
                format!(
                    "{name} cannot be notified: berth uses it to hand the listener to its parent"
                ),
            ));
        }
        let Some(nr) = syscalls::number(name) else {
            logging::debug(&format!(
                "{field}.names: no syscall {name} on {}; skipped",
                std::env::consts::ARCH
            ));
            continue;
        };
        // No rules means "whatever the arguments": the first such rule stays alone.
        if groups
            .values()
            .any(|g| g.get(&nr).is_some_and(Vec::is_empty))
        {
            logging::debug(&format!(
                "{field}: {name} already has a rule for any arguments; ignored"
            ));
            continue;
        }
        if rules.is_empty() {
            for group in groups.values_mut() {
                group.remove(&nr);
            }
        }
        match groups.entry(action).or_default().entry(nr) {
            Entry::Vacant(entry) => {
                entry.insert(rules.clone());
            }
            Entry::Occupied(mut entry) => entry.get_mut().extend(rules.iter().cloned()),
        }
    }
    Ok(())
}

/// The rules of one `syscalls[]` entry: none without `args`, one rule with every comparison,
/// or (when an argument is compared twice) one rule per comparison, as runc does.
fn rules(args: &[LinuxSeccompArg], field: &str) -> Result<Vec<SeccompRule>> {
    let conditions = args
        .iter()
        .enumerate()
        .map(|(j, arg)| condition(arg, &format!("{field}.args[{j}]")))
        .collect::<Result<Vec<_>>>()?;
    if conditions.is_empty() {
        return Ok(Vec::new());
    }
    let mut indices: Vec<usize> = args.iter().map(|a| a.index()).collect();
    indices.sort_unstable();
    indices.dedup();
    let rules = if indices.len() == args.len() {
        vec![conditions]
    } else {
        conditions.into_iter().map(|c| vec![c]).collect()
    };
    Ok(rules
        .into_iter()
        .map(|c| SeccompRule::new(c).expect("a rule of at least one condition"))
        .collect())
}

fn condition(arg: &LinuxSeccompArg, field: &str) -> Result<SeccompCondition> {
    use LinuxSeccompOperator as Op;
    let index = u8::try_from(arg.index())
        .ok()
        .filter(|i| *i <= 5)
        .ok_or_else(|| {
            Error::config(
                format!("{field}.index"),
                format!("{} is not a syscall argument (0 to 5)", arg.index()),
            )
        })?;
    // MASKED_EQ: `value` is the mask and `valueTwo` what the masked argument must equal.
    let (op, value) = match arg.op() {
        Op::ScmpCmpNe => (SeccompCmpOp::Ne, arg.value()),
        Op::ScmpCmpLt => (SeccompCmpOp::Lt, arg.value()),
        Op::ScmpCmpLe => (SeccompCmpOp::Le, arg.value()),
        Op::ScmpCmpEq => (SeccompCmpOp::Eq, arg.value()),
        Op::ScmpCmpGe => (SeccompCmpOp::Ge, arg.value()),
        Op::ScmpCmpGt => (SeccompCmpOp::Gt, arg.value()),
        Op::ScmpCmpMaskedEq => (
            SeccompCmpOp::MaskedEq(arg.value()),
            arg.value_two().unwrap_or(0),
        ),
    };
    // Whole 64-bit arguments, as libseccomp compares them on 64-bit architectures.
    SeccompCondition::new(index, SeccompCmpArgLen::Qword, op, value)
        .map_err(|e| Error::config(field, e.to_string()))
}

fn listener(seccomp: &LinuxSeccomp, notifies: bool) -> Result<Option<Listener>> {
    let path = seccomp.listener_path().clone();
    let metadata = seccomp.listener_metadata().clone();
    if path.is_none() && metadata.is_some() {
        return Err(Error::config(
            "linux.seccomp.listenerMetadata",
            "must not be set without listenerPath",
        ));
    }
    match path {
        _ if !notifies => Ok(None),
        None => Err(Error::config(
            "linux.seccomp.listenerPath",
            "required when a rule's action is SCMP_ACT_NOTIFY",
        )),
        Some(path) if !path.is_absolute() => Err(Error::config(
            "linux.seccomp.listenerPath",
            format!("{} must be an absolute path", path.display()),
        )),
        Some(path) => Ok(Some(Listener { path, metadata })),
    }
}

fn flags(flags: &[LinuxSeccompFilterFlag], listener: bool) -> libc::c_ulong {
    use LinuxSeccompFilterFlag as F;
    let mut bits = 0;
    for flag in flags {
        bits |= match flag {
            F::SeccompFilterFlagTsync => libc::SECCOMP_FILTER_FLAG_TSYNC,
            F::SeccompFilterFlagLog => libc::SECCOMP_FILTER_FLAG_LOG,
            F::SeccompFilterFlagSpecAllow => libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW,
            F::SeccompFilterFlagWaitKillableRecv => libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
        };
    }
    if listener {
        bits |= libc::SECCOMP_FILTER_FLAG_NEW_LISTENER;
        // The kernel takes TSYNC with a listener only when told to report failures as ESRCH.
        if bits & libc::SECCOMP_FILTER_FLAG_TSYNC != 0 {
            bits |= libc::SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
        }
    } else if bits & libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV != 0 {
        // It only changes how a notifying syscall waits, and the kernel refuses it alone.
        logging::debug(
            "linux.seccomp.flags: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV ignored: no rule notifies",
        );
        bits &= !libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
    }
    bits
}

const RET: u16 = 0x06; // BPF_RET | BPF_K
const JA: u16 = 0x05; // BPF_JMP | BPF_JA
const LD_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const JGE: u16 = 0x35; // BPF_JMP | BPF_JGE | BPF_K

/// Return values no real action of the profile uses, standing for "go on with the next
/// group" and "notify" while seccompiler compiles.
struct Sentinels {
    next: u32,
    notify: u32,
}

impl Sentinels {
    fn avoiding(used: &[u32]) -> Sentinels {
        let mut free = (0..=u16::MAX)
            .rev()
            .map(|data| libc::SECCOMP_RET_TRACE | u32::from(data))
            .filter(|k| !used.contains(k));
        Sentinels {
            next: free
                .next()
                .expect("assemble keeps the number of actions small"),
            notify: free
                .next()
                .expect("assemble keeps the number of actions small"),
        }
    }

    fn of(&self, action: Action) -> SeccompAction {
        action
            .seccompiler()
            .unwrap_or(SeccompAction::Trace(self.notify & libc::SECCOMP_RET_DATA))
    }

    fn next(&self) -> SeccompAction {
        SeccompAction::Trace(self.next & libc::SECCOMP_RET_DATA)
    }
}

/// Compiles each group with seccompiler and chains them into one program.
fn assemble(
    arch: TargetArch,
    groups: BTreeMap<Action, Rules>,
    default: Action,
) -> Result<BpfProgram> {
    // Each group takes at least a load, a comparison, two jumps and a return; refusing more
    // groups than can fit also leaves sentinel values free.
    const MIN_GROUP_LEN: usize = 5;
    if groups.len() * MIN_GROUP_LEN > MAX_INSTRUCTIONS {
        return Err(too_long(groups.len() * MIN_GROUP_LEN));
    }
    let used: Vec<u32> = groups
        .keys()
        .chain([&default])
        .filter_map(|a| a.seccompiler())
        .map(u32::from)
        .collect();
    let sentinels = Sentinels::avoiding(&used);
    // A filter without rules is the architecture check followed by the default action.
    let bare = seccompiler_program(Rules::new(), sentinels.of(default), sentinels.next(), arch)?;
    let (prologue, default_only) = bare.split_at(bare.len() - 1);
    let mut program = prologue.to_vec();
    program.extend(x32_guard(arch));
    let last = groups.len().saturating_sub(1);
    let mut bodies = Vec::new();
    for (i, (action, rules)) in groups.into_iter().enumerate() {
        let mismatch = if i == last {
            sentinels.of(default)
        } else {
            sentinels.next()
        };
        let compiled = seccompiler_program(rules, mismatch, sentinels.of(action), arch)?;
        let body = compiled
            .strip_prefix(prologue)
            .expect("seccompiler starts every filter with the same architecture check");
        bodies.push(body.to_vec());
    }
    if bodies.is_empty() {
        bodies.push(default_only.to_vec());
    }
    for body in bodies {
        let next_group = program.len() + body.len();
        for insn in body {
            program.push(rewrite(insn, &sentinels, program.len(), next_group));
        }
    }
    if program.len() > MAX_INSTRUCTIONS {
        return Err(too_long(program.len()));
    }
    Ok(program)
}

fn seccompiler_program(
    rules: Rules,
    mismatch: SeccompAction,
    matched: SeccompAction,
    arch: TargetArch,
) -> Result<BpfProgram> {
    let filter = SeccompFilter::new(rules, mismatch, matched, arch)
        .map_err(|e| Error::config("linux.seccomp", e.to_string()))?;
    BpfProgram::try_from(filter).map_err(|e| match e {
        BackendError::FilterTooLarge(len) => too_long(len),
        e => Error::config("linux.seccomp", e.to_string()),
    })
}

fn too_long(len: usize) -> Error {
    Error::config(
        "linux.seccomp.syscalls",
        format!(
            "the filter needs {len} BPF instructions or more; the kernel takes at most \
             {MAX_INSTRUCTIONS}"
        ),
    )
}

/// Resolves the sentinels of the instruction placed at `pc`: "next group" becomes a jump to
/// `next_group`, "notify" becomes `SECCOMP_RET_USER_NOTIF`.
fn rewrite(insn: sock_filter, sentinels: &Sentinels, pc: usize, next_group: usize) -> sock_filter {
    if insn.code != RET {
        return insn;
    }
    if insn.k == sentinels.next {
        let offset = u32::try_from(next_group - pc - 1).expect("programs are short");
        return sock_filter {
            code: JA,
            jt: 0,
            jf: 0,
            k: offset,
        };
    }
    if insn.k == sentinels.notify {
        return sock_filter {
            k: libc::SECCOMP_RET_USER_NOTIF,
            ..insn
        };
    }
    insn
}

/// x86_64 only: a syscall number with the x32 bit (`__X32_SYSCALL_BIT`) is an x32 syscall under
/// the x86_64 audit arch; like any other ABI, it kills the process (see the module doc).
fn x32_guard(arch: TargetArch) -> Vec<sock_filter> {
    const X32_SYSCALL_BIT: u32 = 0x4000_0000;
    if arch != TargetArch::x86_64 {
        return Vec::new();
    }
    vec![
        sock_filter {
            code: LD_ABS,
            jt: 0,
            jf: 0,
            k: 0,
        },
        sock_filter {
            code: JGE,
            jt: 0,
            jf: 1,
            k: X32_SYSCALL_BIT,
        },
        sock_filter {
            code: RET,
            jt: 0,
            jf: 0,
            k: libc::SECCOMP_RET_KILL_PROCESS,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
    const AUDIT_ARCH_I386: u32 = 0x4000_0003;
    const ERRNO: u32 = libc::SECCOMP_RET_ERRNO;

    fn profile(v: Value) -> LinuxSeccomp {
        serde_json::from_value(v).expect("a valid LinuxSeccomp")
    }

    fn compiled(v: Value) -> Program {
        compile(&profile(v)).expect("compiles")
    }

    fn error(v: Value) -> String {
        compile(&profile(v)).expect_err("refused").to_string()
    }

    /// Runs `program` as the kernel would for a syscall: the classic BPF subset seccompiler
    /// and the chaining emit, over `struct seccomp_data`.
    fn run(program: &Program, arch: u32, nr: i64, args: [u64; 6]) -> u32 {
        let mut data = Vec::with_capacity(64);
        data.extend_from_slice(&(nr as u32).to_ne_bytes());
        data.extend_from_slice(&arch.to_ne_bytes());
        data.extend_from_slice(&0u64.to_ne_bytes());
        for arg in args {
            data.extend_from_slice(&arg.to_ne_bytes());
        }
        let word =
            |k: u32| u32::from_ne_bytes(data[k as usize..k as usize + 4].try_into().unwrap());
        let insns = program.filter();
        let (mut a, mut pc) = (0u32, 0usize);
        loop {
            let insn = &insns[pc];
            pc += 1;
            let jump = |taken: bool| usize::from(if taken { insn.jt } else { insn.jf });
            match insn.code {
                0x20 => a = word(insn.k),
                0x54 => a &= insn.k,
                0x05 => pc += insn.k as usize,
                0x15 => pc += jump(a == insn.k),
                0x25 => pc += jump(a > insn.k),
                0x35 => pc += jump(a >= insn.k),
                0x06 => return insn.k,
                code => panic!("unexpected BPF opcode {code:#x} at {}", pc - 1),
            }
        }
    }

    fn call(program: &Program, name: &str, args: [u64; 6]) -> u32 {
        let nr = syscalls::number(name).expect("a native syscall");
        run(program, AUDIT_ARCH_X86_64, nr, args)
    }

    fn arg0(value: u64) -> [u64; 6] {
        [value, 0, 0, 0, 0, 0]
    }

    #[test]
    fn rules_are_grouped_by_action_and_chained() {
        let p = compiled(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [
                {"names": ["getpid", "getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 18},
                {"names": ["uname"], "action": "SCMP_ACT_KILL_PROCESS"},
                {"names": ["getuid"], "action": "SCMP_ACT_ERRNO"},
                {"names": ["gettid"], "action": "SCMP_ACT_LOG"},
                {"names": ["getgid"], "action": "SCMP_ACT_TRACE", "errnoRet": 7},
                {"names": ["getegid"], "action": "SCMP_ACT_TRAP"},
                {"names": ["geteuid"], "action": "SCMP_ACT_KILL"},
                {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 18},
            ]
        }));
        let none = [0; 6];
        assert_eq!(call(&p, "getpid", none), ERRNO | 18);
        assert_eq!(call(&p, "getppid", none), ERRNO | 18);
        assert_eq!(call(&p, "uname", none), libc::SECCOMP_RET_KILL_PROCESS);
        assert_eq!(call(&p, "getuid", none), ERRNO | libc::EPERM as u32);
        assert_eq!(call(&p, "gettid", none), libc::SECCOMP_RET_LOG);
        assert_eq!(call(&p, "getgid", none), libc::SECCOMP_RET_TRACE | 7);
        assert_eq!(call(&p, "getegid", none), libc::SECCOMP_RET_TRAP);
        assert_eq!(call(&p, "geteuid", none), libc::SECCOMP_RET_KILL_THREAD);
        assert_eq!(call(&p, "read", none), libc::SECCOMP_RET_ALLOW);
        assert_eq!(p.flags(), 0);
        assert!(p.listener().is_none());
    }

    #[test]
    fn the_most_restrictive_matching_rule_wins() {
        let p = compiled(json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [
                {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_LE"}]},
                {"names": ["personality"], "action": "SCMP_ACT_KILL_PROCESS",
                 "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
            ]
        }));
        assert_eq!(call(&p, "personality", arg0(0)), libc::SECCOMP_RET_ALLOW);
        assert_eq!(
            call(&p, "personality", arg0(8)),
            libc::SECCOMP_RET_KILL_PROCESS
        );
    }

    #[test]
    fn every_comparison_operator() {
        let rule = |name: &str, op: &str, value: u64, value_two: u64| {
            json!({"names": [name], "action": "SCMP_ACT_ERRNO", "errnoRet": 18,
                   "args": [{"index": 1, "value": value, "valueTwo": value_two, "op": op}]})
        };
        let high = 0x1_0000_0000u64;
        let p = compiled(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [
                rule("getpgid", "SCMP_CMP_EQ", high + 5, 0),
                rule("getsid", "SCMP_CMP_NE", high + 5, 0),
                rule("getpriority", "SCMP_CMP_LT", high + 5, 0),
                rule("setpgid", "SCMP_CMP_LE", high + 5, 0),
                rule("ioprio_get", "SCMP_CMP_GE", high + 5, 0),
                rule("kill", "SCMP_CMP_GT", high + 5, 0),
                rule("tkill", "SCMP_CMP_MASKED_EQ", 0xff0, 0x120),
            ]
        }));
        let at = |name: &str, value: u64| call(&p, name, [0, value, 0, 0, 0, 0]) == ERRNO | 18;
        // The whole 64 bits count: 5 alone is not high + 5.
        assert!(at("getpgid", high + 5) && !at("getpgid", 5) && !at("getpgid", high + 6));
        assert!(!at("getsid", high + 5) && at("getsid", 5) && at("getsid", high + 4));
        assert!(
            at("getpriority", high + 4) && at("getpriority", 6) && !at("getpriority", high + 5)
        );
        assert!(at("setpgid", high + 5) && at("setpgid", 3) && !at("setpgid", high + 6));
        assert!(at("ioprio_get", high + 5) && at("ioprio_get", 2 * high) && !at("ioprio_get", 6));
        assert!(at("kill", high + 6) && !at("kill", high + 5) && !at("kill", 7));
        assert!(at("tkill", 0x123) && at("tkill", 0xf12f) && !at("tkill", 0x223));
    }

    /// `kill` fails with EPERM when `args` match; returns what `kill(pid, signal)` gets.
    fn kill_rule(args: Value) -> impl Fn(u64, u64) -> u32 {
        let p = compiled(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["kill"], "action": "SCMP_ACT_ERRNO", "args": args}]
        }));
        move |pid, signal| call(&p, "kill", [pid, signal, 0, 0, 0, 0])
    }

    #[test]
    fn conditions_on_different_arguments_all_apply() {
        let kill = kill_rule(json!([
            {"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
            {"index": 1, "value": 9, "op": "SCMP_CMP_EQ"},
        ]));
        assert_eq!(kill(1, 9), ERRNO | libc::EPERM as u32);
        assert_eq!(kill(1, 15), libc::SECCOMP_RET_ALLOW);
        assert_eq!(kill(2, 9), libc::SECCOMP_RET_ALLOW);
    }

    #[test]
    fn an_argument_compared_twice_matches_on_either_comparison() {
        let kill = kill_rule(json!([
            {"index": 1, "value": 9, "op": "SCMP_CMP_EQ"},
            {"index": 1, "value": 19, "op": "SCMP_CMP_EQ"},
        ]));
        assert_eq!(kill(1, 9), ERRNO | libc::EPERM as u32);
        assert_eq!(kill(1, 19), ERRNO | libc::EPERM as u32);
        assert_eq!(kill(1, 15), libc::SECCOMP_RET_ALLOW);
    }

    #[test]
    fn an_unconditional_rule_absorbs_conditional_ones() {
        let p = compiled(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [
                {"names": ["kill"], "action": "SCMP_ACT_ERRNO",
                 "args": [{"index": 1, "value": 9, "op": "SCMP_CMP_EQ"}]},
                {"names": ["kill"], "action": "SCMP_ACT_ERRNO"},
            ]
        }));
        assert_eq!(
            call(&p, "kill", [1, 15, 0, 0, 0, 0]),
            ERRNO | libc::EPERM as u32
        );
    }

    #[test]
    fn the_first_rule_for_any_arguments_is_the_only_one() {
        let p = compiled(json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "defaultErrnoRet": 38,
            "syscalls": [
                {"names": ["setns", "chroot"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["setns"], "action": "SCMP_ACT_ERRNO"},
                {"names": ["chroot"], "action": "SCMP_ACT_KILL_PROCESS",
                 "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]},
                {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22,
                 "args": [{"index": 0, "value": 16, "op": "SCMP_CMP_EQ"}]},
                {"names": ["socket"], "action": "SCMP_ACT_ALLOW"},
            ]
        }));
        assert_eq!(call(&p, "setns", [0; 6]), libc::SECCOMP_RET_ALLOW);
        assert_eq!(call(&p, "chroot", [0; 6]), libc::SECCOMP_RET_ALLOW);
        assert_eq!(call(&p, "socket", arg0(16)), libc::SECCOMP_RET_ALLOW);
    }

    #[test]
    fn unknown_syscalls_are_skipped_and_default_action_rules_ignored() {
        let p = compiled(json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "defaultErrnoRet": 38,
            "syscalls": [
                {"names": ["no_such_syscall", "_llseek", "getpid"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
            ]
        }));
        assert_eq!(call(&p, "getpid", [0; 6]), libc::SECCOMP_RET_ALLOW);
        assert_eq!(call(&p, "getppid", [0; 6]), ERRNO | 38);
        assert_eq!(call(&p, "read", [0; 6]), ERRNO | 38);
    }

    #[test]
    fn no_rules_is_the_default_action_alone() {
        let p = compiled(json!({"defaultAction": "SCMP_ACT_LOG"}));
        assert_eq!(call(&p, "read", [0; 6]), libc::SECCOMP_RET_LOG);
    }

    #[test]
    fn other_abis_are_killed() {
        let p = compiled(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": [{"names": ["unshare"], "action": "SCMP_ACT_ERRNO"}]
        }));
        let kill = libc::SECCOMP_RET_KILL_PROCESS;
        assert_eq!(run(&p, AUDIT_ARCH_I386, 20, [0; 6]), kill);
        let unshare = syscalls::number("unshare").unwrap();
        assert_eq!(
            run(&p, AUDIT_ARCH_X86_64, 0x4000_0000 | unshare, [0; 6]),
            kill
        );
        assert_eq!(call(&p, "unshare", [0; 6]), ERRNO | libc::EPERM as u32);
    }

    #[test]
    fn notify_rules_ask_for_a_listener() {
        let p = compiled(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "listenerPath": "/run/agent.sock",
            "listenerMetadata": "hello",
            "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
            "syscalls": [
                {"names": ["getpgid"], "action": "SCMP_ACT_NOTIFY"},
                {"names": ["getsid"], "action": "SCMP_ACT_TRACE", "errnoRet": 65535},
            ]
        }));
        assert_eq!(call(&p, "getpgid", [0; 6]), libc::SECCOMP_RET_USER_NOTIF);
        assert_eq!(call(&p, "getsid", [0; 6]), libc::SECCOMP_RET_TRACE | 0xffff);
        assert_eq!(call(&p, "read", [0; 6]), libc::SECCOMP_RET_ALLOW);
        assert_eq!(
            p.flags(),
            libc::SECCOMP_FILTER_FLAG_TSYNC
                | libc::SECCOMP_FILTER_FLAG_TSYNC_ESRCH
                | libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
                | libc::SECCOMP_FILTER_FLAG_NEW_LISTENER
        );
        assert_eq!(
            p.listener(),
            Some(&Listener {
                path: "/run/agent.sock".into(),
                metadata: Some("hello".into())
            })
        );
    }

    #[test]
    fn flags_without_a_listener() {
        let p = compiled(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "listenerPath": "/run/unused.sock",
            "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                      "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
        }));
        assert_eq!(
            p.flags(),
            libc::SECCOMP_FILTER_FLAG_LOG | libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW
        );
        assert!(p.listener().is_none());
    }

    #[test]
    fn docker_default_profile_fits_and_behaves() {
        let text = include_str!("../../../../bundle-fixtures/seccomp/docker-default.json");
        let p = compile(&serde_json::from_str(text).unwrap()).expect("compiles");
        assert!(p.filter().len() <= MAX_INSTRUCTIONS, "{}", p.filter().len());
        let eperm = ERRNO | libc::EPERM as u32;
        let allow = libc::SECCOMP_RET_ALLOW;
        for name in ["unshare", "mount", "setns", "kexec_load", "keyctl", "bpf"] {
            assert_eq!(call(&p, name, [0; 6]), eperm, "{name}");
        }
        for name in [
            "read",
            "write",
            "execve",
            "exit_group",
            "wait4",
            "arch_prctl",
        ] {
            assert_eq!(call(&p, name, [0; 6]), allow, "{name}");
        }
        assert_eq!(call(&p, "clone3", [0; 6]), ERRNO | libc::ENOSYS as u32);
        let clone = |flags: i32| call(&p, "clone", arg0(flags as u64));
        assert_eq!(clone(libc::SIGCHLD), allow);
        assert_eq!(clone(libc::CLONE_NEWNS | libc::SIGCHLD), eperm);
        assert_eq!(call(&p, "socket", arg0(libc::AF_INET as u64)), allow);
        assert_eq!(call(&p, "socket", arg0(libc::AF_VSOCK as u64)), eperm);
        assert_eq!(call(&p, "personality", arg0(0xffff_ffff)), allow);
        assert_eq!(call(&p, "personality", arg0(0x0040_0000)), eperm);
    }

    #[test]
    fn a_program_over_the_kernel_limit_is_refused() {
        let args: Vec<Value> = (0..600)
            .map(|v| {
                json!({"names": ["kill"], "action": "SCMP_ACT_ERRNO",
                            "args": [{"index": 1, "value": v, "op": "SCMP_CMP_EQ"}]})
            })
            .collect();
        let e = error(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": args}));
        assert!(
            e.starts_with("linux.seccomp.syscalls: the filter needs"),
            "{e}"
        );
        assert!(e.contains("at most 4096"), "{e}");
        let actions: Vec<Value> = (0..1000)
            .map(|errno| {
                json!({"names": ["kill"], "action": "SCMP_ACT_TRACE", "errnoRet": errno,
                       "args": [{"index": 1, "value": errno, "op": "SCMP_CMP_EQ"}]})
            })
            .collect();
        let e = error(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": actions}));
        assert!(e.contains("at most 4096"), "{e}");
    }

    #[test]
    fn invalid_profiles_name_the_field() {
        let cases = [
            (
                json!({"defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": 1}),
                "linux.seccomp.defaultErrnoRet: SCMP_ACT_ALLOW takes no errno",
            ),
            (
                json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                    {"names": ["kill"], "action": "SCMP_ACT_LOG", "errnoRet": 1}]}),
                "linux.seccomp.syscalls[0].errnoRet: SCMP_ACT_LOG takes no errno",
            ),
            (
                json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 70000}),
                "linux.seccomp.defaultErrnoRet: 70000 is not an errno",
            ),
            (
                json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                    {"names": [], "action": "SCMP_ACT_LOG"}]}),
                "linux.seccomp.syscalls[0].names: must name at least one syscall",
            ),
            (
                json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                    {"names": ["kill"], "action": "SCMP_ACT_LOG"},
                    {"names": ["kill"], "action": "SCMP_ACT_LOG",
                     "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}),
                "linux.seccomp.syscalls[1].args[0].index: 6 is not a syscall argument",
            ),
            (
                json!({"defaultAction": "SCMP_ACT_NOTIFY", "listenerPath": "/a"}),
                "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default",
            ),
            (
                json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                    {"names": ["kill"], "action": "SCMP_ACT_NOTIFY"}]}),
                "linux.seccomp.listenerPath: required",
            ),
            (
                json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "agent.sock",
                       "syscalls": [{"names": ["kill"], "action": "SCMP_ACT_NOTIFY"}]}),
                "linux.seccomp.listenerPath: agent.sock must be an absolute path",
            ),
            (
                json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerMetadata": "x"}),
                "linux.seccomp.listenerMetadata: must not be set without listenerPath",
            ),
            (
                json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/a", "syscalls": [
                    {"names": ["sendmsg"], "action": "SCMP_ACT_NOTIFY"}]}),
                "linux.seccomp.syscalls[0].names: sendmsg cannot be notified",
            ),
        ];
        for (profile, expected) in cases {
            let e = error(profile);
            assert!(
                e.starts_with(expected),
                "{e:?} should start with {expected:?}"
            );
            assert_eq!(e.lines().count(), 1, "{e}");
        }
    }

    #[test]
    fn the_advertised_names_are_the_ones_compiled() {
        for action in ACTIONS {
            let errno = matches!(*action, "SCMP_ACT_ERRNO" | "SCMP_ACT_TRACE").then_some(5);
            compiled(json!({
                "defaultAction": "SCMP_ACT_ALLOW",
                "listenerPath": "/agent.sock",
                "syscalls": [{"names": ["kill"], "action": action, "errnoRet": errno}]
            }));
        }
        for op in OPERATORS {
            compiled(json!({
                "defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": ["kill"], "action": "SCMP_ACT_LOG",
                              "args": [{"index": 0, "value": 1, "op": op}]}]
            }));
        }
        let p = compiled(json!({"defaultAction": "SCMP_ACT_LOG", "flags": FLAGS}));
        assert_ne!(p.flags(), 0);
        for arch in ARCHITECTURES {
            let arch: Arch = serde_json::from_value(json!(arch)).unwrap();
            assert!(is_native(arch));
        }
    }
}
