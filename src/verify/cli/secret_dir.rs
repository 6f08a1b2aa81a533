//! `--secret-dir`: header values read from a folder laid out like a mounted Secret volume,
//! `DIR/<secret name>/<key>`, without letting a checklist read anything else.
//!
//! The names come from the checklist, which may come from anyone: a Secret named `..` or a key
//! named `../../etc/hostname` would otherwise send a file of the machine as a header. Names are
//! checked as the API server checks real Secret names and keys before they touch a path, and the
//! resolved file must still be inside DIR (a mounted volume's own links, `key -> ..data/key`,
//! stay inside; a link pointing out is refused).

use std::path::{Path, PathBuf};

use crate::api::DeploymentChecklist;
use crate::verify::engine::SecretValues;

use super::{
    UsageError,
    read::{self, Links, ReadError},
};

/// The largest Secret value read for a header: twice the longest literal header value the CRD
/// allows, room for long tokens; servers refuse much longer headers anyway.
pub const MAX_VALUE_BYTES: u64 = 16 * 1024;

/// Reads `DIR/<secret>/<key>` for every header that takes its value from a Secret. A missing
/// file leaves its check skipped; a bad name or a path leaving DIR is an error.
pub fn read(dir: &Path, checklist: &DeploymentChecklist) -> Result<SecretValues, UsageError> {
    let root = dir
        .canonicalize()
        .map_err(|e| UsageError(format!("--secret-dir {}: {e}", dir.display())))?;
    let mut secrets = SecretValues::default();
    for source in crate::verify::checks::kind::secret_sources(&checklist.spec.verification) {
        let (secret, key) = (&source.secret_key_ref.name, &source.secret_key_ref.key);
        if let Some(problem) = secret_name_problem(secret) {
            return Err(UsageError(format!("Secret name {secret:?} {problem}")));
        }
        if let Some(problem) = key_problem(key) {
            return Err(UsageError(format!(
                "key {key:?} of Secret {secret} {problem}"
            )));
        }
        let Some(path) = inside(&root, &dir.join(secret).join(key))? else {
            continue;
        };
        match read::read_limited(&path, MAX_VALUE_BYTES, Links::Refuse) {
            Ok(value) => secrets.insert(secret, key, &value).map_err(UsageError)?,
            Err(ReadError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(UsageError(e.to_string())),
        }
    }
    Ok(secrets)
}

/// `path` with every link resolved, when it exists and stays inside `root`; `None` when it does
/// not exist (the check is skipped).
fn inside(root: &Path, path: &Path) -> Result<Option<PathBuf>, UsageError> {
    let resolved = match path.canonicalize() {
        Ok(resolved) => resolved,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(UsageError(format!("cannot read {}: {e}", path.display()))),
    };
    if !resolved.starts_with(root) {
        return Err(UsageError(format!(
            "{} leads to {}, outside --secret-dir {}",
            path.display(),
            resolved.display(),
            root.display()
        )));
    }
    Ok(Some(resolved))
}

/// Why `name` is not a Secret name (a DNS subdomain: at most 253 characters, dot-separated
/// labels of lower-case letters, digits and `-`, each starting and ending with a letter or
/// digit), or `None` when it is one.
pub fn secret_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() || name.len() > 253 {
        return Some("must be 1 to 253 characters long");
    }
    let label_ok = |label: &str| {
        let bytes = label.as_bytes();
        !bytes.is_empty()
            && bytes[0].is_ascii_alphanumeric()
            && bytes[bytes.len() - 1].is_ascii_alphanumeric()
            && bytes
                .iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
    };
    if name.split('.').all(label_ok) {
        None
    } else {
        Some("is not a DNS subdomain (lower-case letters, digits, - and . between labels)")
    }
}

/// Why `key` is not a Secret key (letters, digits, `-`, `_` and `.`, at most 253 characters,
/// not `.`, `..` or starting with `..`), or `None` when it is one.
pub fn key_problem(key: &str) -> Option<&'static str> {
    if key.is_empty() || key.len() > 253 {
        return Some("must be 1 to 253 characters long");
    }
    if !key
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Some("may hold only letters, digits, -, _ and .");
    }
    if key == "." || key.starts_with("..") {
        return Some("must not be . or start with ..");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_are_dns_subdomains() {
        for good in ["probe-token", "a", "a.b-c.d1", &"a".repeat(253)] {
            assert_eq!(secret_name_problem(good), None, "{good}");
        }
        for bad in [
            "",
            "..",
            ".",
            "../etc",
            "a/b",
            "A",
            "-a",
            "a-",
            "a..b",
            ".a",
            &"a".repeat(254),
        ] {
            assert!(secret_name_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn keys_are_secret_keys_that_cannot_leave_a_folder() {
        for good in ["header", ".hidden", "a..b", "TOKEN_1", "a.b-c"] {
            assert_eq!(key_problem(good), None, "{good}");
        }
        for bad in [
            "",
            ".",
            "..",
            "..a",
            "../x",
            "a/b",
            "a\\b",
            "a b",
            &"k".repeat(254),
        ] {
            assert!(key_problem(bad).is_some(), "{bad}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_link_that_leaves_the_folder_is_refused_and_one_inside_is_followed() {
        let dir = std::env::temp_dir().join(format!("secret-dir-{}", std::process::id()));
        let secret = dir.join("probe-token");
        std::fs::create_dir_all(secret.join("..data")).unwrap();
        std::fs::write(secret.join("..data").join("header"), b"Bearer x\n").unwrap();
        let link = |target: &str, name: &str| {
            std::fs::remove_file(secret.join(name)).ok();
            std::os::unix::fs::symlink(target, secret.join(name)).unwrap();
        };
        link("..data/header", "header");
        link("/", "escape");
        let root = dir.canonicalize().unwrap();
        let found = inside(&root, &secret.join("header")).unwrap().unwrap();
        assert!(
            found.ends_with("probe-token/..data/header"),
            "{}",
            found.display()
        );
        let error = inside(&root, &secret.join("escape")).unwrap_err();
        assert!(error.0.contains("outside --secret-dir"), "{error}");
        assert_eq!(inside(&root, &secret.join("missing")).unwrap(), None);
    }
}
