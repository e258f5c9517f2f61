//! The policy document: its types, how it is decoded and validated.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::decode::{self, Text, go_type};
use crate::error::PolicyError;
use crate::quantity::Quantity;
use crate::yaml::{self, Kind, Node};

/// The only document version Velero accepts.
pub const SUPPORTED_VERSION: &str = "v1";

/// A parsed and validated resource-policies document.
#[derive(Clone, Debug)]
pub struct Policies {
    version: String,
    volume_policies: Vec<VolumePolicy>,
    /// Whether the document has resource filter sections (include/exclude, cluster-scoped,
    /// namespaced). They are decoded and validated, so documents Velero refuses are refused,
    /// but play no part in volume decisions.
    has_filters: bool,
}

/// One entry of `volumePolicies`: conditions that must all hold, and the action taken.
#[derive(Clone, Debug)]
pub struct VolumePolicy {
    /// The conditions; all must match.
    pub conditions: Conditions,
    /// The action for a matching volume.
    pub action: Action,
}

/// The action of a volume policy.
#[derive(Clone, Debug, PartialEq)]
pub struct Action {
    /// What to do with the volume.
    pub kind: ActionType,
    /// `action.parameters`, as JSON; `None` when absent or null.
    pub parameters: Option<Map<String, Value>>,
}

/// The action types Velero v1.18 knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionType {
    /// `skip`: the volume is not backed up.
    Skip,
    /// `snapshot`: the volume is snapshotted (native, CSI or data mover, by backup settings).
    Snapshot,
    /// `fs-backup`: the volume is backed up by file-system copy.
    FsBackup,
    /// `custom`: the volume is left to a third-party plugin; Velero neither snapshots nor
    /// file-system-backs it up.
    Custom,
}

impl ActionType {
    /// The type as written in a policy.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Skip => "skip",
            Self::Snapshot => "snapshot",
            Self::FsBackup => "fs-backup",
            Self::Custom => "custom",
        }
    }

    fn from_policy(text: &str) -> Option<Self> {
        Some(match text {
            "skip" => Self::Skip,
            "snapshot" => Self::Snapshot,
            "fs-backup" => Self::FsBackup,
            "custom" => Self::Custom,
            _ => return None,
        })
    }
}

impl Action {
    /// Whether this is a `custom` action whose parameters hold every one of `required` with an
    /// equal value (same JSON type and value), as Velero's `ShouldPerformCustomAction` asks.
    pub fn is_custom_with(&self, required: &Map<String, Value>) -> bool {
        self.kind == ActionType::Custom
            && required.iter().all(|(k, v)| {
                self.parameters
                    .as_ref()
                    .and_then(|p| p.get(k))
                    .is_some_and(|have| have == v)
            })
    }
}

/// The conditions of a volume policy. Empty fields do not restrict.
#[derive(Clone, Debug, Default)]
pub struct Conditions {
    /// `capacity: "min,max"`; always present (an absent capacity is `","`).
    pub capacity: Capacity,
    /// `storageClass`: the PV's storage class must be one of these.
    pub storage_class: Vec<String>,
    /// `nfs`: the PV must be an NFS volume, with this server and path when given.
    pub nfs: Option<NfsCondition>,
    /// `csi`: the PV must be a CSI volume, with this driver and attributes when given.
    pub csi: Option<CsiCondition>,
    /// `volumeTypes`: the PV's volume source must be one of these (`csi`, `nfs`, `hostPath`, …).
    pub volume_types: Vec<String>,
    /// `pvcLabels`: the PVC must carry all of these labels.
    pub pvc_labels: BTreeMap<String, String>,
    /// `pvcPhase`: the PVC's phase must be one of these.
    pub pvc_phase: Vec<String>,
    /// `pvcVolumeMode`: the PVC's `spec.volumeMode` must be this (empty: any).
    pub pvc_volume_mode: String,
    /// `pvcAccessModes`: the PVC's access modes must be exactly this set.
    pub pvc_access_modes: Vec<String>,
}

/// A capacity range; a zero bound is an open side.
#[derive(Clone, Debug, Default)]
pub struct Capacity {
    /// The range as written (`","` when absent).
    pub text: String,
    /// The lower bound; zero when open.
    pub lower: Quantity,
    /// The upper bound; zero when open.
    pub upper: Quantity,
}

