//! Copying the files: each is written to a temporary file in the target folder, given
//! the source's permission bits, flushed to disk and renamed over its final name.

use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::CopyError;

/// The permission bits that are carried over; set-user-ID, set-group-ID and sticky bits
/// are dropped.
const PERMISSION_BITS: u32 = 0o777;

/// One file copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    /// The file in the source folder.
    pub source: PathBuf,
    /// The file now in the target folder.
    pub target: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// Its permission bits, as given to the copy.
    pub mode: u32,
}

/// An entry of the source folder that is not a regular file (a folder, a socket, a
/// dangling link...), left alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The entry in the source folder.
    pub path: PathBuf,
}

/// Copies every regular file of `source` (symbolic links are followed; sub-folders are
/// not descended into) into the existing folder `target`, in name order, calling
/// `on_copied` after each file is in place and `on_skipped` for each entry left alone.
///
/// Fails, before writing anything, when `source` is missing, not a folder or holds no
/// regular file, or when `target` is missing or not a folder; and at the first file that
/// cannot be read, written or renamed (its temporary file is removed).
pub fn copy_plugins(
    source: &Path,
    target: &Path,
    mut on_copied: impl FnMut(&Copied),
    mut on_skipped: impl FnMut(&Skipped),
) -> Result<Vec<Copied>, CopyError> {
    let Listing { files, skipped } = list_source(source)?;
    for entry in &skipped {
        on_skipped(entry);
    }
    check_target(target)?;
    let mut copied = Vec::with_capacity(files.len());
    for (name, mode) in files {
        let done = copy_file(&source.join(&name), target, &name, mode)?;
        on_copied(&done);
        copied.push(done);
    }
    Ok(copied)
}

/// What the source folder holds.
struct Listing {
    /// The names of its regular files, sorted, with their permission bits.
    files: Vec<(OsString, u32)>,
    /// The entries left alone, sorted.
    skipped: Vec<Skipped>,
}

/// Lists the source folder; fails if it holds no regular file.
fn list_source(source: &Path) -> Result<Listing, CopyError> {
    let source_error = |err| CopyError::Source {
        path: source.to_path_buf(),
        source: err,
    };
    let metadata = fs::metadata(source).map_err(source_error)?;
    if !metadata.is_dir() {
        return Err(CopyError::SourceNotFolder {
            path: source.to_path_buf(),
        });
    }
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    for entry in fs::read_dir(source).map_err(source_error)? {
        let entry = entry.map_err(source_error)?;
        let path = entry.path();
        // `fs::metadata` follows symbolic links: a link to a binary copies the binary.
        match fs::metadata(&path) {
            Ok(meta) if meta.is_file() => {
                files.push((
                    entry.file_name(),
                    meta.permissions().mode() & PERMISSION_BITS,
                ));
            }
            _ => skipped.push(Skipped { path }),
        }
    }
    if files.is_empty() {
        return Err(CopyError::SourceEmpty {
            path: source.to_path_buf(),
        });
    }
    files.sort();
    skipped.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Listing { files, skipped })
}

/// Checks that the target exists and is a folder (it is Velero's volume, never created
/// here: a missing one means the container was not started by Velero).
fn check_target(target: &Path) -> Result<(), CopyError> {
    let metadata = fs::metadata(target).map_err(|err| CopyError::Target {
        path: target.to_path_buf(),
        source: err,
    })?;
    if !metadata.is_dir() {
        return Err(CopyError::TargetNotFolder {
            path: target.to_path_buf(),
        });
    }
    Ok(())
}

/// The temporary name of `name` in the target folder: hidden, so that a listing of the
/// plugins folder does not take it for a plugin, and fixed, so that a run that follows a
/// crashed one overwrites the leftover rather than adding another.
pub(crate) fn temporary_name(name: &OsStr) -> OsString {
    let mut temporary = OsString::from(".");
    temporary.push(name);
    temporary.push(".copy-plugins.tmp");
    temporary
}

/// Copies one file through its temporary name.
fn copy_file(
    source: &Path,
    target_dir: &Path,
    name: &OsStr,
    mode: u32,
) -> Result<Copied, CopyError> {
    let target = target_dir.join(name);
    let temporary = target_dir.join(temporary_name(name));
    let result = write_temporary(source, &temporary, mode).and_then(|bytes| {
        fs::rename(&temporary, &target)
            .map(|()| bytes)
            .map_err(|err| CopyError::Rename {
                from: temporary.clone(),
                to: target.clone(),
                source: err,
            })
    });
    match result {
        Ok(bytes) => Ok(Copied {
            source: source.to_path_buf(),
            target,
            bytes,
            mode,
        }),
        Err(err) => {
            // Best effort: the error being reported matters more than a leftover.
            let _ = fs::remove_file(&temporary);
            Err(err)
        }
    }
}

