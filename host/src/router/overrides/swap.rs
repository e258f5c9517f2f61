//! Taking a changed modules directory into service: which file serves which actions.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use csi_common::actions::Action;

use super::loader::Loader;
use super::module::{ArtifactSource, Module};
use super::scan::{Entry, Listing};
use crate::logging::{Level, LogSink, chain};

/// What is known of each module file.
#[derive(Default)]
pub struct Swap {
    files: BTreeMap<String, FileState>,
    unreadable: Option<String>,
}

struct FileState {
    /// The file as listed when last read: unchanged, it is not read again.
    listed: Entry,
    /// The digest of the file's content when last read (served or refused).
    digest: String,
    /// The last version of the file that passed validation.
    serving: Option<Arc<Module>>,
}

impl Swap {
    /// Validates what changed in `listing` (files listed as before are not read again; a
    /// file whose content is unchanged is not validated again) and returns the actions each serving module
    /// overrides. Every change is logged: modules put in service, refused (and what keeps
    /// serving instead), removed.
    pub async fn take_in(
        &mut self,
        listing: &Listing,
        loader: &Loader,
        log: &(dyn LogSink + 'static),
    ) -> HashMap<Action, Arc<Module>> {
        self.note_unreadable(listing, log);
        let files = listing.files();
        self.files.retain(|name, _| {
            let kept = files.iter().any(|f| &f.name == name);
            if !kept {
                log.emit(
                    Level::Info,
                    "modules",
                    &format!(
                        "module {name} was removed; the embedded component serves its actions again"
                    ),
                );
            }
            kept
        });
        for file in files {
            if self
                .files
                .get(&file.name)
                .is_some_and(|state| state.listed == *file)
            {
                continue;
            }
            let bytes = match std::fs::read(&file.path) {
                Ok(bytes) => bytes,
                Err(error) => {
                    log.emit(
                        Level::Error,
                        "modules",
                        &format!("cannot read module {}: {error}", file.path.display()),
                    );
                    continue;
                }
            };
            let digest = super::digest(&bytes);
            let state = self.files.entry(file.name.clone()).or_insert(FileState {
                listed: file.clone(),
                digest: String::new(),
                serving: None,
            });
            state.listed = file.clone();
            if state.digest == digest {
                continue;
            }
            state.digest = digest.clone();
            match loader.load(&file.name, digest.clone(), bytes).await {
                Ok(module) => {
                    log.emit(Level::Info, "modules", &in_service(&module));
                    state.serving = Some(Arc::new(module));
                }
                Err(error) => {
                    let instead = match &state.serving {
                        Some(previous) => format!(
                            "its previous version ({}) stays in service",
                            previous.digest
                        ),
                        None => "the embedded component keeps serving".to_owned(),
                    };
                    log.emit(
                        Level::Error,
                        "modules",
                        &format!(
                            "refused module {} ({digest}): {}; {instead}",
                            file.name,
                            chain(&error)
                        ),
                    );
                }
            }
        }
        self.routes(log)
    }

    fn note_unreadable(&mut self, listing: &Listing, log: &(dyn LogSink + 'static)) {
        let unreadable = match listing {
            Listing::Unreadable(reason) => Some(reason.clone()),
            Listing::Unread | Listing::Files(_) => None,
        };
        if let Some(reason) = &unreadable {
            log.emit(
                Level::Warn,
                "modules",
                &format!("cannot read the modules directory ({reason}); the embedded component serves every action"),
            );
        }
        self.unreadable = unreadable;
    }

    /// Action → module, in file-name order; a module that lists an action an earlier file
    /// already serves is left out as a whole.
    fn routes(&self, log: &(dyn LogSink + 'static)) -> HashMap<Action, Arc<Module>> {
        let mut routes: HashMap<Action, Arc<Module>> = HashMap::new();
        for (name, state) in &self.files {
            let Some(module) = &state.serving else {
                continue;
            };
            if let Some((action, other)) = module
                .actions
                .iter()
                .find_map(|a| routes.get(a).map(|other| (a.name(), other)))
            {
                log.emit(
                    Level::Error,
                    "modules",
                    &format!(
                        "refused module {name}: it lists {action}, which module {} already serves",
                        other.file
                    ),
                );
                continue;
            }
            for &action in &module.actions {
                routes.insert(action, module.clone());
            }
        }
        routes
    }
}

fn in_service(module: &Module) -> String {
    let names: Vec<&str> = module.actions.iter().map(|a| a.name()).collect();
    let how = match &module.source {
        ArtifactSource::Cache(_) => "loaded from the cache",
        ArtifactSource::Compiled(_) => "compiled",
    };
    format!(
        "module {} ({}) is in service for {} ({how} and validated in {:.1?})",
        module.file,
        module.digest,
        names.join(", "),
        module.load_time
    )
}