/// The `nfs` condition.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NfsCondition {
    /// Required server; empty matches any.
    pub server: String,
    /// Required path; empty matches any.
    pub path: String,
}

/// The `csi` condition.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CsiCondition {
    /// Required driver; empty matches any CSI volume.
    pub driver: String,
    /// Required volume attributes (a subset of the PV's); `None` when not given.
    pub volume_attributes: Option<BTreeMap<String, String>>,
}

const RESOURCE_POLICIES: &[&str] = &[
    "version",
    "volumePolicies",
    "includeExcludePolicy",
    "clusterScopedFilterPolicy",
    "namespacedFilterPolicies",
];
const VOLUME_POLICY: &[&str] = &["conditions", "action"];
const ACTION: &[&str] = &["type", "parameters"];
const VOLUME_CONDITIONS: &[&str] = &[
    "capacity",
    "storageClass",
    "nfs",
    "csi",
    "volumeTypes",
    "pvcLabels",
    "pvcPhase",
    "pvcVolumeMode",
    "pvcAccessModes",
];

/// A volume policy as decoded, before its conditions are built.
struct RawPolicy {
    conditions: Option<Vec<(Node, Node)>>,
    action_type: String,
    parameters: Option<Map<String, Value>>,
}

impl Policies {
    /// Parses and validates a policy document, the YAML text of the single key of the policy
    /// ConfigMap, in the order Velero does: strict decoding of the whole document, the types
    /// of `pvcLabels`, `pvcVolumeMode` and `pvcAccessModes`, each policy's conditions (unknown
    /// keys, capacity format), then `version`, each policy's action type and condition values,
    /// and the resource filter sections.
    pub fn parse(text: &str) -> Result<Self, PolicyError> {
        let root = yaml::parse_document(text)?.ok_or(PolicyError::Eof)?;
        let mut version = String::new();
        let mut raw = Vec::new();
        let mut sections = Vec::new();
        for (field, value) in decode::fields(
            &root,
            "resourcepolicies.ResourcePolicies",
            RESOURCE_POLICIES,
        )? {
            match field {
                "version" => version = decode::string(&value, Text::Direct)?.unwrap_or_default(),
                "volumePolicies" => raw = decode_volume_policies(&value)?,
                _ => sections.push(crate::filters::decode(field, &value)?),
            }
        }
        for (index, policy) in raw.iter().enumerate() {
            check_generic_types(index, policy.conditions.as_deref().unwrap_or_default())?;
        }
        let mut volume_policies = Vec::with_capacity(raw.len());
        let mut action_types = Vec::with_capacity(raw.len());
        for (index, policy) in raw.into_iter().enumerate() {
            let conditions = build_conditions(index, policy.conditions.unwrap_or_default())?;
            action_types.push(policy.action_type);
            volume_policies.push((conditions, policy.parameters));
        }
        if version != SUPPORTED_VERSION {
            return Err(PolicyError::Version { found: version });
        }
        let mut built = Vec::with_capacity(volume_policies.len());
        for (index, ((conditions, parameters), action_type)) in
            volume_policies.into_iter().zip(action_types).enumerate()
        {
            let kind = ActionType::from_policy(&action_type).ok_or(PolicyError::ActionType {
                index,
                found: action_type,
            })?;
            validate_conditions(index, &conditions)?;
            built.push(VolumePolicy {
                conditions,
                action: Action { kind, parameters },
            });
        }
        crate::filters::validate(&sections)?;
        Ok(Self {
            version,
            volume_policies: built,
            has_filters: sections.iter().any(crate::filters::Section::is_present),
        })
    }

    /// The document's version (always `v1` once parsed).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The volume policies, in the order they are tried.
    pub fn volume_policies(&self) -> &[VolumePolicy] {
        &self.volume_policies
    }

    /// Whether the document has include/exclude, cluster-scoped or namespaced filter policies
    /// (which Velero ignores, with a warning, in the global policy ConfigMap).
    pub fn has_filter_policies(&self) -> bool {
        self.has_filters
    }

    /// The effective policies of a backup as Velero v1.18.3's backup controller builds them
    /// from the backup's own policies and the server-wide ones given by
    /// `--global-backup-volume-policies-configmap` (each already parsed and validated on its
    /// own): no global policies, the backup's; no backup policies, the global ones with their
    /// filter sections dropped; both, the backup's document with the global volume policies
    /// appended after its own, so the backup's policies are tried first.
    pub fn with_global(backup: Option<Self>, global: Option<Self>) -> Option<Self> {
        match (backup, global) {
            (backup, None) => backup,
            (None, Some(global)) => Some(Self {
                has_filters: false,
                ..global
            }),
            (Some(mut backup), Some(global)) => {
                backup.volume_policies.extend(global.volume_policies);
                Some(backup)
            }
        }
    }
}

