//! `events`: resource usage as runc's event JSON, once (`--stats`) or every interval, with an
//! `oom` event whenever the kernel's OOM killer strikes in the container.

use cgroups_rs::CgroupStats;
use serde_json::{json, Value};

use crate::cli::EventsArgs;
use crate::error::Result;
use crate::resources::ContainerCgroup;
use crate::state::{live_status, Status, Store};

/// Prints events until the container stops (or once, with `--stats`).
pub fn events(store: &Store, args: &EventsArgs) -> Result<()> {
    let container = super::live(store, &args.id)?;
    let cgroup = ContainerCgroup::open(&container.state.cgroup_path)?;
    let state = container.state.clone();
    drop(container);
    let emit = |kind: &str, data: Value| {
        println!("{}", json!({"type": kind, "id": args.id, "data": data}));
    };
    if args.stats {
        emit("stats", stats_json(&cgroup.stats()));
        return Ok(());
    }
    let mut oom_kills = cgroup.oom_kills().unwrap_or(0);
    loop {
        if live_status(&state, &store.fifo_path(&args.id)).0 == Status::Stopped {
            return Ok(());
        }
        let now = cgroup.oom_kills().unwrap_or(0);
        if now > oom_kills {
            emit("oom", Value::Null);
            oom_kills = now;
        }
        emit("stats", stats_json(&cgroup.stats()));
        std::thread::sleep(args.interval);
    }
}

/// runc's `stats` event data.
fn stats_json(stats: &CgroupStats) -> Value {
    let cpu = stats.cpu.cpu_acct.as_ref();
    let throttling = stats.cpu.cpu_throttling.as_ref();
    let memory_entry = |entry: Option<&cgroups_rs::stats::MemoryStats>| {
        entry.map_or(json!({}), |m| {
            json!({"limit": m.limit, "usage": m.usage, "max": m.max_usage, "failcnt": m.fail_cnt})
        })
    };
    let memory = &stats.memory;
    let blkio = |entries: &[cgroups_rs::stats::BlkioStat]| -> Value {
        entries
            .iter()
            .map(|e| json!({"major": e.major, "minor": e.minor, "op": e.op, "value": e.value}))
            .collect()
    };
    let hugetlb: serde_json::Map<String, Value> = stats
        .hugetlb
        .iter()
        .map(|(size, h)| {
            (
                size.clone(),
                json!({"usage": h.usage, "max": h.max_usage, "failcnt": h.fail_cnt}),
            )
        })
        .collect();
    json!({
        "cpu": {
            "usage": {
                "total": cpu.map_or(0, |c| c.total_usage),
                "percpu": cpu.map(|c| c.usage_percpu.clone()).unwrap_or_default(),
                "kernel": cpu.map_or(0, |c| c.system_usage),
                "user": cpu.map_or(0, |c| c.user_usage),
            },
            "throttling": {
                "periods": throttling.map_or(0, |t| t.periods),
                "throttledPeriods": throttling.map_or(0, |t| t.throttled_periods),
                "throttledTime": throttling.map_or(0, |t| t.throttled_time),
            },
        },
        "memory": {
            "cache": memory.cache,
            "usage": memory_entry(memory.memory.as_ref()),
            "swap": memory_entry(memory.memory_swap.as_ref()),
            "kernel": memory_entry(memory.kernel_memory.as_ref()),
        },
        "pids": {"current": stats.pids.current, "limit": stats.pids.limit},
        "blkio": {
            "ioServiceBytesRecursive": blkio(&stats.blkio.io_service_bytes_recursive),
            "ioServicedRecursive": blkio(&stats.blkio.io_serviced_recursive),
        },
        "hugetlb": hugetlb,
    })
}
