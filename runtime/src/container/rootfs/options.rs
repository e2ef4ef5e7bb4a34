//! Mount options as config.json spells them, turned into mount(2) flags, propagation changes and
//! filesystem data.

use nix::mount::MsFlags;

use crate::sys::{mount_attr, MountAttr};

/// The parsed form of one mount's `options`.
#[derive(Debug, PartialEq, Eq)]
pub struct MountOptions {
    /// Flags for the mount call, later options overriding earlier ones.
    pub flags: MsFlags,
    /// Propagation changes, applied in order after mounting.
    pub propagation: Vec<MsFlags>,
    /// Everything else, comma-joined, passed to the filesystem.
    pub data: String,
    /// Attributes of the `r*` options (`rro`, `rnosuid`, ...), applied to the whole mount tree.
    pub recursive: MountAttr,
    /// `idmap` or `ridmap`, the later one winning.
    pub idmap: Option<Idmap>,
}

/// An idmapping option: which mounts of a bind the mapping applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idmap {
    /// `idmap`: the bind mount itself.
    Top,
    /// `ridmap`: the bind mount and every mount below it.
    Recursive,
}

fn idmap_option(name: &str) -> Option<Idmap> {
    match name {
        "idmap" => Some(Idmap::Top),
        "ridmap" => Some(Idmap::Recursive),
        _ => None,
    }
}

impl Default for MountOptions {
    fn default() -> Self {
        MountOptions {
            flags: MsFlags::empty(),
            propagation: Vec::new(),
            data: String::new(),
            recursive: MountAttr::default(),
            idmap: None,
        }
    }
}

/// What an option does to the flags: set these, clear those.
fn flag_option(name: &str) -> Option<(MsFlags, MsFlags)> {
    let none = MsFlags::empty();
    let set = |f| Some((f, none));
    let clear = |f| Some((none, f));
    match name {
        "ro" => set(MsFlags::MS_RDONLY),
        "rw" => clear(MsFlags::MS_RDONLY),
        "nosuid" => set(MsFlags::MS_NOSUID),
        "suid" => clear(MsFlags::MS_NOSUID),
        "nodev" => set(MsFlags::MS_NODEV),
        "dev" => clear(MsFlags::MS_NODEV),
        "noexec" => set(MsFlags::MS_NOEXEC),
        "exec" => clear(MsFlags::MS_NOEXEC),
        "sync" => set(MsFlags::MS_SYNCHRONOUS),
        "async" => clear(MsFlags::MS_SYNCHRONOUS),
        "dirsync" => set(MsFlags::MS_DIRSYNC),
        "remount" => set(MsFlags::MS_REMOUNT),
        "mand" => set(MsFlags::MS_MANDLOCK),
        "nomand" => clear(MsFlags::MS_MANDLOCK),
        "noatime" => set(MsFlags::MS_NOATIME),
        "atime" => clear(MsFlags::MS_NOATIME),
        "nodiratime" => set(MsFlags::MS_NODIRATIME),
        "diratime" => clear(MsFlags::MS_NODIRATIME),
        "relatime" => set(MsFlags::MS_RELATIME),
        "norelatime" => clear(MsFlags::MS_RELATIME),
        "strictatime" => set(MsFlags::MS_STRICTATIME),
        "nostrictatime" => clear(MsFlags::MS_STRICTATIME),
        "lazytime" => set(MsFlags::MS_LAZYTIME),
        "nolazytime" => clear(MsFlags::MS_LAZYTIME),
        "iversion" => set(MsFlags::MS_I_VERSION),
        "noiversion" => clear(MsFlags::MS_I_VERSION),
        "silent" => set(MsFlags::MS_SILENT),
        "loud" => clear(MsFlags::MS_SILENT),
        "nosymfollow" => set(MsFlags::from_bits_retain(libc::MS_NOSYMFOLLOW)),
        "symfollow" => clear(MsFlags::from_bits_retain(libc::MS_NOSYMFOLLOW)),
        "defaults" => set(none),
        "bind" => set(MsFlags::MS_BIND),
        "rbind" => set(MsFlags::MS_BIND | MsFlags::MS_REC),
        _ => None,
    }
}

