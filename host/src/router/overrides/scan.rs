//! The modules directory's listing: what changed is decided by comparing two listings.
//!
//! A module is a regular file (or a symlink to one, as in a ConfigMap mount) named
//! `*.wasm` directly in the directory; hidden entries (a ConfigMap mount's `..data`) are
//! skipped. Each is stamped with its size, modification time and inode, so that a file
//! rewritten in place or replaced by a rename both count as changed.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// One module file as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub path: PathBuf,
    len: u64,
    modified: Option<SystemTime>,
    inode: u64,
}

/// The module files of the directory, by name, or why it could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Listing {
    /// Not read yet.
    #[default]
    Unread,
    Files(Vec<Entry>),
    Unreadable(String),
}

/// Lists `dir`'s modules.
pub fn list(dir: &Path) -> Listing {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) => return Listing::Unreadable(format!("{}: {error}", dir.display())),
    };
    let mut files: Vec<Entry> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            if name.starts_with('.') || !name.ends_with(".wasm") {
                return None;
            }
            let path = entry.path();
            // Follows symlinks: a ConfigMap mount's files are links into `..data`.
            let metadata = std::fs::metadata(&path).ok().filter(|m| m.is_file())?;
            Some(Entry {
                name,
                path,
                len: metadata.len(),
                modified: metadata.modified().ok(),
                inode: std::os::unix::fs::MetadataExt::ino(&metadata),
            })
        })
        .collect();
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Listing::Files(files)
}

impl Listing {
    /// The module files listed (none if the directory could not be read).
    pub fn files(&self) -> &[Entry] {
        match self {
            Listing::Files(files) => files,
            Listing::Unread | Listing::Unreadable(_) => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_wasm_files_by_name_and_sees_changes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b.wasm"), b"b").unwrap();
        std::fs::write(dir.path().join("a.wasm"), b"a").unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"n").unwrap();
        std::fs::write(dir.path().join(".hidden.wasm"), b"h").unwrap();
        std::fs::create_dir(dir.path().join("sub.wasm")).unwrap();
        let first = list(dir.path());
        let names: Vec<_> = first.files().iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["a.wasm", "b.wasm"]);
        assert_eq!(list(dir.path()), first, "nothing changed");

        std::fs::write(dir.path().join("a.wasm"), b"a, longer").unwrap();
        assert_ne!(list(dir.path()), first, "rewritten in place");

        let replaced = list(dir.path());
        std::fs::write(dir.path().join("tmp"), b"a, other!").unwrap();
        std::fs::rename(dir.path().join("tmp"), dir.path().join("a.wasm")).unwrap();
        assert_ne!(list(dir.path()), replaced, "replaced by a rename");
    }

    #[test]
    fn follows_symlinks_as_in_a_configmap_mount() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("..data")).unwrap();
        std::fs::write(dir.path().join("..data/m.wasm"), b"m").unwrap();
        std::os::unix::fs::symlink("..data/m.wasm", dir.path().join("m.wasm")).unwrap();
        let names: Vec<_> = list(dir.path())
            .files()
            .iter()
            .map(|e| e.name.clone())
            .collect();
        assert_eq!(names, ["m.wasm"]);
    }

    #[test]
    fn a_missing_directory_is_unreadable_not_empty() {
        let listing = list(Path::new("/nonexistent/modules"));
        assert!(matches!(listing, Listing::Unreadable(_)));
        assert!(listing.files().is_empty());
    }
}
