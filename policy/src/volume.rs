//! Matching a volume (its PVC and PV, as JSON) against the volume policies.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::EvalError;
use crate::policy::{Action, Capacity, Conditions, CsiCondition, NfsCondition, Policies};
use crate::quantity::Quantity;

/// PV spec keys in the order Velero tests them, with the volume type name each gives.
const PV_SOURCES: &[(&str, &str)] = &[
    ("awsElasticBlockStore", "awsElasticBlockStore"),
    ("azureDisk", "azureDisk"),
    ("azureFile", "azureFile"),
    ("cephfs", "cephfs"),
    ("cinder", "cinder"),
    ("csi", "csi"),
    ("fc", "fc"),
    ("flocker", "flocker"),
    ("flexVolume", "flexVolume"),
    ("gcePersistentDisk", "gcePersistentDisk"),
    ("glusterfs", "glusterfs"),
    ("hostPath", "hostPath"),
    ("iscsi", "iscsi"),
    ("local", "local"),
    ("nfs", "nfs"),
    ("photonPersistentDisk", "photonPersistentDisk"),
    ("portworxVolume", "portworxVolume"),
    ("quobyte", "quobyte"),
    ("rbd", "rbd"),
    ("scaleIO", "scaleIO"),
    ("storageos", "storageOS"),
    ("vsphereVolume", "vsphereVolume"),
];

/// What the conditions look at, read from the PV and PVC.
#[derive(Default)]
struct Volume {
    capacity: Quantity,
    storage_class: String,
    nfs: Option<NfsCondition>,
    csi: Option<CsiCondition>,
    volume_type: &'static str,
    pvc_labels: Option<BTreeMap<String, String>>,
    pvc_phase: String,
    pvc_volume_mode: String,
    pvc_access_modes: Vec<String>,
}

struct Reader {
    object: &'static str,
}

impl Reader {
    fn err(&self, path: &str, expected: &'static str) -> EvalError {
        EvalError::FieldType {
            object: self.object,
            path: path.to_owned(),
            expected,
        }
    }

    /// The value at a dotted path; `None` when absent or null.
    fn get<'v>(&self, root: &'v Value, path: &str) -> Result<Option<&'v Value>, EvalError> {
        let mut at = root;
        let mut walked = String::new();
        for part in path.split('.') {
            let Value::Object(map) = at else {
                return Err(self.err(if walked.is_empty() { "." } else { &walked }, "object"));
            };
            if !walked.is_empty() {
                walked.push('.');
            }
            walked.push_str(part);
            match map.get(part) {
                None | Some(Value::Null) => return Ok(None),
                Some(v) => at = v,
            }
        }
        Ok(Some(at))
    }

    fn string(&self, root: &Value, path: &str) -> Result<String, EvalError> {
        match self.get(root, path)? {
            None => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(self.err(path, "string")),
        }
    }

    fn object<'v>(
        &self,
        root: &'v Value,
        path: &str,
    ) -> Result<Option<&'v serde_json::Map<String, Value>>, EvalError> {
        match self.get(root, path)? {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m)),
            Some(_) => Err(self.err(path, "object")),
        }
    }

    fn string_map(
        &self,
        root: &Value,
        path: &str,
    ) -> Result<Option<BTreeMap<String, String>>, EvalError> {
        let Some(map) = self.object(root, path)? else {
            return Ok(None);
        };
        let mut out = BTreeMap::new();
        for (k, v) in map {
            match v {
                Value::String(s) => out.insert(k.clone(), s.clone()),
                Value::Null => out.insert(k.clone(), String::new()),
                _ => return Err(self.err(&format!("{path}.{k}"), "string")),
            };
        }
        Ok(Some(out))
    }
}

impl Volume {
    fn read_pv(&mut self, pv: &Value) -> Result<(), EvalError> {
        let r = Reader { object: "PV" };
        self.capacity = match r.get(pv, "spec.capacity.storage")? {
            None => Quantity::zero(),
            Some(v) => {
                let text = match v {
                    Value::String(s) => s.trim().to_owned(),
                    Value::Number(n) => n.to_string(),
                    _ => return Err(r.err("spec.capacity.storage", "string")),
                };
                Quantity::parse(&text).map_err(|source| EvalError::Capacity {
                    value: text,
                    source,
                })?
            }
        };
        self.storage_class = r.string(pv, "spec.storageClassName")?;
        if r.object(pv, "spec.nfs")?.is_some() {
            self.nfs = Some(NfsCondition {
                server: r.string(pv, "spec.nfs.server")?,
                path: r.string(pv, "spec.nfs.path")?,
            });
        }
        if r.object(pv, "spec.csi")?.is_some() {
            self.csi = Some(CsiCondition {
                driver: r.string(pv, "spec.csi.driver")?,
                volume_attributes: r.string_map(pv, "spec.csi.volumeAttributes")?,
            });
        }
        for (key, name) in PV_SOURCES {
            if r.object(pv, &format!("spec.{key}"))?.is_some() {
                self.volume_type = name;
                break;
            }
        }
        Ok(())
    }

