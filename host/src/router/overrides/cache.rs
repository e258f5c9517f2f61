//! The cache of precompiled modules: compiling a component takes a second or more, loading
//! its precompiled artifact a few milliseconds, and Velero starts a fresh plugin process for
//! every backup, restore and polling round.
//!
//! An artifact is named after the module's digest and the engine's compatibility key, so a
//! changed module or a different engine (another wasmtime version, other settings) never
//! picks up a stale artifact. Artifacts are native code the process will run, so the
//! directory must be private to this user: it is created with mode 0700, and one that others
//! could write to is not used.

use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use wasmtime::component::Component;

use crate::sandbox::GuestEngine;

/// Why the cache cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("cannot create the module cache {path}")]
    Create { path: PathBuf, source: io::Error },
    #[error(
        "the module cache {path} is not private to this user (owner uid {owner}, mode {mode:o}); \
         artifacts there could be replaced by others"
    )]
    NotPrivate {
        path: PathBuf,
        owner: u32,
        mode: u32,
    },
    #[error("cannot write {path}")]
    Write { path: PathBuf, source: io::Error },
}

/// A directory of precompiled modules.
#[derive(Debug, Clone)]
pub struct ArtifactCache {
    dir: PathBuf,
}

impl ArtifactCache {
    /// `<temp dir>/velero-csi-module-cache-<uid>`: writable in Velero's pod, private to
    /// the user.
    pub fn default_dir() -> PathBuf {
        std::env::temp_dir().join(format!("velero-csi-module-cache-{}", effective_uid()))
    }

    /// Opens (creating if needed) the cache at `dir`.
    pub fn open(dir: PathBuf) -> Result<Self, CacheError> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|source| CacheError::Create {
                path: dir.clone(),
                source,
            })?;
        let metadata = std::fs::metadata(&dir).map_err(|source| CacheError::Create {
            path: dir.clone(),
            source,
        })?;
        let mode = metadata.permissions().mode() & 0o7777;
        if metadata.uid() != effective_uid() || mode & 0o022 != 0 {
            return Err(CacheError::NotPrivate {
                path: dir,
                owner: metadata.uid(),
                mode,
            });
        }
        Ok(Self { dir })
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the artifact of the module with `digest` is kept for `engine`.
    pub fn path(&self, engine: &GuestEngine, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        self.dir
            .join(format!("{hex}-{}.cwasm", engine.compatibility_key()))
    }

    /// The cached artifact of the module with `digest`, if there is one that `engine`
    /// accepts; one it refuses is removed.
    pub fn load(&self, engine: &GuestEngine, digest: &str) -> Option<Component> {
        let path = self.path(engine, digest);
        if !path.is_file() {
            return None;
        }
        // SAFETY: the directory is private to this user (checked in `open`) and its
        // artifacts are written only by `store`, from modules compiled by this engine
        // configuration; wasmtime also checks the artifact's header and compatibility.
        match unsafe { Component::deserialize_file(engine.wasmtime(), &path) } {
            Ok(component) => Some(component),
            Err(_) => {
                let _ = std::fs::remove_file(&path);
                None
            }
        }
    }

    /// Stores `component`'s artifact for the module with `digest`: written beside its
    /// final name, then renamed, so a concurrent reader never sees half an artifact.
    pub fn store(
        &self,
        engine: &GuestEngine,
        digest: &str,
        component: &Component,
    ) -> Result<PathBuf, CacheError> {
        let path = self.path(engine, digest);
        let write = |path: &Path| -> io::Result<()> {
            let bytes = component.serialize().map_err(io::Error::other)?;
            let partial = path.with_extension(format!("partial-{}", std::process::id()));
            std::fs::write(&partial, bytes)?;
            std::fs::rename(&partial, path)
        };
        write(&path).map_err(|source| CacheError::Write {
            path: path.clone(),
            source,
        })?;
        Ok(path)
    }
}

fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::GuestLimits;

    #[test]
    fn a_new_cache_is_private() {
        let root = tempfile::tempdir().unwrap();
        let cache = ArtifactCache::open(root.path().join("a/b")).unwrap();
        let mode = std::fs::metadata(cache.dir()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }

    #[test]
    fn a_cache_others_can_write_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("shared");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(matches!(
            ArtifactCache::open(dir),
            Err(CacheError::NotPrivate { .. })
        ));
    }

    #[test]
    fn artifacts_are_keyed_by_digest_and_engine_and_bad_ones_are_dropped() {
        let root = tempfile::tempdir().unwrap();
        let cache = ArtifactCache::open(root.path().join("c")).unwrap();
        let engine = GuestEngine::new(GuestLimits::DEFAULT).unwrap();
        let digest = "sha256:00ff";
        let path = cache.path(&engine, digest);
        assert!(path.starts_with(cache.dir()));
        let name = path.file_name().unwrap().to_str().unwrap();
        assert!(
            name.starts_with("00ff-") && name.ends_with(".cwasm"),
            "{name}"
        );
        assert!(cache.load(&engine, digest).is_none());

        std::fs::write(&path, b"not an artifact").unwrap();
        assert!(cache.load(&engine, digest).is_none());
        assert!(!path.exists(), "a refused artifact is removed");

        let component = engine.embedded().unwrap();
        cache.store(&engine, digest, &component).unwrap();
        assert!(cache.load(&engine, digest).is_some());
    }
}