fn decode_volume_policies(node: &Node) -> Result<Vec<RawPolicy>, PolicyError> {
    let items = match &node.kind {
        Kind::Seq(items) => items.as_slice(),
        _ if node.is_null() => &[],
        _ => {
            return Err(PolicyError::WrongType {
                line: node.line,
                found: node.describe(),
                expected: "[]resourcepolicies.VolumePolicy",
            });
        }
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let mut policy = RawPolicy {
            conditions: None,
            action_type: String::new(),
            parameters: None,
        };
        for (field, value) in decode::fields(item, "resourcepolicies.VolumePolicy", VOLUME_POLICY)?
        {
            if field == "conditions" {
                policy.conditions = decode::mapping(&value, "map[string]interface {}")?;
                // Values are decoded generically first: refuse what that refuses (bad tags).
                for (_, v) in policy.conditions.iter().flatten() {
                    decode::json(v)?;
                }
                continue;
            }
            for (field, value) in decode::fields(&value, "resourcepolicies.Action", ACTION)? {
                if field == "type" {
                    policy.action_type = decode::string(&value, Text::Direct)?.unwrap_or_default();
                } else {
                    policy.parameters = decode::json_map(&value, "map[string]interface {}")?;
                }
            }
        }
        out.push(policy);
    }
    Ok(out)
}

/// Conditions with a key that decodes to null are dropped; otherwise the value for `name`.
fn condition<'a>(pairs: &'a [(Node, Node)], name: &str) -> Option<&'a Node> {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| matches!(&k.kind, Kind::Scalar(s) if s.text == name))
        .map(|(_, v)| v)
}

/// The type checks Velero makes on the generically decoded conditions.
fn check_generic_types(index: usize, pairs: &[(Node, Node)]) -> Result<(), PolicyError> {
    if let Some(labels) = condition(pairs, "pvcLabels") {
        let found = go_type(labels);
        if found != "map[string]interface {}" {
            return Err(PolicyError::PvcLabelsType { index, found });
        }
    }
    if let Some(mode) = condition(pairs, "pvcVolumeMode") {
        let found = go_type(mode);
        if found != "string" {
            return Err(PolicyError::PvcVolumeModeType { index, found });
        }
    }
    if let Some(modes) = condition(pairs, "pvcAccessModes") {
        match &modes.kind {
            Kind::Seq(items) => {
                if let Some(bad) = items.iter().map(go_type).find(|t| *t != "string") {
                    return Err(PolicyError::PvcAccessModesType {
                        index,
                        what: "element ",
                        found: bad,
                    });
                }
            }
            _ => {
                return Err(PolicyError::PvcAccessModesType {
                    index,
                    what: "",
                    found: go_type(modes),
                });
            }
        }
    }
    Ok(())
}

