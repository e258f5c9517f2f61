//! The CSI actions by name and plugin kind.

/// The plugin kind of an action, as Velero's framework names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A `BackupItemActionV2`.
    BackupItemActionV2,
    /// A `RestoreItemActionV2`.
    RestoreItemActionV2,
    /// A `DeleteItemAction`.
    DeleteItemAction,
}

impl Kind {
    /// The kind string of Velero's `ListPlugins`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::BackupItemActionV2 => "BackupItemActionV2",
            Self::RestoreItemActionV2 => "RestoreItemActionV2",
            Self::DeleteItemAction => "DeleteItemAction",
        }
    }

    /// The kind in prose, for error messages ("… is not a delete item action").
    pub const fn describe(self) -> &'static str {
        match self {
            Self::BackupItemActionV2 => "backup item action (v2)",
            Self::RestoreItemActionV2 => "restore item action (v2)",
            Self::DeleteItemAction => "delete item action",
        }
    }
}

/// One of the ten CSI actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Snapshots a CSI-backed PersistentVolumeClaim.
    PvcBackup,
    /// Waits for a VolumeSnapshot's handle and records it.
    VolumeSnapshotBackup,
    /// Adds a VolumeSnapshotContent's class and secrets to the backup.
    VolumeSnapshotContentBackup,
    /// Adds a VolumeSnapshotClass's secrets to the backup.
    VolumeSnapshotClassBackup,
    /// Provisions a restored claim from its snapshot.
    PvcRestore,
    /// Recreates a VolumeSnapshot and its static content.
    VolumeSnapshotRestore,
    /// Skips VolumeSnapshotContents (the VolumeSnapshot restore recreates them).
    VolumeSnapshotContentRestore,
    /// Restores a VolumeSnapshotClass with its secrets.
    VolumeSnapshotClassRestore,
    /// Deletes a backed-up snapshot with its storage snapshot.
    VolumeSnapshotDelete,
    /// Deletes a backed-up content with its storage snapshot.
    VolumeSnapshotContentDelete,
}

impl Action {
    /// Every action, in the order Velero's Go framework lists them (by kind, then name).
    pub const ALL: [Self; 10] = [
        Self::PvcBackup,
        Self::VolumeSnapshotBackup,
        Self::VolumeSnapshotClassBackup,
        Self::VolumeSnapshotContentBackup,
        Self::PvcRestore,
        Self::VolumeSnapshotRestore,
        Self::VolumeSnapshotClassRestore,
        Self::VolumeSnapshotContentRestore,
        Self::VolumeSnapshotDelete,
        Self::VolumeSnapshotContentDelete,
    ];

    /// The name the action is registered under (the v0.7.1 name).
    pub const fn name(self) -> &'static str {
        match self {
            Self::PvcBackup => "velero.io/csi-pvc-backupper",
            Self::VolumeSnapshotBackup => "velero.io/csi-volumesnapshot-backupper",
            Self::VolumeSnapshotContentBackup => "velero.io/csi-volumesnapshotcontent-backupper",
            Self::VolumeSnapshotClassBackup => "velero.io/csi-volumesnapshotclass-backupper",
            Self::PvcRestore => "velero.io/csi-pvc-restorer",
            Self::VolumeSnapshotRestore => "velero.io/csi-volumesnapshot-restorer",
            Self::VolumeSnapshotContentRestore => "velero.io/csi-volumesnapshotcontent-restorer",
            Self::VolumeSnapshotClassRestore => "velero.io/csi-volumesnapshotclass-restorer",
            Self::VolumeSnapshotDelete => "velero.io/csi-volumesnapshot-delete",
            Self::VolumeSnapshotContentDelete => "velero.io/csi-volumesnapshotcontent-delete",
        }
    }

    /// The plugin kind the action is registered as.
    pub const fn kind(self) -> Kind {
        match self {
            Self::PvcBackup
            | Self::VolumeSnapshotBackup
            | Self::VolumeSnapshotContentBackup
            | Self::VolumeSnapshotClassBackup => Kind::BackupItemActionV2,
            Self::PvcRestore
            | Self::VolumeSnapshotRestore
            | Self::VolumeSnapshotContentRestore
            | Self::VolumeSnapshotClassRestore => Kind::RestoreItemActionV2,
            Self::VolumeSnapshotDelete | Self::VolumeSnapshotContentDelete => {
                Kind::DeleteItemAction
            }
        }
    }

    /// The action registered under `name`, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|action| action.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_distinct_and_found_again() {
        for (i, action) in Action::ALL.iter().enumerate() {
            assert_eq!(Action::from_name(action.name()), Some(*action));
            assert!(Action::ALL[..i].iter().all(|a| a.name() != action.name()));
        }
        assert_eq!(Action::from_name("velero.io/csi-everything"), None);
    }

    #[test]
    fn listed_by_kind() {
        let kinds = Action::ALL.map(Action::kind);
        assert!(kinds.is_sorted_by_key(|k| *k as u8));
    }
}
