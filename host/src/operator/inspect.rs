//! `velero-plugin-for-csi inspect [MODULE] [--json]`: what a component offers and what the
//! host lets it do. For the embedded component, or for a component file an operator wants to
//! check: its digest, every action (name, kind, what it applies to) and each action's
//! capability manifest (the Kubernetes resources, verbs and scope the host allows it); and
//! the name set in force ([`ActiveNames`]): which of the component's actions the plugin would
//! register with Velero.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use serde_json::{Value, json};

use csi_common::actions::Action;

use crate::bindings::{ActionInfo, ActionKind};
use crate::imports::HostServices;
use crate::imports::capabilities::{Grant, Scope};
use crate::imports::clock::SystemClock;
use crate::kubeapi::{KubeApi, RateLimit};
use crate::logging::{Level, LogSink, StderrLogger};
use crate::router::overrides::digest;
use crate::router::{ActiveNames, manifests};
use crate::sandbox::{GuestEngine, GuestRuntime, LoadError};

/// Why a component could not be inspected.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error("cannot read {path}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Load(#[from] LoadError),
}

/// What `inspect` reports about one component.
pub struct Inspection {
    /// `embedded` or the module's path.
    pub source: String,
    /// SHA-256 of the module's bytes (of the precompiled artifact for the embedded one).
    pub digest: String,
    /// Every action the component lists.
    pub actions: Vec<ActionInfo>,
    /// The name set in force.
    pub names: ActiveNames,
    /// The actions the plugin would register with Velero: the set's that the component
    /// lists, in listing order.
    pub registered: Vec<Action>,
}

/// Loads the embedded component, or the component at `module`, and lists its actions and
/// which of them the name set `names` registers. No Kubernetes call is made.
pub async fn inspect(
    module: Option<&Path>,
    names: ActiveNames,
) -> Result<Inspection, InspectError> {
    let services = offline_services();
    let (source, digest, runtime) = match module {
        None => (
            "embedded".to_owned(),
            digest(GuestEngine::embedded_artifact()),
            GuestRuntime::embedded(services).await?,
        ),
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|source| InspectError::Read {
                path: path.display().to_string(),
                source,
            })?;
            (
                path.display().to_string(),
                digest(&bytes),
                GuestRuntime::compile(&bytes, services).await?,
            )
        }
    };
    Ok(Inspection {
        source,
        digest,
        actions: runtime.actions().to_vec(),
        registered: names.registered(runtime.actions()),
        names,
    })
}

/// The imports for an operator command: a Kubernetes client that is never created unless
/// called (and these commands make no call), warnings and errors on stderr.
pub(crate) fn offline_services() -> HostServices {
    HostServices {
        cluster: Arc::new(KubeApi::new(RateLimit::VELERO_DEFAULT)),
        logger: Arc::new(StderrLogger::new(Level::Warn)) as Arc<dyn LogSink>,
        clock: Arc::new(SystemClock),
        server: crate::bindings::velero::csi::server::ServerSettings::none(),
    }
}

pub(crate) fn kind(kind: ActionKind) -> &'static str {
    match kind {
        ActionKind::BackupItemActionV2 => "BackupItemAction v2",
        ActionKind::RestoreItemActionV2 => "RestoreItemAction v2",
        ActionKind::DeleteItemAction => "DeleteItemAction",
    }
}

fn scope(scope: Scope) -> &'static str {
    match scope {
        Scope::Cluster => "cluster",
        Scope::AnyNamespace => "one namespace per call",
        Scope::AllNamespaces => "one namespace or all",
    }
}

/// The grants the host gives the action listed as `name`: none for a name it does not
/// register.
fn grants_of(name: &str) -> &'static [Grant] {
    Action::from_name(name).map_or(&[], manifests::grants)
}

fn group(grant: &Grant) -> &'static str {
    if grant.group.is_empty() {
        "core"
    } else {
        grant.group
    }
}

impl Inspection {
    /// The report as JSON.
    pub fn to_json(&self) -> Value {
        let actions: Vec<Value> = self
            .actions
            .iter()
            .map(|a| {
                let grants: Vec<Value> = grants_of(&a.name)
                    .iter()
                    .map(|g| {
                        json!({
                            "group": g.group, "resource": g.resource,
                            "verbs": g.verbs.iter().map(ToString::to_string).collect::<Vec<_>>(),
                            "scope": scope(g.scope),
                        })
                    })
                    .collect();
                json!({
                    "name": a.name,
                    "kind": kind(a.kind),
                    "registered": self.is_registered(&a.name),
                    "appliesTo": {
                        "includedResources": a.selector.included_resources,
                        "excludedResources": a.selector.excluded_resources,
                        "includedNamespaces": a.selector.included_namespaces,
                        "excludedNamespaces": a.selector.excluded_namespaces,
                        "labelSelector": a.selector.label_selector,
                    },
                    "capabilities": grants,
                })
            })
            .collect();
        json!({
            "component": self.source,
            "digest": self.digest,
            "nameSet": self.names.to_json(&self.registered),
            "actions": actions,
        })
    }

    fn is_registered(&self, name: &str) -> bool {
        self.registered.iter().any(|a| a.name() == name)
    }

    /// The report for people.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "component: {}", self.source);
        let _ = writeln!(out, "digest:    {}", self.digest);
        let _ = writeln!(
            out,
            "name set:  {} ({})",
            self.names.set().as_str(),
            self.names.how()
        );
        let _ = writeln!(
            out,
            "registers: {}",
            self.names.describe_registered(&self.registered)
        );
        let _ = writeln!(out, "actions:   {}", self.actions.len());
        for action in &self.actions {
            let _ = writeln!(out, "\n{}  ({})", action.name, kind(action.kind));
            let _ = writeln!(
                out,
                "  registered: {}",
                if self.is_registered(&action.name) {
                    "yes".to_owned()
                } else {
                    format!("no (not in the {} set)", self.names.set().as_str())
                }
            );
            let selector = &action.selector;
            let _ = writeln!(
                out,
                "  applies to: {}",
                if selector.included_resources.is_empty() {
                    "*".to_owned()
                } else {
                    selector.included_resources.join(", ")
                }
            );
            let grants = grants_of(&action.name);
            if grants.is_empty() {
                let _ = writeln!(out, "  may call:   nothing (no Kubernetes API access)");
            }
            for (i, grant) in grants.iter().enumerate() {
                let verbs: Vec<String> = grant.verbs.iter().map(ToString::to_string).collect();
                let _ = writeln!(
                    out,
                    "  {} {}/{}: {} ({})",
                    if i == 0 { "may call:  " } else { "           " },
                    group(grant),
                    grant.resource,
                    verbs.join(", "),
                    scope(grant.scope)
                );
            }
        }
        out
    }
}
