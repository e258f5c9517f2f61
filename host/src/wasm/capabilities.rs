//! Capability manifests: which Kubernetes resources and verbs each action may use.
//!
//! The host owns this table; a component cannot widen it. Every call the guest makes
//! through the `kube` import is checked against the calling action's manifest before
//! anything is sent to the API server.

use std::fmt;

/// A Kubernetes API verb.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Get,
    List,
    Create,
    Patch,
    Delete,
    Watch,
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verb::Get => "get",
            Verb::List => "list",
            Verb::Create => "create",
            Verb::Patch => "patch",
            Verb::Delete => "delete",
            Verb::Watch => "watch",
        })
    }
}

/// Where a grant applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// A cluster-scoped resource (calls name no namespace).
    Cluster,
    /// A namespaced resource, in any one namespace per call.
    AnyNamespace,
    /// A namespaced resource, in one namespace or across all of them (cluster-wide list).
    AllNamespaces,
}

/// Permission to use some verbs on one resource.
#[derive(Debug, Clone, Copy)]
pub struct Grant {
    pub group: &'static str,
    pub resource: &'static str,
    pub verbs: &'static [Verb],
    pub scope: Scope,
}

/// The grants of one action.
#[derive(Debug, Clone, Copy)]
pub struct Manifest {
    pub action: &'static str,
    pub grants: &'static [Grant],
}

/// One call the guest asks to make.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub group: &'a str,
    pub resource: &'a str,
    pub verb: Verb,
    pub namespace: Option<&'a str>,
}

impl fmt::Display for Request<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let group = if self.group.is_empty() {
            "core"
        } else {
            self.group
        };
        write!(f, "{} {}/{}", self.verb, group, self.resource)?;
        match self.namespace {
            Some(ns) => write!(f, " in namespace {ns}"),
            None => f.write_str(" (cluster scope)"),
        }
    }
}

const CORE: &str = "";
const STORAGE: &str = "storage.k8s.io";
const SNAPSHOT: &str = "snapshot.storage.k8s.io";
const VELERO: &str = "velero.io";

const fn grant(
    group: &'static str,
    resource: &'static str,
    verbs: &'static [Verb],
    scope: Scope,
) -> Grant {
    Grant {
        group,
        resource,
        verbs,
        scope,
    }
}

use Verb::{Create, Delete, Get, List, Patch, Watch};

/// Every action's manifest ([behaviour §3.15](../../../docs/behaviour.md#315-api-access-per-action), per action). `watch` covers `wait-until`.
pub static MANIFESTS: &[Manifest] = &[
    Manifest {
        action: "velero.io/csi-pvc-backupper",
        grants: &[
            grant(CORE, "persistentvolumes", &[Get], Scope::Cluster),
            grant(CORE, "pods", &[List], Scope::AnyNamespace),
            grant(STORAGE, "storageclasses", &[Get], Scope::Cluster),
            grant(SNAPSHOT, "volumesnapshotclasses", &[List], Scope::Cluster),
            grant(
                SNAPSHOT,
                "volumesnapshots",
                &[Create, Get, Delete, Watch],
                Scope::AnyNamespace,
            ),
            grant(
                SNAPSHOT,
                "volumesnapshotcontents",
                &[Get, Patch, Watch],
                Scope::Cluster,
            ),
            grant(VELERO, "datauploads", &[Create, Patch], Scope::AnyNamespace),
            grant(VELERO, "datauploads", &[List], Scope::AllNamespaces),
        ],
    },
    Manifest {
        action: "velero.io/csi-volumesnapshot-backupper",
        grants: &[
            grant(
                SNAPSHOT,
                "volumesnapshots",
                &[Get, Patch, Delete, Watch],
                Scope::AnyNamespace,
            ),
            grant(
                SNAPSHOT,
                "volumesnapshotcontents",
                &[Get, Patch, Create, Delete, Watch],
                Scope::Cluster,
            ),
        ],
    },
    Manifest {
        action: "velero.io/csi-volumesnapshotcontent-backupper",
        grants: &[grant(
            SNAPSHOT,
            "volumesnapshotcontents",
            &[Get],
            Scope::Cluster,
        )],
    },
    Manifest {
        action: "velero.io/csi-volumesnapshotclass-backupper",
        grants: &[],
    },
    Manifest {
        action: "velero.io/csi-pvc-restorer",
        grants: &[
            grant(CORE, "persistentvolumeclaims", &[Get], Scope::AnyNamespace),
            grant(CORE, "configmaps", &[List], Scope::AnyNamespace),
            grant(VELERO, "backups", &[Get], Scope::AnyNamespace),
            grant(SNAPSHOT, "volumesnapshots", &[Get], Scope::AnyNamespace),
            grant(
                VELERO,
                "datadownloads",
                &[Create, Patch],
                Scope::AnyNamespace,
            ),
            grant(VELERO, "datadownloads", &[List], Scope::AllNamespaces),
        ],
    },
    Manifest {
        action: "velero.io/csi-volumesnapshot-restorer",
        grants: &[
            grant(SNAPSHOT, "volumesnapshots", &[Get], Scope::AnyNamespace),
            grant(
                SNAPSHOT,
                "volumesnapshotcontents",
                &[Create],
                Scope::Cluster,
            ),
        ],
    },
    Manifest {
        action: "velero.io/csi-volumesnapshotcontent-restorer",
        grants: &[],
    },
    Manifest {
        action: "velero.io/csi-volumesnapshotclass-restorer",
        grants: &[],
    },
    Manifest {
        action: "velero.io/csi-volumesnapshot-delete",
        grants: &[
            grant(SNAPSHOT, "volumesnapshots", &[Delete], Scope::AnyNamespace),
            grant(SNAPSHOT, "volumesnapshotcontents", &[Patch], Scope::Cluster),
        ],
    },
    Manifest {
        action: "velero.io/csi-volumesnapshotcontent-delete",
        grants: &[grant(
            SNAPSHOT,
            "volumesnapshotcontents",
            &[Patch, Delete],
            Scope::Cluster,
        )],
    },
];

