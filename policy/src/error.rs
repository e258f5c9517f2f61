//! Errors of parsing a policy document and of evaluating a volume against it.

use crate::quantity::QuantityError;

/// Why a policy document was refused. The wording follows Velero's where it is useful; the
/// caller adds the ConfigMap's name.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The text is not well-formed YAML.
    #[error("failed to decode yaml data into resource policies: {source}")]
    Syntax {
        /// The parser's complaint, with its position.
        #[source]
        source: granit_parser::ScanError,
    },
    /// The text holds no YAML document (empty, or only comments).
    #[error("failed to decode yaml data into resource policies: EOF")]
    Eof,
    /// An alias names an anchor that was not defined before it.
    #[error("failed to decode yaml data into resource policies: line {line}: unknown anchor")]
    UnknownAnchor {
        /// Line of the alias.
        line: usize,
    },
    /// The document nests too deeply or expands to too many nodes through aliases.
    #[error(
        "failed to decode yaml data into resource policies: document contains excessive aliasing or nesting"
    )]
    TooLarge,
    /// A mapping has a key that the target type does not have (Velero decodes strictly).
    #[error(
        "failed to decode yaml data into resource policies: line {line}: field {field} not found in type {in_type}"
    )]
    UnknownField {
        /// Line of the key.
        line: usize,
        /// The key as written.
        field: String,
        /// The type the mapping decodes into, named as in Velero.
        in_type: &'static str,
    },
    /// A mapping has the same key twice.
    #[error(
        "failed to decode yaml data into resource policies: line {line}: mapping key \"{key}\" already defined at line {first_line}"
    )]
    DuplicateKey {
        /// Line of the second occurrence.
        line: usize,
        /// The key.
        key: String,
        /// Line of the first occurrence.
        first_line: usize,
    },
    /// A value has the wrong YAML type for where it stands.
    #[error(
        "failed to decode yaml data into resource policies: line {line}: cannot unmarshal {found} into {expected}"
    )]
    WrongType {
        /// Line of the value.
        line: usize,
        /// What was found: the YAML tag, and the text for scalars.
        found: String,
        /// The Go type Velero decodes into.
        expected: &'static str,
    },
    /// A scalar with an explicit tag that does not fit its text (`!!int abc`).
    #[error("failed to decode yaml data into resource policies: line {line}: {message}")]
    BadTag {
        /// Line of the scalar.
        line: usize,
        /// The decoder's wording.
        message: String,
    },
    /// `pvcLabels` is not a mapping of strings.
    #[error("volumePolicies[{index}]: pvcLabels must be a map of string to string, got {found}")]
    PvcLabelsType {
        /// Index of the volume policy.
        index: usize,
        /// The Go type the value decoded to.
        found: &'static str,
    },
    /// `pvcVolumeMode` is not a string.
    #[error("volumePolicies[{index}]: pvcVolumeMode must be a string, got {found}")]
    PvcVolumeModeType {
        /// Index of the volume policy.
        index: usize,
        /// The Go type the value decoded to.
        found: &'static str,
    },
    /// `pvcAccessModes` is not a list of strings.
    #[error("volumePolicies[{index}]: pvcAccessModes must be a list of strings, got {what}{found}")]
    PvcAccessModesType {
        /// Index of the volume policy.
        index: usize,
        /// `"element "` when an element is wrong, empty when the whole value is.
        what: &'static str,
        /// The Go type the value or element decoded to.
        found: &'static str,
    },
    /// A condition's value could not be decoded into its type (e.g. `pvcPhase: Bound`).
    #[error("volumePolicies[{index}]: failed to decode volume conditions: {source}")]
    Conditions {
        /// Index of the volume policy.
        index: usize,
        /// The decoding problem.
        #[source]
        source: Box<PolicyError>,
    },
    /// `capacity` is not `"min,max"`.
    #[error("volumePolicies[{index}]: wrong format of Capacity {value}")]
    CapacityFormat {
        /// Index of the volume policy.
        index: usize,
        /// The capacity as written.
        value: String,
    },
    /// One side of `capacity` is not a quantity.
    #[error("volumePolicies[{index}]: wrong format of Capacity {value} with err {source}")]
    CapacityQuantity {
        /// Index of the volume policy.
        index: usize,
        /// The side that failed.
        value: String,
        /// Why.
        #[source]
        source: QuantityError,
    },
    /// `version` is not `v1`.
    #[error("incompatible version number {found} with supported version v1")]
    Version {
        /// The version found (empty when missing).
        found: String,
    },
    /// An action type other than skip, snapshot, fs-backup and custom.
    #[error("volumePolicies[{index}]: invalid action type {found}")]
    ActionType {
        /// Index of the volume policy.
        index: usize,
        /// The type found (empty when missing).
        found: String,
    },
    /// `capacity` has a lower bound above its upper bound.
    #[error("volumePolicies[{index}]: illegal values for capacity {value}")]
    CapacityRange {
        /// Index of the volume policy.
        index: usize,
        /// The capacity as written.
        value: String,
    },
    /// `csi` filters by volume attributes without naming a driver.
    #[error(
        "volumePolicies[{index}]: csi driver should not be empty when filtering by volume attributes"
    )]
    CsiWithoutDriver {
        /// Index of the volume policy.
        index: usize,
    },
    /// The include/exclude, cluster-scoped or namespaced filter policies are invalid.
    #[error("{0}")]
    FilterPolicy(String),
}

/// Why a volume could not be evaluated.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// Neither a PVC nor a PV was given (Velero: "failed to convert object").
    #[error("failed to convert object: neither a PVC nor a PV was given")]
    NoVolume,
    /// A field the policies read has the wrong JSON type.
    #[error("{object} field {path}: expected {expected}")]
    FieldType {
        /// `"PVC"` or `"PV"`.
        object: &'static str,
        /// The field's path, e.g. `spec.accessModes[1]`.
        path: String,
        /// The JSON type expected.
        expected: &'static str,
    },
    /// The PV's `spec.capacity.storage` is not a quantity.
    #[error("PV field spec.capacity.storage: {value:?} is not a quantity: {source}")]
    Capacity {
        /// The value found.
        value: String,
        /// Why it is not a quantity.
        #[source]
        source: QuantityError,
    },
}
