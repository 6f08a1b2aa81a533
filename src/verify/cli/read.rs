//! Reading a file a user named without trusting it: a regular file only, never more than a
//! limit, and never blocking on a FIFO or a device (`-f /dev/zero`, `-f /dev/stdin` with no
//! writer).

use std::{
    fs::File,
    io::Read,
    path::{Path, PathBuf},
};

/// Why a file was not read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be opened or read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The last component is a symbolic link, which this read does not follow.
    #[error("{} is a symbolic link, which is not followed here", path.display())]
    Symlink {
        /// The file.
        path: PathBuf,
    },
    /// A FIFO, socket, device or directory.
    #[error("{} is not a regular file", path.display())]
    NotRegular {
        /// The file.
        path: PathBuf,
    },
    /// Longer than the limit.
    #[error("{} is larger than {limit} bytes, the limit", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit in bytes.
        limit: u64,
    },
}

/// Whether the last component of the path may be a symbolic link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    /// Follow it, as for a file named on the command line.
    Follow,
    /// Refuse it, for a path already resolved and checked to stay inside a folder.
    Refuse,
}

/// The bytes of the regular file at `path`, at most `limit` of them.
pub fn read_limited(path: &Path, limit: u64, links: Links) -> Result<Vec<u8>, ReadError> {
    let io = |source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = open(path, links).map_err(|source| {
        if links == Links::Refuse && is_symlink_refusal(&source) {
            ReadError::Symlink {
                path: path.to_path_buf(),
            }
        } else {
            io(source)
        }
    })?;
    // The type is asked of the opened file, not the path, so it cannot change in between.
    let metadata = file.metadata().map_err(io)?;
    if !metadata.is_file() {
        return Err(ReadError::NotRegular {
            path: path.to_path_buf(),
        });
    }
    let too_large = || ReadError::TooLarge {
        path: path.to_path_buf(),
        limit,
    };
    if metadata.len() > limit {
        return Err(too_large());
    }
    // The size can grow while reading (a log being written): the reader stops one byte past the
    // limit whatever the metadata said.
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > limit {
        return Err(too_large());
    }
    Ok(bytes)
}

#[cfg(unix)]
fn open(path: &Path, links: Links) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    // O_NONBLOCK: opening a FIFO with no writer returns at once instead of waiting for one; it
    // changes nothing for a regular file. O_NOFOLLOW: a symbolic link as the last component
    // fails to open (ELOOP) instead of being followed.
    let mut flags = libc::O_NONBLOCK;
    if links == Links::Refuse {
        flags |= libc::O_NOFOLLOW;
    }
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
}

#[cfg(not(unix))]
fn open(path: &Path, _links: Links) -> std::io::Result<File> {
    File::open(path)
}

#[cfg(unix)]
fn is_symlink_refusal(error: &std::io::Error) -> bool {
    error.raw_os_error() == Some(libc::ELOOP)
}

#[cfg(not(unix))]
fn is_symlink_refusal(_error: &std::io::Error) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("read-limited-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_small_regular_file_is_read_whole() {
        let dir = scratch("small");
        let file = dir.join("a.yaml");
        std::fs::write(&file, b"kind: x\n").unwrap();
        assert_eq!(read_limited(&file, 8, Links::Follow).unwrap(), b"kind: x\n");
        let error = read_limited(&file, 7, Links::Follow).unwrap_err();
        assert!(
            matches!(error, ReadError::TooLarge { limit: 7, .. }),
            "{error}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn devices_fifos_and_directories_are_refused_at_once() {
        let dir = scratch("special");
        for path in [
            Path::new("/dev/zero"),
            Path::new("/dev/null"),
            dir.as_path(),
        ] {
            let error = read_limited(path, 1 << 20, Links::Follow).unwrap_err();
            assert!(matches!(error, ReadError::NotRegular { .. }), "{error}");
        }
        let fifo = dir.join("fifo");
        std::fs::remove_file(&fifo).ok();
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            let error = read_limited(&fifo, 1 << 20, Links::Follow).unwrap_err();
            assert!(matches!(error, ReadError::NotRegular { .. }), "{error}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_symbolic_link_is_followed_only_when_asked() {
        let dir = scratch("links");
        let target = dir.join("target");
        std::fs::write(&target, b"value").unwrap();
        let link = dir.join("link");
        std::fs::remove_file(&link).ok();
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert_eq!(read_limited(&link, 64, Links::Follow).unwrap(), b"value");
        let error = read_limited(&link, 64, Links::Refuse).unwrap_err();
        assert!(matches!(error, ReadError::Symlink { .. }), "{error}");
    }
}
