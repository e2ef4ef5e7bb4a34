//! Looking users up in a passwd file (berth is static: no NSS).

use std::path::Path;

/// The name and home directory of `uid` in the passwd file at `path`.
pub fn lookup_uid(path: &Path, uid: u32) -> Option<(String, String)> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.len() >= 6 && fields[2].parse() == Ok(uid))
            .then(|| (fields[0].to_string(), fields[5].to_string()))
    })
}