/// Writes the contents of `source` to `temporary` with permission bits `mode` and flushes
/// it to disk; returns the number of bytes written.
fn write_temporary(source: &Path, temporary: &Path, mode: u32) -> Result<u64, CopyError> {
    let read_error = |err| CopyError::Read {
        path: source.to_path_buf(),
        source: err,
    };
    let write_error = |err| CopyError::Write {
        path: temporary.to_path_buf(),
        source: err,
    };
    let mut input = File::open(source).map_err(read_error)?;
    // Private until complete; the final mode is set explicitly below (no umask applies).
    let mut output = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(temporary)
        .map_err(write_error)?;
    let bytes = copy_contents(&mut input, &mut output, source, temporary)?;
    output
        .set_permissions(fs::Permissions::from_mode(mode))
        .map_err(write_error)?;
    output.sync_all().map_err(write_error)?;
    Ok(bytes)
}

/// Copies the bytes, telling a read failure (source) from a write failure (target).
fn copy_contents(
    input: &mut impl io::Read,
    output: &mut impl io::Write,
    source: &Path,
    temporary: &Path,
) -> Result<u64, CopyError> {
    let mut buffer = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    loop {
        let read = match input.read(&mut buffer) {
            Ok(0) => return Ok(total),
            Ok(read) => read,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => {
                return Err(CopyError::Read {
                    path: source.to_path_buf(),
                    source: err,
                });
            }
        };
        output
            .write_all(&buffer[..read])
            .map_err(|err| CopyError::Write {
                path: temporary.to_path_buf(),
                source: err,
            })?;
        total += read as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn write_file(path: &Path, contents: &[u8], mode: u32) {
        fs::write(path, contents).unwrap();
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    fn mode_of(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    fn copy(source: &Path, target: &Path) -> Result<Vec<Copied>, CopyError> {
        copy_plugins(source, target, |_| {}, |_| {})
    }

    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn copies_every_file_with_its_bytes_and_mode() {
        let source = tempfile::tempdir().unwrap();
        let target = tempfile::tempdir().unwrap();
        write_file(&source.path().join("plugin-b"), b"\x7fELF b", 0o755);
        write_file(&source.path().join("plugin-a"), b"\x7fELF a", 0o750);
        write_file(&source.path().join("notes.txt"), b"not executable", 0o644);

        let mut reported = Vec::new();
        let copied = copy_plugins(
            source.path(),
            target.path(),
            |c| reported.push(c.clone()),
            |s| panic!("nothing to skip, got {s:?}"),
        )
        .unwrap();

        assert_eq!(copied, reported);
        let names: Vec<_> = copied.iter().map(|c| c.target.clone()).collect();
        assert_eq!(
            names,
            ["notes.txt", "plugin-a", "plugin-b"].map(|n| target.path().join(n))
        );
        assert_eq!(
            fs::read(target.path().join("plugin-a")).unwrap(),
            b"\x7fELF a"
        );
        assert_eq!(
            fs::read(target.path().join("plugin-b")).unwrap(),
            b"\x7fELF b"
        );
        assert_eq!(mode_of(&target.path().join("plugin-a")), 0o750);
        assert_eq!(mode_of(&target.path().join("plugin-b")), 0o755);
        assert_eq!(mode_of(&target.path().join("notes.txt")), 0o644);
        assert_eq!(copied[2].bytes, 6);
        assert_eq!(copied[2].mode, 0o755);
        // No temporary file is left behind.
        assert_eq!(
            names_in(target.path()),
            ["notes.txt", "plugin-a", "plugin-b"]
        );
    }

    #[test]
    fn the_mode_is_not_narrowed_by_the_umask_nor_widened_by_set_id_bits() {
        let source = tempfile::tempdir().unwrap();
        let target = tempfile::tempdir().unwrap();
        write_file(&source.path().join("wide"), b"x", 0o777);
        write_file(&source.path().join("setuid"), b"y", 0o4755);
        copy(source.path(), target.path()).unwrap();
        assert_eq!(mode_of(&target.path().join("wide")), 0o777);
        assert_eq!(mode_of(&target.path().join("setuid")), 0o755);
    }

    #[test]
    fn an_existing_file_is_replaced_even_if_read_only() {
        let source = tempfile::tempdir().unwrap();
        let target = tempfile::tempdir().unwrap();
        write_file(&source.path().join("plugin"), b"new", 0o755);
        write_file(&target.path().join("plugin"), b"old and longer", 0o555);
        // A leftover of a crashed run is overwritten, not kept beside.
        let leftover = target.path().join(temporary_name(OsStr::new("plugin")));
        write_file(&leftover, b"half", 0o600);

        copy(source.path(), target.path()).unwrap();

        assert_eq!(fs::read(target.path().join("plugin")).unwrap(), b"new");
        assert_eq!(mode_of(&target.path().join("plugin")), 0o755);
        assert_eq!(names_in(target.path()), ["plugin"]);
    }

    #[test]
    fn links_are_followed_and_folders_skipped() {
        let source = tempfile::tempdir().unwrap();
        let target = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        write_file(&elsewhere.path().join("real"), b"linked", 0o755);
        symlink(elsewhere.path().join("real"), source.path().join("link")).unwrap();
        symlink(
            elsewhere.path().join("missing"),
            source.path().join("dangling"),
        )
        .unwrap();
        fs::create_dir(source.path().join("sub")).unwrap();

        let mut skipped = Vec::new();
        copy_plugins(
            source.path(),
            target.path(),
            |_| {},
            |s| skipped.push(s.path.clone()),
        )
        .unwrap();

        assert_eq!(
            skipped,
            [source.path().join("dangling"), source.path().join("sub")]
        );
        let copied = target.path().join("link");
        assert!(
            !fs::symlink_metadata(&copied)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(&copied).unwrap(), b"linked");
        assert_eq!(names_in(target.path()), ["link"]);
    }

    #[test]
    fn a_missing_source_is_named_in_the_error() {
        let target = tempfile::tempdir().unwrap();
        let missing = target.path().join("no-such-folder");
        let err = copy(&missing, target.path()).unwrap_err();
        assert!(
            matches!(&err, CopyError::Source { path, source }
                if path == &missing && source.kind() == io::ErrorKind::NotFound),
            "{err:?}"
        );
        assert!(
            err.to_string().starts_with(&format!(
                "cannot read source folder {}: ",
                missing.display()
            )),
            "{err}"
        );
    }

    #[test]
    fn a_source_without_files_is_an_error_and_nothing_is_written() {
        let source = tempfile::tempdir().unwrap();
        let target = tempfile::tempdir().unwrap();
        fs::create_dir(source.path().join("only-a-folder")).unwrap();
        let err = copy(source.path(), target.path()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "source folder {} holds no file to copy",
                source.path().display()
            )
        );
        assert!(names_in(target.path()).is_empty());
    }

    #[test]
    fn a_source_that_is_a_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        write_file(&dir.path().join("file"), b"x", 0o644);
        let err = copy(&dir.path().join("file"), dir.path()).unwrap_err();
        assert!(matches!(err, CopyError::SourceNotFolder { .. }), "{err:?}");
    }

    #[test]
    fn a_missing_or_non_folder_target_is_an_error() {
        let source = tempfile::tempdir().unwrap();
        write_file(&source.path().join("plugin"), b"x", 0o755);
        let missing = source.path().join("missing");
        let err = copy(source.path(), &missing).unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("cannot use target folder {}: ", missing.display())),
            "{err}"
        );
        let file = source.path().join("plugin");
        let err = copy(source.path(), &file).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("target {} is not a folder", file.display())
        );
    }

    #[test]
    fn an_unwritable_target_names_the_temporary_file() {
        let source = tempfile::tempdir().unwrap();
        write_file(&source.path().join("plugin"), b"x", 0o755);
        let Some(target) = crate::test_support::unwritable_dir() else {
            eprintln!("skipped: no folder here is unwritable for this user");
            return;
        };
        let err = copy(source.path(), target.path()).unwrap_err();
        let temporary = target.path().join(".plugin.copy-plugins.tmp");
        assert!(
            matches!(&err, CopyError::Write { path, .. } if path == &temporary),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .starts_with(&format!("cannot write {}: ", temporary.display())),
            "{err}"
        );
    }

    #[test]
    fn a_target_name_taken_by_a_folder_fails_the_rename_and_cleans_up() {
        let source = tempfile::tempdir().unwrap();
        let target = tempfile::tempdir().unwrap();
        write_file(&source.path().join("plugin"), b"x", 0o755);
        fs::create_dir(target.path().join("plugin")).unwrap();
        fs::write(target.path().join("plugin/keep"), b"k").unwrap();
        let err = copy(source.path(), target.path()).unwrap_err();
        assert!(matches!(err, CopyError::Rename { .. }), "{err:?}");
        assert_eq!(names_in(target.path()), ["plugin"]);
    }

    #[test]
    fn read_and_write_failures_are_told_apart() {
        struct Failing;
        impl io::Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("disk on fire"))
            }
        }
        let err = copy_contents(
            &mut Failing,
            &mut Vec::new(),
            Path::new("/s"),
            Path::new("/t"),
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "cannot read /s: disk on fire");

        let mut full = [0u8; 2];
        let err = copy_contents(
            &mut &b"abc"[..],
            &mut &mut full[..],
            Path::new("/s"),
            Path::new("/t"),
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("cannot write /t: "), "{err}");
    }
}
