//! Zero as "unset", as runc reads it: a zero cpu quota, period or realtime value, and a zero
//! block IO weight or leaf weight. Docker sends zeros for the fields it leaves alone, and the
//! kernel refuses a zero weight (`ERANGE`).

use oci_spec::runtime::LinuxResources;

/// `resources` with those zero values removed.
pub fn without_unset_zeros(resources: &LinuxResources) -> LinuxResources {
    let mut normalized = resources.clone();
    if let Some(mut cpu) = resources.cpu().clone() {
        let (quota, period) = (cpu.quota(), cpu.period());
        let (runtime, realtime_period) = (cpu.realtime_runtime(), cpu.realtime_period());
        cpu.set_quota(nonzero(quota))
            .set_period(nonzero(period))
            .set_realtime_runtime(nonzero(runtime))
            .set_realtime_period(nonzero(realtime_period));
        normalized.set_cpu(Some(cpu));
    }
    if let Some(mut blkio) = resources.block_io().clone() {
        let (weight, leaf_weight) = (blkio.weight(), blkio.leaf_weight());
        blkio
            .set_weight(nonzero(weight))
            .set_leaf_weight(nonzero(leaf_weight));
        normalized.set_block_io(Some(blkio));
    }
    normalized
}

fn nonzero<T: Default + PartialEq>(value: Option<T>) -> Option<T> {
    value.filter(|v| *v != T::default())
}

#[cfg(test)]
mod tests {
    use oci_spec::runtime::{LinuxBlockIo, LinuxCpu};

    use super::*;

    #[test]
    fn zeros_become_unset() {
        let mut cpu = LinuxCpu::default();
        cpu.set_quota(Some(0))
            .set_period(Some(100_000))
            .set_realtime_runtime(Some(0))
            .set_shares(Some(0));
        let mut blkio = LinuxBlockIo::default();
        blkio.set_weight(Some(0)).set_leaf_weight(Some(0));
        let mut resources = LinuxResources::default();
        resources.set_cpu(Some(cpu)).set_block_io(Some(blkio));

        let normalized = without_unset_zeros(&resources);
        let cpu = normalized.cpu().clone().unwrap();
        assert_eq!(cpu.quota(), None);
        assert_eq!(cpu.period(), Some(100_000));
        assert_eq!(cpu.realtime_runtime(), None);
        assert_eq!(cpu.shares(), Some(0), "not one of those fields");
        let blkio = normalized.block_io().clone().unwrap();
        assert_eq!((blkio.weight(), blkio.leaf_weight()), (None, None));
    }
}
