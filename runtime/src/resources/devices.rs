//! Device access rules: the configured `linux.resources.devices`, plus what every container
//! needs to work, as runc adds them.

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType, LinuxResources};

/// (type, major, minor, access) of the rules runc grants every container; -1 is a wildcard.
const DEFAULT_RULES: [(LinuxDeviceType, i64, i64, &str); 12] = [
    (LinuxDeviceType::C, -1, -1, "m"),
    (LinuxDeviceType::B, -1, -1, "m"),
    (LinuxDeviceType::C, 1, 3, "rwm"),    // /dev/null
    (LinuxDeviceType::C, 1, 5, "rwm"),    // /dev/zero
    (LinuxDeviceType::C, 1, 7, "rwm"),    // /dev/full
    (LinuxDeviceType::C, 1, 8, "rwm"),    // /dev/random
    (LinuxDeviceType::C, 1, 9, "rwm"),    // /dev/urandom
    (LinuxDeviceType::C, 5, 0, "rwm"),    // /dev/tty
    (LinuxDeviceType::C, 5, 1, "rwm"),    // /dev/console
    (LinuxDeviceType::C, 5, 2, "rwm"),    // /dev/ptmx
    (LinuxDeviceType::C, 136, -1, "rwm"), // /dev/pts/*
    (LinuxDeviceType::C, 10, 200, "rwm"), // /dev/net/tun
];

/// `resources` with the device rules completed: when the config restricts devices at all,
/// the default devices (and mknod of any device) are allowed after its own rules, as runc does.
/// `linux.devices` entries get no rule of their own: the configured rules decide for them.
pub fn complete_device_rules(resources: &LinuxResources) -> LinuxResources {
    let mut completed = resources.clone();
    let Some(configured) = resources.devices() else {
        return completed;
    };
    let defaults = DEFAULT_RULES.iter().map(|(typ, major, minor, access)| {
        let mut rule = LinuxDeviceCgroup::default();
        rule.set_allow(true)
            .set_typ(Some(*typ))
            .set_major(Some(*major))
            .set_minor(Some(*minor))
            .set_access(Some(access.to_string()));
        rule
    });
    let mut rules = configured.clone();
    rules.extend(defaults);
    completed.set_devices(Some(rules));
    completed
}
