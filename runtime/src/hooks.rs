//! config.md POSIX-platform hooks: programs run at fixed points of the lifecycle with the
//! container's state (runtime.md) on stdin, their own `args` and `env`, and a `timeout`.
//! Where each kind runs: `prestart` and `createRuntime` in the runtime during `create`,
//! `createContainer` in the container process before `pivot_root`, `startContainer` in the
//! container process right before the user's program, `poststart` in `start`, `poststop` in
//! `delete`.

use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use oci_spec::runtime::{Hook, Hooks, Spec, State};

use crate::error::{Error, Result};
use crate::logging;

/// The six kinds of hooks, in lifecycle order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookKind {
    /// Deprecated: during `create`, in the runtime namespace, before `createRuntime`.
    Prestart,
    /// During `create`, in the runtime namespace, before `pivot_root`.
    CreateRuntime,
    /// During `create`, in the container namespace, before `pivot_root`.
    CreateContainer,
    /// During `start`, in the container, before the user's program.
    StartContainer,
    /// After `start` started the program, in the runtime namespace; a failure stops the
    /// container.
    Poststart,
    /// After `delete` removed the container, in the runtime namespace; failures are warnings.
    Poststop,
}

impl HookKind {
    /// Every kind, in lifecycle order.
    pub const ALL: [HookKind; 6] = [
        HookKind::Prestart,
        HookKind::CreateRuntime,
        HookKind::CreateContainer,
        HookKind::StartContainer,
        HookKind::Poststart,
        HookKind::Poststop,
    ];

    /// The name in config.json's `hooks`.
    pub fn name(self) -> &'static str {
        match self {
            HookKind::Prestart => "prestart",
            HookKind::CreateRuntime => "createRuntime",
            HookKind::CreateContainer => "createContainer",
            HookKind::StartContainer => "startContainer",
            HookKind::Poststart => "poststart",
            HookKind::Poststop => "poststop",
        }
    }

    fn of(self, hooks: &Hooks) -> Option<&Vec<Hook>> {
        match self {
            HookKind::Prestart => hooks.prestart().as_ref(),
            HookKind::CreateRuntime => hooks.create_runtime().as_ref(),
            HookKind::CreateContainer => hooks.create_container().as_ref(),
            HookKind::StartContainer => hooks.start_container().as_ref(),
            HookKind::Poststart => hooks.poststart().as_ref(),
            HookKind::Poststop => hooks.poststop().as_ref(),
        }
    }

    /// Whether a failure of this kind is only a warning (runtime.md: poststop alone).
    fn failure_is_warning(self) -> bool {
        self == HookKind::Poststop
    }
}

/// The hooks of `kind` that `spec` configures.
pub fn configured(spec: &Spec, kind: HookKind) -> &[Hook] {
    spec.hooks()
        .as_ref()
        .and_then(|h| kind.of(h))
        .map_or(&[], Vec::as_slice)
}

/// Runs the hooks of `kind` in order, each with `state` on stdin. The first failure stops the
/// rest and is the error, except for poststop, whose failures are logged as warnings while the
/// rest still run.
pub fn run(spec: &Spec, kind: HookKind, state: &State) -> Result<()> {
    let hooks = configured(spec, kind);
    if hooks.is_empty() {
        return Ok(());
    }
    let input = serde_json::to_vec(state).expect("state serializes");
    for (index, hook) in hooks.iter().enumerate() {
        let field = format!("hooks.{}[{index}]", kind.name());
        match run_one(hook, &input) {
            Ok(()) => {}
            Err(reason) if kind.failure_is_warning() => {
                logging::warn(&format!("{field}: {reason}"));
            }
            Err(reason) => return Err(Error::config(field, reason)),
        }
    }
    Ok(())
}

/// Runs one hook; on failure, says why.
fn run_one(hook: &Hook, input: &[u8]) -> std::result::Result<(), String> {
    let path = hook.path();
    let mut command = Command::new(path);
    if let Some((argv0, rest)) = hook.args().as_deref().and_then(<[String]>::split_first) {
        command.arg0(argv0).args(rest);
    }
    command.env_clear();
    for var in hook.env().iter().flatten() {
        let (name, value) = var.split_once('=').unwrap_or((var, ""));
        command.env(name, value);
    }
    // The hook's output goes to berth's stderr: stdout may be a client's JSON channel.
    let stderr = std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .map_err(|e| format!("duplicate stderr: {e}"))?;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::from(stderr))
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("run {}: {e}", path.display()))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin is fine (EPIPE).
        let _ = stdin.write_all(input);
    }
    let timeout = hook
        .timeout()
        .filter(|t| *t > 0)
        .map(|t| Duration::from_secs(t as u64));
    let deadline = timeout.map(|t| Instant::now() + t);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if deadline.is_some_and(|d| Instant::now() >= d) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{} timed out after {}s",
                    path.display(),
                    timeout.unwrap_or_default().as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(2)),
            Err(e) => return Err(format!("wait for {}: {e}", path.display())),
        }
    };
    if status.success() {
        Ok(())
    } else {
        Err(format!("{} failed: {status}", path.display()))
    }
}
