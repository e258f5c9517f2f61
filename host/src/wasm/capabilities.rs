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
    /// Cluster-scoped resources only.
    Cluster,
    /// Namespaced resources, in any namespace.
    AnyNamespace,
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

/// Every action's manifest. The VolumeSnapshotClass actions work on the item alone and
/// may not call the API at all.
pub static MANIFESTS: &[Manifest] = &[
    Manifest {
        action: "velero.io/csi-volumesnapshotclass-backupper",
        grants: &[],
    },
    Manifest {
        action: "velero.io/csi-volumesnapshotclass-restorer",
        grants: &[],
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