    fn read_pvc(&mut self, pvc: &Value) -> Result<(), EvalError> {
        let r = Reader { object: "PVC" };
        self.pvc_labels = r
            .string_map(pvc, "metadata.labels")?
            .filter(|labels| !labels.is_empty());
        self.pvc_phase = r.string(pvc, "status.phase")?;
        self.pvc_volume_mode = r.string(pvc, "spec.volumeMode")?;
        self.pvc_access_modes = match r.get(pvc, "spec.accessModes")? {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::String(s) => Ok(s.clone()),
                    Value::Null => Ok(String::new()),
                    _ => Err(r.err(&format!("spec.accessModes[{i}]"), "string")),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(r.err("spec.accessModes", "array")),
        };
        Ok(())
    }
}

impl Capacity {
    /// Whether `size` is within the range (a zero bound is open), as Velero decides it.
    pub fn contains(&self, size: &Quantity) -> bool {
        let (lower, upper) = (&self.lower, &self.upper);
        (lower.is_zero() && upper >= size)
            || (upper.is_zero() && lower <= size)
            || (!lower.is_zero() && !upper.is_zero() && lower <= size && upper >= size)
    }
}

impl Conditions {
    fn matches(&self, v: &Volume) -> bool {
        self.capacity.contains(&v.capacity)
            && self.storage_class_matches(v)
            && self.nfs_matches(v)
            && self.csi_matches(v)
            && (self.volume_types.is_empty()
                || self.volume_types.iter().any(|t| t == v.volume_type))
            && self.pvc_labels_match(v)
            && (self.pvc_phase.is_empty()
                || (!v.pvc_phase.is_empty() && self.pvc_phase.contains(&v.pvc_phase)))
            && (self.pvc_volume_mode.is_empty() || self.pvc_volume_mode == v.pvc_volume_mode)
            && self.access_modes_match(v)
    }

    fn storage_class_matches(&self, v: &Volume) -> bool {
        self.storage_class.is_empty()
            || (!v.storage_class.is_empty() && self.storage_class.contains(&v.storage_class))
    }

    fn nfs_matches(&self, v: &Volume) -> bool {
        let Some(want) = &self.nfs else {
            return true;
        };
        let Some(have) = &v.nfs else {
            return false;
        };
        (want.path.is_empty() || want.path == have.path)
            && (want.server.is_empty() || want.server == have.server)
    }

    fn csi_matches(&self, v: &Volume) -> bool {
        let Some(want) = &self.csi else {
            return true;
        };
        let Some(have) = &v.csi else {
            return false;
        };
        if want.driver.is_empty() {
            return true;
        }
        if want.driver != have.driver {
            return false;
        }
        let Some(wanted) = want.volume_attributes.as_ref().filter(|a| !a.is_empty()) else {
            return true;
        };
        let Some(attrs) = have.volume_attributes.as_ref().filter(|a| !a.is_empty()) else {
            return false;
        };
        // A missing attribute reads as "", so a wanted "" matches an absent attribute.
        wanted
            .iter()
            .all(|(k, value)| attrs.get(k).map_or("", String::as_str) == value)
    }

    fn pvc_labels_match(&self, v: &Volume) -> bool {
        if self.pvc_labels.is_empty() {
            return true;
        }
        let Some(labels) = &v.pvc_labels else {
            return false;
        };
        self.pvc_labels
            .iter()
            .all(|(k, value)| labels.get(k) == Some(value))
    }

    fn access_modes_match(&self, v: &Volume) -> bool {
        if self.pvc_access_modes.is_empty() {
            return true;
        }
        if self.pvc_access_modes.len() != v.pvc_access_modes.len() {
            return false;
        }
        let want: std::collections::BTreeSet<&String> = self.pvc_access_modes.iter().collect();
        let have: std::collections::BTreeSet<&String> = v.pvc_access_modes.iter().collect();
        want == have
    }
}

impl Policies {
    /// The action of the first volume policy whose conditions all match the volume, or `None`
    /// when none matches, as Velero's `GetMatchAction` decides it.
    ///
    /// `pv` is the bound PV, `pvc` the claim. With a PV, the capacity, storage class, NFS, CSI
    /// and volume type come from the PV (`spec.capacity.storage`, `spec.storageClassName`:
    /// never from the PVC's request or class) and the `pvc*` conditions from the PVC when
    /// given. Without a PV (an unbound PVC), only the PVC is read: the capacity is zero (so an
    /// upper-bound-only capacity matches), and the storage class, NFS, CSI and volume type are
    /// empty (so conditions on them do not match). For a PV item Velero passes an empty PVC
    /// object (`{}`). Pod volumes without a PVC are out of scope. Neither given is an error.
    pub fn evaluate(
        &self,
        pvc: Option<&Value>,
        pv: Option<&Value>,
    ) -> Result<Option<&Action>, EvalError> {
        let mut volume = Volume::default();
        match (pv, pvc) {
            (None, None) => return Err(EvalError::NoVolume),
            (Some(pv), _) => volume.read_pv(pv)?,
            (None, Some(_)) => {}
        }
        if let Some(pvc) = pvc {
            volume.read_pvc(pvc)?;
        }
        Ok(self
            .volume_policies()
            .iter()
            .find(|p| p.conditions.matches(&volume))
            .map(|p| &p.action))
    }
}
