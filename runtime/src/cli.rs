//! The command line, runc's contract: same commands, flags and defaults.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::logging::LogFormat;
use crate::network::mode::NetworkMode;
use crate::network::PortMapping;

/// An OCI container runtime: a drop-in replacement for runc.
#[derive(Debug, Parser)]
#[command(
    name = "berth",
    version = crate::LONG_VERSION,
    disable_version_flag = true,
    arg(clap::Arg::new("version")
        .short('v')
        .long("version")
        .action(clap::ArgAction::Version)
        .help("Print version information"))
)]
pub struct Cli {
    /// Root directory for container state (default /run/berth; $XDG_RUNTIME_DIR/berth when
    /// run by an unprivileged user who has one).
    #[arg(long, global = true)]
    pub root: Option<PathBuf>,
    /// Append log lines to this file (stderr when absent).
    #[arg(long, global = true)]
    pub log: Option<PathBuf>,
    /// Format of log lines.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Log debug lines too.
    #[arg(long, global = true)]
    pub debug: bool,
    /// Manage cgroups through systemd (cgroupsPath as "slice:prefix:name").
    #[arg(long, global = true)]
    pub systemd_cgroup: bool,
    /// Rootless mode: true, false or auto.
    #[arg(long, default_value = "auto", value_parser = ["true", "false", "auto"])]
    pub rootless: String,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// The state root: `--root`, else runc's default for who runs berth.
    pub fn state_root(&self) -> PathBuf {
        if let Some(root) = &self.root {
            return root.clone();
        }
        match std::env::var_os("XDG_RUNTIME_DIR") {
            Some(dir) if !nix::unistd::geteuid().is_root() && !dir.is_empty() => {
                PathBuf::from(dir).join("berth")
            }
            _ => PathBuf::from("/run/berth"),
        }
    }
}

/// berth's commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a container; its process waits for `start`.
    Create(CreateArgs),
    /// Run the user process of a created container.
    Start(IdArg),
    /// Print the state of a container as JSON.
    State(IdArg),
    /// Send a signal to the container's process (default SIGTERM).
    Kill(KillArgs),
    /// Delete a stopped container and everything created for it.
    Delete(DeleteArgs),
    /// Create and start a container, waiting for it unless detached.
    Run(RunArgs),
    /// List containers.
    List(ListArgs),
    /// Write a default config.json.
    Spec(SpecArgs),
    /// Freeze every process of a running container.
    Pause(IdArg),
    /// Thaw a paused container.
    Resume(IdArg),
    /// List the processes of a container.
    Ps(PsArgs),
    /// Change the resource limits of a container.
    Update(UpdateArgs),
    /// Print resource usage (and OOM events) of a container as JSON.
    Events(EventsArgs),
    /// Run a new process inside a running container.
    Exec(ExecArgs),
    /// Print the runtime-spec features JSON: what this build of berth implements.
    Features,
    /// Attach a container to a CNI network, or detach it: the hooks `spec --network bridge`
    /// writes (not a runc command).
    #[command(subcommand)]
    Network(NetworkAction),
}

/// The two network hooks; both read the container's state on stdin.
#[derive(Debug, Subcommand)]
pub enum NetworkAction {
    /// createRuntime hook: add the container to the network (CNI ADD).
    Up(NetworkHookArgs),
    /// poststop hook: take the container off the network (CNI DEL).
    Down(NetworkHookArgs),
}

/// Flags of `network up` and `network down`.
#[derive(Debug, Args)]
pub struct NetworkHookArgs {
    /// The CNI network configuration list (.conflist).
    #[arg(long)]
    pub config: PathBuf,
    /// Directories holding the CNI plugins, colon-separated.
    #[arg(long, default_value = "/usr/lib/cni:/opt/cni/bin")]
    pub cni_path: String,
    /// Where `up` keeps the attachment for `down`.
    #[arg(long, default_value = "/run/berth-cni")]
    pub cache_dir: PathBuf,
    /// The interface to create in the container.
    #[arg(long, default_value = "eth0", value_parser = parse_ifname)]
    pub ifname: String,
    /// Publish a port: [HOST_IP:]HOST_PORT:CONTAINER_PORT[/tcp|udp|sctp] (repeatable).
    #[arg(short, long)]
    pub publish: Vec<PortMapping>,
}

