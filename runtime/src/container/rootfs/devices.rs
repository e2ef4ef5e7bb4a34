//! `/dev` inside the container: the default devices runtime.md requires, `linux.devices`, and the
//! standard symlinks. In a user namespace, where mknod is not allowed, host devices are bound.

use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::AtFlags;
use nix::sys::stat::{fchmodat, makedev, mknodat, FchmodatFlags, Mode, SFlag};
use nix::unistd::{fchownat, unlinkat, Gid, Uid, UnlinkatFlags};
use oci_spec::runtime::{LinuxDevice, LinuxDeviceType};

use super::mounts::bind;
use super::options::MountOptions;
use super::paths::{Node, RootDir};
use crate::error::{Context, Result};

/// A device node to create.
struct DeviceNode<'a> {
    path: &'a Path,
    kind: SFlag,
    major: i64,
    minor: i64,
    mode: u32,
    uid: u32,
    gid: u32,
}

const DEFAULT_DEVICES: [(&str, i64, i64); 6] = [
    ("/dev/null", 1, 3),
    ("/dev/zero", 1, 5),
    ("/dev/full", 1, 7),
    ("/dev/random", 1, 8),
    ("/dev/urandom", 1, 9),
    ("/dev/tty", 5, 0),
];

const DEV_SYMLINKS: [(&str, &str); 5] = [
    ("/proc/self/fd", "fd"),
    ("/proc/self/fd/0", "stdin"),
    ("/proc/self/fd/1", "stdout"),
    ("/proc/self/fd/2", "stderr"),
    ("pts/ptmx", "ptmx"),
];

/// Creates the default devices, `devices` from the config, and the /dev symlinks.
pub fn populate(root: &RootDir, devices: &[LinuxDevice], in_user_ns: bool) -> Result<()> {
    let defaults = DEFAULT_DEVICES
        .iter()
        .map(|(path, major, minor)| DeviceNode {
            path: Path::new(path),
            kind: SFlag::S_IFCHR,
            major: *major,
            minor: *minor,
            mode: 0o666,
            uid: 0,
            gid: 0,
        });
    let configured = devices.iter().map(|d| DeviceNode {
        path: d.path(),
        kind: match d.typ() {
            LinuxDeviceType::B => SFlag::S_IFBLK,
            LinuxDeviceType::P => SFlag::S_IFIFO,
            _ => SFlag::S_IFCHR,
        },
        major: d.major(),
        minor: d.minor(),
        mode: d.file_mode().unwrap_or(0o666),
        uid: d.uid().unwrap_or(0),
        gid: d.gid().unwrap_or(0),
    });
    for device in defaults.chain(configured) {
        if in_user_ns {
            bind_host_device(root, device.path)?;
        } else {
            make_node(root, &device)?;
        }
    }
    let dev = root.create_dir_all(Path::new("/dev"))?;
    let mut links: Vec<(&str, &str)> = DEV_SYMLINKS.to_vec();
    if Path::new("/proc/kcore").exists() {
        links.push(("/proc/kcore", "core"));
    }
    for (target, name) in links {
        // /dev/ptmx may be a device node from the image: the devpts one must win.
        if name == "ptmx" {
            match unlinkat(&dev, name, UnlinkatFlags::NoRemoveDir) {
                Ok(()) | Err(Errno::ENOENT) => {}
                Err(e) => return Err(e).context("remove /dev/ptmx"),
            }
        }
        match nix::unistd::symlinkat(target, &dev, name) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(e).with_context(|| format!("symlink /dev/{name}")),
        }
    }
    Ok(())
}

fn make_node(root: &RootDir, device: &DeviceNode<'_>) -> Result<()> {
    let context = || format!("linux.devices: create {}", device.path.display());
    let parent = root.create_dir_all(device.path.parent().unwrap_or(Path::new("/dev")))?;
    let name = device.path.file_name().unwrap_or_default();
    match unlinkat(&parent, name, UnlinkatFlags::NoRemoveDir) {
        Ok(()) | Err(Errno::ENOENT) => {}
        Err(e) => return Err(e).with_context(context),
    }
    let mode = Mode::from_bits_truncate(device.mode & 0o7777);
    let dev = makedev(device.major as u64, device.minor as u64);
    mknodat(&parent, name, device.kind, mode, dev).with_context(context)?;
    // mknod applies the umask; the mode must be exactly the configured one.
    fchmodat(&parent, name, mode, FchmodatFlags::NoFollowSymlink).with_context(context)?;
    fchownat(
        &parent,
        name,
        Some(Uid::from_raw(device.uid)),
        Some(Gid::from_raw(device.gid)),
        AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .with_context(context)
}

fn bind_host_device(root: &RootDir, path: &Path) -> Result<()> {
    let opts = MountOptions {
        flags: nix::mount::MsFlags::MS_BIND,
        ..MountOptions::default()
    };
    root.create(path, Node::File)?;
    bind(root, path, path, &opts)
}
