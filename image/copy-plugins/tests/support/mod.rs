//! Shared by the unit and the integration tests: a folder this user cannot write into.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A folder the current user cannot create files in.
pub struct Unwritable {
    path: PathBuf,
    _guard: Option<tempfile::TempDir>,
}

impl Unwritable {
    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Whether creating a file in `dir` is refused for lack of permission.
fn refuses_writes(dir: &Path) -> bool {
    let probe = dir.join(".copy-plugins-probe");
    match fs::File::create(&probe) {
        Ok(_) => {
            let _ = fs::remove_file(&probe);
            false
        }
        Err(err) => err.kind() == io::ErrorKind::PermissionDenied,
    }
}

/// A read-only (0555) temporary folder; for a user that writes anyway (root, as in
/// containers and CI), `/sys`, which refuses new files even to root. `None` if neither
/// refuses.
pub fn unwritable_dir() -> Option<Unwritable> {
    let dir = tempfile::tempdir().ok()?;
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o555)).ok()?;
    if refuses_writes(dir.path()) {
        return Some(Unwritable {
            path: dir.path().to_path_buf(),
            _guard: Some(dir),
        });
    }
    let sys = Path::new("/sys");
    (sys.is_dir() && refuses_writes(sys)).then(|| Unwritable {
        path: sys.to_path_buf(),
        _guard: None,
    })
}
