//! Start-up contract with go-plugin's client: the magic cookie, the socket and the
//! handshake line.

use std::io;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

/// Environment variable carrying Velero's magic cookie.
pub const MAGIC_COOKIE_KEY: &str = "VELERO_PLUGIN";
/// The cookie value Velero sets.
pub const MAGIC_COOKIE_VALUE: &str = "hello";

/// What a person who runs the binary by hand sees on stderr.
pub const NOT_A_PLUGIN_NOTICE: &str = "This binary is a plugin. These are not meant to be \
executed directly.\nPlease execute the program that consumes these plugins, which will\n\
load any plugins automatically";

/// Longest path a Unix socket address holds.
const MAX_SOCKET_PATH: usize = 107;

/// Whether the process was started by go-plugin's client.
pub fn cookie_matches(value: Option<&str>) -> bool {
    value == Some(MAGIC_COOKIE_VALUE)
}

/// The directory for the socket: `PLUGIN_UNIX_SOCKET_DIR`, else `TMPDIR`, else `/tmp`.
pub fn socket_dir(env: impl Fn(&str) -> Option<String>) -> PathBuf {
    ["PLUGIN_UNIX_SOCKET_DIR", "TMPDIR"]
        .iter()
        .find_map(|key| env(key).filter(|v| !v.is_empty()))
        .map_or_else(|| PathBuf::from("/tmp"), PathBuf::from)
}

/// Binds a listening socket with a name unique to this process (`plugin<10 digits>`).
pub fn bind_unique(dir: &Path) -> io::Result<(UnixListener, PathBuf)> {
    use std::hash::{BuildHasher, RandomState};

    let state = RandomState::new();
    for attempt in 0u32..100 {
        let suffix = state.hash_one((std::process::id(), attempt)) % 10_000_000_000;
        let path = dir.join(format!("plugin{suffix:010}"));
        if path.as_os_str().len() > MAX_SOCKET_PATH {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "socket path {} is longer than {MAX_SOCKET_PATH} bytes",
                    path.display()
                ),
            ));
        }
        match UnixListener::bind(&path) {
            Ok(listener) => return Ok((listener, path)),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AddrInUse,
        format!("no free socket name in {}", dir.display()),
    ))
}

/// The handshake line: core version 1, Velero's protocol version 2, the socket, gRPC, and
/// an empty certificate field (Velero has no TLS configuration).
pub fn handshake_line(socket: &Path) -> String {
    format!("1|2|unix|{}|grpc|\n", socket.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_must_be_exact() {
        assert!(cookie_matches(Some("hello")));
        assert!(!cookie_matches(Some("wrong")));
        assert!(!cookie_matches(Some("hello ")));
        assert!(!cookie_matches(None));
    }

    #[test]
    fn socket_dir_precedence() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |key: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        assert_eq!(socket_dir(env(&[])), PathBuf::from("/tmp"));
        assert_eq!(socket_dir(env(&[("TMPDIR", "/t")])), PathBuf::from("/t"));
        assert_eq!(
            socket_dir(env(&[("TMPDIR", "/t"), ("PLUGIN_UNIX_SOCKET_DIR", "/s")])),
            PathBuf::from("/s")
        );
    }

    #[test]
    fn sockets_are_unique_and_line_is_well_formed() {
        let dir = tempfile::tempdir().unwrap();
        let (_a, a) = bind_unique(dir.path()).unwrap();
        let (_b, b) = bind_unique(dir.path()).unwrap();
        assert_ne!(a, b);
        let line = handshake_line(&a);
        let fields: Vec<_> = line.trim_end().split('|').collect();
        assert_eq!(fields.len(), 6);
        assert_eq!(&fields[..3], ["1", "2", "unix"]);
        assert_eq!(fields[4..], ["grpc", ""]);
        assert!(fields[3].starts_with(dir.path().to_str().unwrap()));
    }

    #[test]
    fn overlong_socket_dirs_are_refused() {
        let long = PathBuf::from(format!("/tmp/{}", "d".repeat(120)));
        assert_eq!(
            bind_unique(&long).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
    }
}
