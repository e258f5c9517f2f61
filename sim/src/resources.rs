//! The resources the simulation knows.

/// A resource: API group, version and plural name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Gvr {
    pub group: String,
    pub version: String,
    pub resource: String,
}

impl Gvr {
    /// A resource from its parts.
    pub fn new(group: &str, version: &str, resource: &str) -> Self {
        Self {
            group: group.to_owned(),
            version: version.to_owned(),
            resource: resource.to_owned(),
        }
    }

    /// `resource.group` (or the bare resource for the core group), as in API messages.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.resource.clone()
        } else {
            format!("{}.{}", self.resource, self.group)
        }
    }

    /// `group/version`, or the bare version for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

/// (kind, group, version, plural) of every kind the simulation stores.
const KINDS: &[(&str, &str, &str, &str)] = &[
    ("PersistentVolumeClaim", "", "v1", "persistentvolumeclaims"),
    ("PersistentVolume", "", "v1", "persistentvolumes"),
    ("Pod", "", "v1", "pods"),
    ("ConfigMap", "", "v1", "configmaps"),
    ("Secret", "", "v1", "secrets"),
    ("Namespace", "", "v1", "namespaces"),
    ("StorageClass", "storage.k8s.io", "v1", "storageclasses"),
    (
        "VolumeSnapshot",
        "snapshot.storage.k8s.io",
        "v1",
        "volumesnapshots",
    ),
    (
        "VolumeSnapshotContent",
        "snapshot.storage.k8s.io",
        "v1",
        "volumesnapshotcontents",
    ),
    (
        "VolumeSnapshotClass",
        "snapshot.storage.k8s.io",
        "v1",
        "volumesnapshotclasses",
    ),
    ("DataUpload", "velero.io", "v2alpha1", "datauploads"),
    ("DataDownload", "velero.io", "v2alpha1", "datadownloads"),
    ("Backup", "velero.io", "v1", "backups"),
    ("Restore", "velero.io", "v1", "restores"),
];

/// The resource of a kind.
pub fn gvr_of_kind(kind: &str) -> Option<Gvr> {
    KINDS
        .iter()
        .find(|(k, ..)| *k == kind)
        .map(|(_, g, v, r)| Gvr::new(g, v, r))
}

/// A resource by its plural name (`volumesnapshots`), or its `resource.group` form.
pub fn gvr_of_resource(resource: &str) -> Option<Gvr> {
    KINDS
        .iter()
        .find(|(_, g, _, r)| *r == resource || (!g.is_empty() && format!("{r}.{g}") == resource))
        .map(|(_, g, v, r)| Gvr::new(g, v, r))
}

/// The kind of a resource.
pub fn kind_of(gvr: &Gvr) -> Option<&'static str> {
    KINDS
        .iter()
        .find(|(_, g, _, r)| *g == gvr.group && *r == gvr.resource)
        .map(|(k, ..)| *k)
}

/// Whether a resource is cluster-scoped.
pub fn cluster_scoped(gvr: &Gvr) -> bool {
    matches!(
        gvr.resource.as_str(),
        "persistentvolumes"
            | "namespaces"
            | "storageclasses"
            | "volumesnapshotcontents"
            | "volumesnapshotclasses"
    )
}
