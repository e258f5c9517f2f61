//! Capability checks: grants (Kubernetes resources, verbs and scope) and whether they allow
//! one request. Which action holds which grants is the router's table
//! ([`crate::router::manifests`]); every call the guest makes through the `kube` import is
//! checked against the calling action's grants before anything is sent to the API server.

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
        let grants = [Grant {
            group: "velero.io",
            resource: "datauploads",
            verbs: &[Verb::List],
            scope: Scope::AllNamespaces,
        }];
        let list = |namespace| Request {
            group: "velero.io",
            resource: "datauploads",
            verb: Verb::List,
            namespace,
        };
        assert!(permits(&grants, &list(None)));
        assert!(permits(&grants, &list(Some("velero"))));
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
