//! The configuration `berth spec` writes: runc's defaults, or the rootless variant.

use oci_spec::runtime::Spec;

/// A starting `config.json` like `runc spec`'s, for root or (with `rootless`) for the calling user.
pub fn default_spec(rootless: bool) -> Spec {
    let mut spec = if rootless {
        Spec::rootless(
            nix::unistd::getuid().as_raw(),
            nix::unistd::getgid().as_raw(),
        )
    } else {
        Spec::default()
    };
    spec.set_version(crate::SPEC_VERSION.to_string());
    spec.set_hostname(Some("berth".to_string()));
    spec
}
