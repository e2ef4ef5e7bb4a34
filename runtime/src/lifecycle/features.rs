//! `features`: the runtime-spec Features structure (features.md, features-linux.md): what this
//! build of berth implements, independent of the host. containerd reads it to decide, among
//! others, whether to ask for recursive read-only mounts (`rro`) and idmapped mounts.

use oci_spec::runtime::{
    ApparmorBuilder, Arch, CgroupBuilder, Features, FeaturesBuilder, IDMapBuilder, IntelRdtBuilder,
    LinuxFeatureBuilder, LinuxNamespaceType, LinuxSeccompAction, MountExtensionsBuilder,
    NetDevicesBuilder, SeccompBuilder, SelinuxBuilder,
};

use crate::container::{is_mount_option, seccomp};
use crate::error::Result;
use crate::hooks::HookKind;

/// Every mount option name the runtime-spec mentions; berth reports those it acts on.
const SPEC_MOUNT_OPTIONS: &[&str] = &[
    "acl",
    "async",
    "atime",
    "bind",
    "defaults",
    "dev",
    "diratime",
    "dirsync",
    "exec",
    "idmap",
    "iversion",
    "lazytime",
    "loud",
    "mand",
    "noacl",
    "noatime",
    "nodev",
    "nodiratime",
    "noexec",
    "noiversion",
    "nolazytime",
    "nomand",
    "norelatime",
    "nostrictatime",
    "nosuid",
    "nosymfollow",
    "private",
    "ratime",
    "rbind",
    "rdev",
    "rdiratime",
    "relatime",
    "remount",
    "rexec",
    "ridmap",
    "rnoatime",
    "rnodev",
    "rnodiratime",
    "rnoexec",
    "rnorelatime",
    "rnostrictatime",
    "rnosuid",
    "rnosymfollow",
    "ro",
    "rprivate",
    "rrelatime",
    "rro",
    "rrw",
    "rshared",
    "rslave",
    "rstrictatime",
    "rsuid",
    "rsymfollow",
    "runbindable",
    "rw",
    "shared",
    "silent",
    "slave",
    "strictatime",
    "suid",
    "symfollow",
    "sync",
    "tmpcopyup",
    "unbindable",
];

/// The namespaces berth creates and joins.
const NAMESPACES: [LinuxNamespaceType; 8] = [
    LinuxNamespaceType::Cgroup,
    LinuxNamespaceType::Ipc,
    LinuxNamespaceType::Mount,
    LinuxNamespaceType::Network,
    LinuxNamespaceType::Pid,
    LinuxNamespaceType::User,
    LinuxNamespaceType::Uts,
    LinuxNamespaceType::Time,
];

/// Prints the Features structure as indented JSON.
pub fn print() -> Result<()> {
    let json = serde_json::to_string_pretty(&features()).expect("features serialize");
    println!("{json}");
    Ok(())
}

/// What this build implements.
fn features() -> Features {
    let mut capabilities: Vec<String> = caps::all().iter().map(|c| c.to_string()).collect();
    capabilities.sort();
    let named = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    let actions: Vec<LinuxSeccompAction> = parse_names(seccomp::ACTIONS);
    let archs: Vec<Arch> = parse_names(seccomp::ARCHITECTURES);
    let built = "the features structure is complete";
    let linux = LinuxFeatureBuilder::default()
        .namespaces(NAMESPACES.to_vec())
        .capabilities(capabilities)
        .cgroup(
            CgroupBuilder::default()
                .v1(true)
                .v2(true)
                .systemd(true)
                .systemd_user(false)
                .rdma(true)
                .build()
                .expect(built),
        )
        .seccomp(
            SeccompBuilder::default()
                .enabled(true)
                .actions(actions)
                .operators(named(seccomp::OPERATORS))
                .archs(archs)
                .known_flags(named(seccomp::FLAGS))
                .supported_flags(named(seccomp::FLAGS))
                .build()
                .expect(built),
        )
        .apparmor(
            ApparmorBuilder::default()
                .enabled(false)
                .build()
                .expect(built),
        )
        .selinux(
            SelinuxBuilder::default()
                .enabled(false)
                .build()
                .expect(built),
        )
        .intel_rdt(
            IntelRdtBuilder::default()
                .enabled(false)
                .build()
                .expect(built),
        )
        .mount_extensions(
            MountExtensionsBuilder::default()
                .idmap(IDMapBuilder::default().enabled(true).build().expect(built))
                .build()
                .expect(built),
        )
        .net_devices(
            NetDevicesBuilder::default()
                .enabled(false)
                .build()
                .expect(built),
        )
        .build()
        .expect(built);
    let mount_options: Vec<String> = SPEC_MOUNT_OPTIONS
        .iter()
        .filter(|name| is_mount_option(name))
        .map(|name| name.to_string())
        .collect();
    FeaturesBuilder::default()
        .oci_version_min("1.0.0")
        .oci_version_max(crate::SPEC_VERSION)
        .hooks(
            HookKind::ALL
                .iter()
                .map(|kind| kind.name().to_string())
                .collect::<Vec<_>>(),
        )
        .mount_options(mount_options)
        .linux(linux)
        .build()
        .expect(built)
}

/// The spec's names as oci-spec's types (a unit test checks none is lost).
fn parse_names<T: serde::de::DeserializeOwned>(names: &[&str]) -> Vec<T> {
    names
        .iter()
        .filter_map(|name| serde_json::from_value(serde_json::Value::from(*name)).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_seccomp_name_is_reported() {
        assert_eq!(
            parse_names::<LinuxSeccompAction>(seccomp::ACTIONS).len(),
            seccomp::ACTIONS.len()
        );
        assert_eq!(
            parse_names::<Arch>(seccomp::ARCHITECTURES).len(),
            seccomp::ARCHITECTURES.len()
        );
    }

    #[test]
    fn mount_options_are_the_recognized_ones() {
        let options = features().mount_options().clone().unwrap();
        for name in [
            "rro",
            "rbind",
            "nosymfollow",
            "rslave",
            "ro",
            "idmap",
            "ridmap",
        ] {
            assert!(options.iter().any(|o| o == name), "{name}");
        }
        for name in ["tmpcopyup", "acl"] {
            assert!(
                !options.iter().any(|o| o == name),
                "{name} is not implemented"
            );
        }
    }
}
