//! `update`: change the resource limits of a live container, from LinuxResources JSON (how
//! containerd calls it) and runc's per-field flags.

use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxPids, LinuxResources};

use crate::cli::UpdateArgs;
use crate::error::{Error, Result};
use crate::resources::ContainerCgroup;
use crate::state::Store;

/// Applies the new limits.
pub fn update(store: &Store, args: &UpdateArgs) -> Result<()> {
    let mut resources = match &args.resources {
        Some(path) => crate::spec::read_json_arg(path, "--resources")?,
        None => LinuxResources::default(),
    };
    apply_flags(&mut resources, args)?;
    let container = super::live(store, &args.id)?;
    ContainerCgroup::open(&container.state.cgroup_path)?.set(&resources)
}

fn apply_flags(resources: &mut LinuxResources, args: &UpdateArgs) -> Result<()> {
    let memory_flags = [&args.memory, &args.memory_reservation, &args.memory_swap];
    if memory_flags.iter().any(|f| f.is_some()) {
        let mut memory = resources.memory().unwrap_or_default();
        let parse = |flag: &Option<String>, name: &str| {
            flag.as_deref().map(|v| parse_bytes(v, name)).transpose()
        };
        if let Some(limit) = parse(&args.memory, "--memory")? {
            memory.set_limit(Some(limit));
        }
        if let Some(reservation) = parse(&args.memory_reservation, "--memory-reservation")? {
            memory.set_reservation(Some(reservation));
        }
        if let Some(swap) = parse(&args.memory_swap, "--memory-swap")? {
            memory.set_swap(Some(swap));
        }
        resources.set_memory(Some(memory));
    }
    let cpu_flags_given = args.cpu_period.is_some()
        || args.cpu_quota.is_some()
        || args.cpu_rt_period.is_some()
        || args.cpu_rt_runtime.is_some()
        || args.cpu_share.is_some()
        || args.cpuset_cpus.is_some()
        || args.cpuset_mems.is_some();
    if cpu_flags_given {
        let mut cpu: LinuxCpu = resources.cpu().clone().unwrap_or_default();
        if args.cpu_period.is_some() {
            cpu.set_period(args.cpu_period);
        }
        if args.cpu_quota.is_some() {
            cpu.set_quota(args.cpu_quota);
        }
        if args.cpu_rt_period.is_some() {
            cpu.set_realtime_period(args.cpu_rt_period);
        }
        if args.cpu_rt_runtime.is_some() {
            cpu.set_realtime_runtime(args.cpu_rt_runtime);
        }
        if args.cpu_share.is_some() {
            cpu.set_shares(args.cpu_share);
        }
        if args.cpuset_cpus.is_some() {
            cpu.set_cpus(args.cpuset_cpus.clone());
        }
        if args.cpuset_mems.is_some() {
            cpu.set_mems(args.cpuset_mems.clone());
        }
        resources.set_cpu(Some(cpu));
    }
    if let Some(limit) = args.pids_limit {
        let mut pids = LinuxPids::default();
        pids.set_limit(limit);
        resources.set_pids(Some(pids));
    }
    if let Some(weight) = args.blkio_weight {
        let mut blkio: LinuxBlockIo = resources.block_io().clone().unwrap_or_default();
        blkio.set_weight(Some(weight));
        resources.set_block_io(Some(blkio));
    }
    Ok(())
}

/// Parses a byte count like runc: `-1` (unlimited), plain bytes, or a number with a binary
/// unit suffix (`k`, `m`, `g`, `t`, `p`, optionally followed by `b` or `ib`).
fn parse_bytes(text: &str, flag: &str) -> Result<i64> {
    let invalid = || Error::config(flag, format!("invalid size \"{text}\""));
    if text == "-1" {
        return Ok(-1);
    }
    let lower = text.trim().to_ascii_lowercase();
    let digits_end = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(lower.len());
    let (number, unit) = lower.split_at(digits_end);
    let number: f64 = number.parse().map_err(|_| invalid())?;
    let unit = unit.trim_end_matches("ib").trim_end_matches('b');
    let exponent = match unit {
        "" => 0,
        "k" => 1,
        "m" => 2,
        "g" => 3,
        "t" => 4,
        "p" => 5,
        _ => return Err(invalid()),
    };
    Ok((number * 1024f64.powi(exponent)) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("64M", "m").unwrap(), 64 << 20);
        assert_eq!(parse_bytes("1g", "m").unwrap(), 1 << 30);
        assert_eq!(parse_bytes("512kb", "m").unwrap(), 512 << 10);
        assert_eq!(parse_bytes("1000", "m").unwrap(), 1000);
        assert_eq!(parse_bytes("-1", "m").unwrap(), -1);
        assert!(parse_bytes("12q", "m").is_err());
    }
}