/// The grants of `action`; none for an action without a manifest.
pub fn grants_of(action: &str) -> &'static [Grant] {
    MANIFESTS
        .iter()
        .find(|m| m.action == action)
        .map_or(&[], |m| m.grants)
}

/// Whether `grants` allow `request`.
pub fn permits(grants: &[Grant], request: &Request<'_>) -> bool {
    grants.iter().any(|grant| {
        grant.group == request.group
            && grant.resource == request.resource
            && grant.verbs.contains(&request.verb)
            && match grant.scope {
                Scope::Cluster => request.namespace.is_none(),
                Scope::AnyNamespace => request.namespace.is_some(),
                Scope::AllNamespaces => true,
            }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SNAPSHOTS: Grant = Grant {
        group: "snapshot.storage.k8s.io",
        resource: "volumesnapshots",
        verbs: &[Verb::Get, Verb::Create],
        scope: Scope::AnyNamespace,
    };

    fn request(
        resource: &'static str,
        verb: Verb,
        namespace: Option<&'static str>,
    ) -> Request<'static> {
        Request {
            group: "snapshot.storage.k8s.io",
            resource,
            verb,
            namespace,
        }
    }

    #[test]
    fn grants_match_group_resource_verb_and_scope() {
        let grants = [SNAPSHOTS];
        assert!(permits(
            &grants,
            &request("volumesnapshots", Verb::Get, Some("app"))
        ));
        assert!(!permits(
            &grants,
            &request("volumesnapshots", Verb::Delete, Some("app"))
        ));
        assert!(!permits(
            &grants,
            &request("volumesnapshots", Verb::Get, None)
        ));
        assert!(!permits(
            &grants,
            &request("volumesnapshotcontents", Verb::Get, Some("app"))
        ));
        let core = Request {
            group: "",
            ..request("volumesnapshots", Verb::Get, Some("app"))
        };
        assert!(!permits(&grants, &core));
    }

    #[test]
    fn all_namespaces_allows_cluster_wide_lists() {
        let grants = [grant(VELERO, "datauploads", &[List], Scope::AllNamespaces)];
        let list = |namespace| Request {
            group: VELERO,
            resource: "datauploads",
            verb: List,
            namespace,
        };
        assert!(permits(&grants, &list(None)));
        assert!(permits(&grants, &list(Some("velero"))));
    }

    #[test]
    fn every_action_has_one_manifest() {
        let mut names: Vec<_> = MANIFESTS.iter().map(|m| m.action).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 10);
        assert_eq!(names.len(), MANIFESTS.len());
    }

    #[test]
    fn actions_without_api_needs_get_no_grants() {
        assert!(grants_of("velero.io/csi-volumesnapshotclass-backupper").is_empty());
        assert!(grants_of("velero.io/not-registered").is_empty());
    }

    #[test]
    fn requests_describe_themselves() {
        let text = request("volumesnapshots", Verb::Patch, Some("app")).to_string();
        assert_eq!(
            text,
            "patch snapshot.storage.k8s.io/volumesnapshots in namespace app"
        );
    }
}
