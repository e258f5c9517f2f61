//! The allow-lists: which Kubernetes resources, verbs and scopes each action may use. The
//! host owns this table; a component (embedded or an operator's module) cannot widen it.

use csi_common::actions::Action;

use crate::imports::Caller;
use crate::imports::capabilities::{Grant, Scope, Verb};

/// The grants of one action.
#[derive(Debug, Clone, Copy)]
pub struct Manifest {
    /// The action the grants belong to.
    pub action: Action,
    /// Everything the action may ask of the Kubernetes API.
    pub grants: &'static [Grant],
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
pub static MANIFESTS: [Manifest; 15] = [
    Manifest {
        action: Action::PvcBackup,
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
        action: Action::VolumeSnapshotBackup,
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
        action: Action::VolumeSnapshotContentBackup,
        grants: &[grant(
            SNAPSHOT,
            "volumesnapshotcontents",
            &[Get],
            Scope::Cluster,
        )],
    },
    Manifest {
        action: Action::VolumeSnapshotClassBackup,
        grants: &[],
    },
    Manifest {
        action: Action::PvcRestore,
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
        action: Action::VolumeSnapshotRestore,
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
        action: Action::VolumeSnapshotContentRestore,
        grants: &[],
    },
    Manifest {
        action: Action::VolumeSnapshotClassRestore,
        grants: &[],
    },
    Manifest {
        action: Action::VolumeSnapshotDelete,
        grants: &[
            grant(SNAPSHOT, "volumesnapshots", &[Delete], Scope::AnyNamespace),
            grant(SNAPSHOT, "volumesnapshotcontents", &[Patch], Scope::Cluster),
        ],
    },
    Manifest {
        action: Action::VolumeSnapshotContentDelete,
        grants: &[grant(
            SNAPSHOT,
            "volumesnapshotcontents",
            &[Patch, Delete],
            Scope::Cluster,
        )],
    },
    Manifest {
        action: Action::ModernPvcBackup,
        grants: &[
            grant(CORE, "persistentvolumes", &[Get], Scope::Cluster),
            grant(CORE, "pods", &[List], Scope::AnyNamespace),
            grant(CORE, "configmaps", &[Get], Scope::AnyNamespace),
            grant(
                SNAPSHOT,
                "volumesnapshotclasses",
                &[Get, List],
                Scope::Cluster,
            ),
            grant(
                SNAPSHOT,
                "volumesnapshots",
                &[Create, Get, Delete, Watch],
                Scope::AnyNamespace,
            ),
            grant(
                SNAPSHOT,
                "volumesnapshotcontents",
                &[Get, Patch, Delete, Watch],
                Scope::Cluster,
            ),
        ],
    },
    Manifest {
        action: Action::ModernPvBackup,
        grants: &[
            grant(CORE, "persistentvolumeclaims", &[Get], Scope::AnyNamespace),
            grant(CORE, "pods", &[List], Scope::AnyNamespace),
            grant(CORE, "configmaps", &[Get], Scope::AnyNamespace),
        ],
    },
    Manifest {
        action: Action::ModernPvcRestore,
        grants: &[
            grant(
                SNAPSHOT,
                "volumesnapshots",
                &[Create, Get, Delete],
                Scope::AnyNamespace,
            ),
            grant(
                SNAPSHOT,
                "volumesnapshotcontents",
                &[Create, Get, Delete],
                Scope::Cluster,
            ),
        ],
    },
    Manifest {
        action: Action::ModernPvRestore,
        grants: &[],
    },
    Manifest {
        action: Action::ModernPvcDelete,
        grants: &[grant(
            SNAPSHOT,
            "volumesnapshotcontents",
            &[Create, Get, Delete, Watch],
            Scope::Cluster,
        )],
    },
];

/// The grants of `action` (none, should the table miss it: the tests make sure it does not).
pub fn grants(action: Action) -> &'static [Grant] {
    MANIFESTS
        .iter()
        .find(|m| m.action == action)
        .map_or(&[], |m| m.grants)
}

/// Who a call into `action` runs as: its registered name and its grants.
pub fn caller(action: Action) -> Caller {
    Caller {
        action: action.name(),
        grants: grants(action),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_manifest_names_an_action_and_every_action_has_exactly_one() {
        for action in Action::ALL {
            let manifests = MANIFESTS.iter().filter(|m| m.action == action).count();
            assert_eq!(manifests, 1, "{} has {manifests} manifests", action.name());
        }
        assert_eq!(MANIFESTS.len(), Action::ALL.len());
    }

    #[test]
    fn actions_without_api_needs_get_no_grants() {
        assert!(grants(Action::VolumeSnapshotClassBackup).is_empty());
        let caller = caller(Action::VolumeSnapshotDelete);
        assert_eq!(caller.action, "velero.io/csi-volumesnapshot-delete");
        assert_eq!(caller.grants.len(), 2);
    }
}