/// What a recursive option does: (clear instead of set, `MOUNT_ATTR_*` bit).
fn recursive_option(name: &str) -> Option<(bool, u64)> {
    use mount_attr::*;
    Some(match name {
        "rro" => (false, RDONLY),
        "rrw" => (true, RDONLY),
        "rnosuid" => (false, NOSUID),
        "rsuid" => (true, NOSUID),
        "rnodev" => (false, NODEV),
        "rdev" => (true, NODEV),
        "rnoexec" => (false, NOEXEC),
        "rexec" => (true, NOEXEC),
        "rnodiratime" => (false, NODIRATIME),
        "rdiratime" => (true, NODIRATIME),
        "rrelatime" => (false, RELATIME),
        "rnorelatime" => (true, RELATIME),
        "rnoatime" => (false, NOATIME),
        "ratime" => (true, NOATIME),
        "rstrictatime" => (false, STRICTATIME),
        "rnostrictatime" => (true, STRICTATIME),
        "rnosymfollow" => (false, NOSYMFOLLOW),
        "rsymfollow" => (true, NOSYMFOLLOW),
        _ => return None,
    })
}

/// The propagation flags of a name such as `rslave` (also `rootfsPropagation`'s values).
pub fn parse_propagation(name: &str) -> Option<MsFlags> {
    let rec = MsFlags::MS_REC;
    Some(match name {
        "private" => MsFlags::MS_PRIVATE,
        "rprivate" => MsFlags::MS_PRIVATE | rec,
        "shared" => MsFlags::MS_SHARED,
        "rshared" => MsFlags::MS_SHARED | rec,
        "slave" => MsFlags::MS_SLAVE,
        "rslave" => MsFlags::MS_SLAVE | rec,
        "unbindable" => MsFlags::MS_UNBINDABLE,
        "runbindable" => MsFlags::MS_UNBINDABLE | rec,
        _ => return None,
    })
}

/// True for a mount option name berth acts on (a flag, a recursive attribute, a propagation,
/// an idmapping).
pub fn is_recognized(name: &str) -> bool {
    flag_option(name).is_some()
        || recursive_option(name).is_some()
        || parse_propagation(name).is_some()
        || idmap_option(name).is_some()
}

/// Parses a mount's option list.
pub fn parse(options: &[String]) -> MountOptions {
    let mut parsed = MountOptions::default();
    let mut data = Vec::new();
    for option in options {
        if let Some((set, clear)) = flag_option(option) {
            parsed.flags = (parsed.flags | set) & !clear;
        } else if let Some((clear, bit)) = recursive_option(option) {
            let attr = &mut parsed.recursive;
            let is_atime_mode = [
                mount_attr::RELATIME,
                mount_attr::NOATIME,
                mount_attr::STRICTATIME,
            ]
            .contains(&bit)
                && !option.contains("diratime");
            if clear {
                attr.attr_clr |= bit;
                attr.attr_set &= !bit;
            } else if is_atime_mode {
                // An access-time mode replaces the whole mode field.
                attr.attr_clr |= mount_attr::ATIME_MASK;
                attr.attr_set = (attr.attr_set & !mount_attr::ATIME_MASK) | bit;
            } else {
                attr.attr_set |= bit;
                attr.attr_clr &= !bit;
            }
        } else if let Some(propagation) = parse_propagation(option) {
            parsed.propagation.push(propagation);
        } else if let Some(idmap) = idmap_option(option) {
            parsed.idmap = Some(idmap);
        } else {
            data.push(option.as_str());
        }
    }
    parsed.data = data.join(",");
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_strs(options: &[&str]) -> MountOptions {
        parse(&options.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn later_options_override_earlier_ones() {
        let parsed = parse_strs(&["ro", "nosuid", "rw"]);
        assert_eq!(parsed.flags, MsFlags::MS_NOSUID);
    }

    #[test]
    fn data_and_propagation_are_separated() {
        let parsed = parse_strs(&["rbind", "rslave", "mode=755", "size=65536k"]);
        assert_eq!(parsed.flags, MsFlags::MS_BIND | MsFlags::MS_REC);
        assert_eq!(
            parsed.propagation,
            vec![MsFlags::MS_SLAVE | MsFlags::MS_REC]
        );
        assert_eq!(parsed.data, "mode=755,size=65536k");
    }

    #[test]
    fn idmap_options_are_not_filesystem_data() {
        let parsed = parse_strs(&["rbind", "idmap", "ridmap"]);
        assert_eq!(parsed.idmap, Some(Idmap::Recursive));
        assert!(parsed.data.is_empty());
        assert_eq!(parse_strs(&["bind"]).idmap, None);
    }

    #[test]
    fn recursive_options_become_mount_attributes() {
        let parsed = parse_strs(&["rbind", "rro", "rnosuid", "rnoatime"]);
        assert_eq!(
            parsed.recursive.attr_set,
            mount_attr::RDONLY | mount_attr::NOSUID | mount_attr::NOATIME
        );
        assert_eq!(parsed.recursive.attr_clr, mount_attr::ATIME_MASK);
        assert!(parsed.data.is_empty());
    }
}