impl NetworkHookArgs {
    /// The directories of `--cni-path`.
    pub fn plugin_dirs(&self) -> Vec<PathBuf> {
        self.cni_path
            .split(':')
            .filter(|dir| !dir.is_empty())
            .map(PathBuf::from)
            .collect()
    }
}

/// An interface name the kernel takes: 1 to 15 bytes, no '/' or whitespace.
fn parse_ifname(name: &str) -> Result<String, String> {
    let valid = (1..16).contains(&name.len())
        && !name.contains(|c: char| c == '/' || c.is_whitespace())
        && name != "."
        && name != "..";
    match valid {
        true => Ok(name.to_string()),
        false => Err(format!(
            "\"{name}\" is not an interface name (1-15 characters, no '/')"
        )),
    }
}

/// Flags of `exec`, runc's names.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Container id.
    pub id: String,
    /// The command and its arguments (unless `--process` is given).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
    /// A JSON file (`-` for stdin) holding the whole process, as config.json's `process`.
    #[arg(short, long)]
    pub process: Option<PathBuf>,
    /// Allocate a pseudo-terminal.
    #[arg(short, long)]
    pub tty: bool,
    /// Return once the process has started.
    #[arg(short, long)]
    pub detach: bool,
    /// File to write the process's host pid to.
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    /// Unix socket that receives the pseudo-terminal master.
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    /// Working directory inside the container.
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    /// Environment variables (NAME=VALUE), added to the container's.
    #[arg(short, long)]
    pub env: Vec<String>,
    /// User as uid[:gid].
    #[arg(short, long)]
    pub user: Option<String>,
    /// Additional group ids.
    #[arg(short = 'g', long)]
    pub additional_gids: Vec<u32>,
    /// Capabilities to add (e.g. CAP_NET_ADMIN).
    #[arg(short, long)]
    pub cap: Vec<String>,
    /// Set no_new_privs for the process.
    #[arg(long)]
    pub no_new_privs: bool,
    /// Pass N extra fds (3 .. 3+N-1) to the process.
    #[arg(long, default_value_t = 0)]
    pub preserve_fds: u32,
    /// SELinux label for the process.
    #[arg(short = 'l', long)]
    pub process_label: Option<String>,
    /// AppArmor profile for the process.
    #[arg(short, long)]
    pub apparmor: Option<String>,
    /// Exec even if the container is paused.
    #[arg(long)]
    pub ignore_paused: bool,
    /// Run in a sub-cgroup of the container: PATH, or CONTROLLER[,CONTROLLER]:PATH.
    #[arg(long)]
    pub cgroup: Vec<String>,
}

/// Flags of `ps`.
#[derive(Debug, Args)]
pub struct PsArgs {
    /// Output format: `table` (runs ps) or `json` (host pids).
    #[arg(short, long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
    /// Container id.
    pub id: String,
    /// Options for ps(1) (default -ef).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub ps_args: Vec<String>,
}