/// Decodes the conditions into their typed form and parses the capacity.
fn build_conditions(index: usize, pairs: Vec<(Node, Node)>) -> Result<Conditions, PolicyError> {
    let wrap = |source: PolicyError| PolicyError::Conditions {
        index,
        source: Box::new(source),
    };
    let node = Node {
        line: pairs.first().map_or(0, |(k, _)| k.line),
        kind: Kind::Map(pairs),
    };
    let mut c = Conditions::default();
    let mut capacity = String::new();
    for (field, value) in decode::fields(
        &node,
        "resourcepolicies.volumeConditions",
        VOLUME_CONDITIONS,
    )
    .map_err(wrap)?
    {
        let t = Text::Canonical;
        match field {
            "capacity" => capacity = decode::string(&value, t).map_err(wrap)?.unwrap_or_default(),
            "storageClass" => c.storage_class = decode::strings(&value, t).map_err(wrap)?,
            "volumeTypes" => c.volume_types = decode::strings(&value, t).map_err(wrap)?,
            "pvcPhase" => c.pvc_phase = decode::strings(&value, t).map_err(wrap)?,
            "pvcAccessModes" => c.pvc_access_modes = decode::strings(&value, t).map_err(wrap)?,
            "pvcVolumeMode" => {
                c.pvc_volume_mode = decode::string(&value, t).map_err(wrap)?.unwrap_or_default();
            }
            "pvcLabels" => {
                c.pvc_labels = decode::string_map(&value, t)
                    .map_err(wrap)?
                    .unwrap_or_default()
                    .into_iter()
                    .collect();
            }
            "nfs" => {
                c.nfs = match decode::mapping(&value, "resourcepolicies.nFSVolumeSource")
                    .map_err(wrap)?
                {
                    None => None,
                    Some(_) => {
                        let mut nfs = NfsCondition::default();
                        for (f, v) in decode::fields(
                            &value,
                            "resourcepolicies.nFSVolumeSource",
                            &["server", "path"],
                        )
                        .map_err(wrap)?
                        {
                            let s = decode::string(&v, t).map_err(wrap)?.unwrap_or_default();
                            if f == "server" {
                                nfs.server = s;
                            } else {
                                nfs.path = s;
                            }
                        }
                        Some(nfs)
                    }
                };
            }
            _ => {
                c.csi = match decode::mapping(&value, "resourcepolicies.csiVolumeSource")
                    .map_err(wrap)?
                {
                    None => None,
                    Some(_) => {
                        let mut csi = CsiCondition::default();
                        for (f, v) in decode::fields(
                            &value,
                            "resourcepolicies.csiVolumeSource",
                            &["driver", "volumeAttributes"],
                        )
                        .map_err(wrap)?
                        {
                            if f == "driver" {
                                csi.driver =
                                    decode::string(&v, t).map_err(wrap)?.unwrap_or_default();
                            } else {
                                csi.volume_attributes = decode::string_map(&v, t)
                                    .map_err(wrap)?
                                    .map(|m| m.into_iter().collect());
                            }
                        }
                        Some(csi)
                    }
                };
            }
        }
    }
    c.capacity = parse_capacity(index, capacity)?;
    Ok(c)
}

fn parse_capacity(index: usize, text: String) -> Result<Capacity, PolicyError> {
    let text = if text.is_empty() {
        ",".to_owned()
    } else {
        text
    };
    let Some((lower, upper)) = text.split_once(',').filter(|(_, u)| !u.contains(',')) else {
        return Err(PolicyError::CapacityFormat { index, value: text });
    };
    let side = |s: &str| {
        let s = s.trim();
        if s.is_empty() {
            return Ok(Quantity::zero());
        }
        Quantity::parse(s).map_err(|source| PolicyError::CapacityQuantity {
            index,
            value: s.to_owned(),
            source,
        })
    };
    Ok(Capacity {
        lower: side(lower)?,
        upper: side(upper)?,
        text,
    })
}

fn validate_conditions(index: usize, c: &Conditions) -> Result<(), PolicyError> {
    let cap = &c.capacity;
    if !(cap.upper >= cap.lower || (!cap.lower.is_zero() && cap.upper.is_zero())) {
        return Err(PolicyError::CapacityRange {
            index,
            value: cap.text.clone(),
        });
    }
    if let Some(csi) = &c.csi
        && csi.driver.is_empty()
        && csi.volume_attributes.is_some()
    {
        return Err(PolicyError::CsiWithoutDriver { index });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Policies;

    const DOC: &str = "version: v1\nvolumePolicies:\n- conditions:\n    capacity: \"1Gi,10e9\"\n    storageClass: [gp2, 0x1F, 1.5e6]\n    csi: {driver: d, volumeAttributes: {a: !!str 1}}\n    nfs: {server: s}\n    pvcLabels: &l {a: b, c: 1.10}\n    pvcPhase: [Bound]\n    pvcVolumeMode: Block\n    pvcAccessModes: ['ReadWriteOnce']\n  action: {type: custom, parameters: {x: [1, {y: *l}], <<: {z: .inf}}}\nincludeExcludePolicy: {includedClusterScopedResources: [a]}\n";

    /// Every prefix and every one-byte deletion of a busy document parses or fails without
    /// panicking.
    #[test]
    fn mangled_documents_do_not_panic() {
        Policies::parse(DOC).expect("the full document parses");
        for (at, _) in DOC.char_indices() {
            let _ = Policies::parse(&DOC[..at]);
            let mut cut = DOC.to_owned();
            cut.remove(at);
            let _ = Policies::parse(&cut);
        }
    }
}
