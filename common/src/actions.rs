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

/// Which names the plugin registers with Velero.
///
/// Velero v1.14+ registers its built-in CSI actions under the v0.7.1 names and exits at
/// start-up when a plugin registers one of them again, so the two sets never mix: a plugin
/// process lists exactly one set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NameSet {
    /// The ten `velero.io/csi-*` names of velero-plugin-for-csi v0.7.1: the drop-in for
    /// Velero v1.13.
    V071,
    /// The project's own names (`velero-csi-wasm.io/*`), for Velero v1.14 and later beside
    /// or instead of core's built-in CSI actions.
    Modern,
}

impl NameSet {
    /// The environment variable (on the Velero deployment) that chooses the set.
    pub const ENV: &'static str = "VELERO_CSI_NAMES";

    /// The set used when [`NameSet::ENV`] is unset: the modern one, which no Velero
    /// v1.13–v1.18.3 server refuses.
    pub const DEFAULT: Self = Self::Modern;

    /// The value of [`NameSet::ENV`] that selects this set.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::V071 => "v0.7.1",
            Self::Modern => "modern",
        }
    }

    /// The set a value of [`NameSet::ENV`] names (`v0.7.1` or `modern`, case-insensitive,
    /// surrounding blanks ignored).
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.trim();
        [Self::V071, Self::Modern]
            .into_iter()
            .find(|set| set.as_str().eq_ignore_ascii_case(value))
    }

    /// The actions of the set, in the order they are listed to Velero.
    pub const fn actions(self) -> &'static [Action] {
        match self {
            Self::V071 => &Action::V071,
            Self::Modern => &Action::MODERN,
        }
    }
}

/// One of the CSI actions: the ten v0.7.1 ones and the five of the modern set.
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
    /// Modern set: snapshots a PVC routed to the plugin and records the storage snapshot in
    /// the backed-up PVC; leaves no snapshot object in the cluster.
    ModernPvcBackup,
    /// Modern set: marks a backed-up PV whose claim the plugin snapshotted, so that restore
    /// provisions a new volume instead of re-binding the old one.
    ModernPvBackup,
    /// Modern set: provisions a restored claim from the recorded storage snapshot.
    ModernPvcRestore,
    /// Modern set: drops a PV whose claim is restored from a snapshot.
    ModernPvRestore,
    /// Modern set: deletes the storage snapshot recorded in a backed-up PVC.
    ModernPvcDelete,
}

impl Action {
    /// The v0.7.1 set, in the order Velero's Go framework lists them (by kind, then name).
    pub const V071: [Self; 10] = [
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

    /// The modern set, in the order Velero's Go framework lists them (by kind, then name).
    pub const MODERN: [Self; 5] = [
        Self::ModernPvBackup,
        Self::ModernPvcBackup,
        Self::ModernPvRestore,
        Self::ModernPvcRestore,
        Self::ModernPvcDelete,
    ];

    /// Every action of both sets: the v0.7.1 set, then the modern one.
    pub const ALL: [Self; 15] = {
        let mut all = [Self::PvcBackup; 15];
        let mut i = 0;
        while i < all.len() {
            all[i] = if i < Self::V071.len() {
                Self::V071[i]
            } else {
                Self::MODERN[i - Self::V071.len()]
            };
            i += 1;
        }
        all
    };

    /// The set the action belongs to.
    pub const fn set(self) -> NameSet {
        match self {
            Self::ModernPvcBackup
            | Self::ModernPvBackup
            | Self::ModernPvcRestore
            | Self::ModernPvRestore
            | Self::ModernPvcDelete => NameSet::Modern,
            _ => NameSet::V071,
        }
    }

    /// The name the action is registered under.
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
            Self::ModernPvcBackup => "velero-csi-wasm.io/pvc-backupper",
            Self::ModernPvBackup => "velero-csi-wasm.io/pv-backupper",
            Self::ModernPvcRestore => "velero-csi-wasm.io/pvc-restorer",
            Self::ModernPvRestore => "velero-csi-wasm.io/pv-restorer",
            Self::ModernPvcDelete => "velero-csi-wasm.io/pvc-delete",
        }
    }

    /// The plugin kind the action is registered as.
    pub const fn kind(self) -> Kind {
        match self {
            Self::PvcBackup
            | Self::VolumeSnapshotBackup
            | Self::VolumeSnapshotContentBackup
            | Self::VolumeSnapshotClassBackup
            | Self::ModernPvcBackup
            | Self::ModernPvBackup => Kind::BackupItemActionV2,
            Self::ModernPvcRestore | Self::ModernPvRestore => Kind::RestoreItemActionV2,
            Self::PvcRestore
            | Self::VolumeSnapshotRestore
            | Self::VolumeSnapshotContentRestore
            | Self::VolumeSnapshotClassRestore => Kind::RestoreItemActionV2,
            Self::VolumeSnapshotDelete
            | Self::VolumeSnapshotContentDelete
            | Self::ModernPvcDelete => Kind::DeleteItemAction,
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
    fn each_set_is_listed_by_kind_then_name() {
        for set in [NameSet::V071, NameSet::Modern] {
            let keys: alloc::vec::Vec<_> = set
                .actions()
                .iter()
                .map(|a| (a.kind() as u8, a.name()))
                .collect();
            let mut sorted = keys.clone();
            sorted.sort();
            // v0.7.1 lists by kind in registration order, not by name.
            assert!(keys.is_sorted_by_key(|k| k.0), "{set:?}");
            if set == NameSet::Modern {
                assert_eq!(keys, sorted);
            }
            assert!(set.actions().iter().all(|a| a.set() == set));
        }
        assert_eq!(Action::V071.len() + Action::MODERN.len(), Action::ALL.len());
    }

    #[test]
    fn modern_names_avoid_core_and_its_csi_gate() {
        // Velero's EnableCSI gate skips every action whose name contains this, and
        // v1.14+ core registers every v0.7.1 name.
        for action in Action::MODERN {
            assert!(
                !action.name().contains("velero.io/csi-"),
                "{}",
                action.name()
            );
            assert!(Action::V071.iter().all(|a| a.name() != action.name()));
        }
    }

    #[test]
    fn name_sets_parse_from_their_variable() {
        assert_eq!(NameSet::parse("v0.7.1"), Some(NameSet::V071));
        assert_eq!(NameSet::parse(" Modern "), Some(NameSet::Modern));
        assert_eq!(NameSet::parse("v1.13"), None);
        assert_eq!(NameSet::DEFAULT, NameSet::Modern);
    }
}