/// Flags of `update`, runc's names.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Container id.
    pub id: String,
    /// LinuxResources JSON from a file, or `-` for stdin.
    #[arg(short, long)]
    pub resources: Option<PathBuf>,
    /// Block IO weight (10-1000).
    #[arg(long)]
    pub blkio_weight: Option<u16>,
    /// CPU CFS period in microseconds.
    #[arg(long)]
    pub cpu_period: Option<u64>,
    /// CPU CFS quota in microseconds.
    #[arg(long)]
    pub cpu_quota: Option<i64>,
    /// CPU realtime period in microseconds.
    #[arg(long)]
    pub cpu_rt_period: Option<u64>,
    /// CPU realtime runtime in microseconds.
    #[arg(long)]
    pub cpu_rt_runtime: Option<i64>,
    /// CPU shares (relative weight).
    #[arg(long)]
    pub cpu_share: Option<u64>,
    /// CPUs the container may use.
    #[arg(long)]
    pub cpuset_cpus: Option<String>,
    /// Memory nodes the container may use.
    #[arg(long)]
    pub cpuset_mems: Option<String>,
    /// Memory limit (e.g. 64M; -1 for unlimited).
    #[arg(long, allow_hyphen_values = true)]
    pub memory: Option<String>,
    /// Memory soft limit.
    #[arg(long, allow_hyphen_values = true)]
    pub memory_reservation: Option<String>,
    /// Memory plus swap limit.
    #[arg(long, allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Maximum number of processes (-1 or 0 for unlimited).
    #[arg(long, allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
}

/// Flags of `events`.
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Container id.
    pub id: String,
    /// Print the statistics once and exit.
    #[arg(long)]
    pub stats: bool,
    /// Interval between statistics, e.g. 5s or 500ms.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub interval: std::time::Duration,
}

/// A container id.
#[derive(Debug, Args)]
pub struct IdArg {
    /// Container id.
    pub id: String,
}

/// Flags of `create` (and `run`).
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Container id.
    pub id: String,
    /// Path to the bundle directory.
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    /// Unix socket that receives the pseudo-terminal master.
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    /// File to write the container process's pid to.
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    /// Use MS_MOVE and chroot instead of pivot_root.
    #[arg(long)]
    pub no_pivot: bool,
    /// Do not create a new session keyring.
    #[arg(long)]
    pub no_new_keyring: bool,
    /// Pass N extra fds (3 .. 3+N-1) into the container.
    #[arg(long, default_value_t = 0)]
    pub preserve_fds: u32,
    /// Run berth-init as the container's pid 1, with the process after `--`: it forwards
    /// signals and reaps zombies (also the annotation "io.berth.init": "true").
    #[arg(long)]
    pub init: bool,
    /// The berth-init binary (default: berth-init beside berth's executable).
    #[arg(long)]
    pub init_path: Option<PathBuf>,
}

/// Flags of `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Everything `create` takes.
    #[command(flatten)]
    pub create: CreateArgs,
    /// Return once the container has started.
    #[arg(short, long)]
    pub detach: bool,
    /// Keep the container's state after it exits.
    #[arg(long)]
    pub keep: bool,
}

/// Flags of `kill`.
#[derive(Debug, Args)]
pub struct KillArgs {
    /// Container id.
    pub id: String,
    /// Signal name (with or without SIG) or number.
    #[arg(default_value = "SIGTERM")]
    pub signal: String,
    /// Signal every process of the container.
    #[arg(short, long)]
    pub all: bool,
}

/// Flags of `delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Container id.
    pub id: String,
    /// Kill the container first if it is still running.
    #[arg(short, long)]
    pub force: bool,
}

/// Output format of `list`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ListFormat {
    /// Aligned columns.
    Table,
    /// A JSON array of states.
    Json,
}

/// Flags of `list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
    /// Print only the ids.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Flags of `spec`.
#[derive(Debug, Args)]
pub struct SpecArgs {
    /// Directory to write config.json into.
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    /// Write a configuration for running as an unprivileged user.
    #[arg(long)]
    pub rootless: bool,
    /// The container's network: none (loopback only), host, bridge (CNI, through hooks that
    /// run `berth network`), or container:ID|PATH (another container's namespace).
    #[arg(long, default_value = "none")]
    pub network: NetworkMode,
    /// With --network bridge, publish a port:
    /// [HOST_IP:]HOST_PORT:CONTAINER_PORT[/tcp|udp|sctp] (repeatable).
    #[arg(short, long)]
    pub publish: Vec<PortMapping>,
}
