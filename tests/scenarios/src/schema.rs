//! The scenario file format (`README.md` beside this crate) as Rust types.
//!
//! Every struct denies unknown fields, so a misspelt key fails the load naming the file and
//! the key. Object-valued fields (items, seeded objects, inclusion patterns, patches) stay
//! JSON values: they may be written as `{"$fixture": …}` and, in a step's input, as
//! `{"$cluster": …}` or `{"$step": …}` references, resolved after parsing.

use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A scenario file: one call (`action`, `call`, `input`, `expect` at the top level) or
/// `steps` sharing one cluster.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ScenarioFile {
    /// The [scenarios §5](../../../docs/scenarios.md#5-test-scenarios) scenario number; the file name starts with it, zero-padded.
    pub scenario: u32,
    /// What the scenario checks (the title of a single-call scenario's step).
    pub title: String,
    /// Where the expectation follows the spec's recommendation rather than v0.7.1: for the
    /// reader, not checked.
    #[serde(rename = "deviation")]
    pub _deviation: Option<IgnoredAny>,
    /// For a helper-level scenario without an action call, the unit test that covers it:
    /// for the reader, not checked.
    #[serde(rename = "unitTest")]
    pub _unit_test: Option<IgnoredAny>,
    #[serde(default)]
    pub cluster: ClusterSpec,
    /// What the Velero server passed the plugin on its command line (modern actions); none
    /// of its flags when absent.
    #[serde(default)]
    pub server: ServerSpec,
    /// The call of a single-call scenario.
    pub action: Option<String>,
    pub call: Option<CallKind>,
    pub input: Option<InputSpec>,
    pub expect: Option<Expect>,
    /// The steps of a multi-step scenario (instead of a top-level call).
    pub steps: Option<Vec<StepSpec>>,
}

/// The cluster a scenario runs against.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ClusterSpec {
    /// Objects seeded before the first call (no call records).
    #[serde(default)]
    pub objects: Vec<Value>,
    /// Timings of the simulated snapshot controller and provisioner.
    pub snapshot_plan: Option<PlanSpec>,
    /// API errors injected into matching calls.
    #[serde(default)]
    pub faults: Vec<FaultSpec>,
}

/// `server`: the Velero server's `--features` and `--global-backup-volume-policies-configmap`
/// (the ConfigMap itself, in the Backup's namespace, is seeded in `cluster.objects`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ServerSpec {
    #[serde(default)]
    pub features: Vec<String>,
    pub global_volume_policies: Option<String>,
}

/// `cluster.snapshotPlan`: absent fields keep the simulator's defaults.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct PlanSpec {
    pub bind_after_seconds: Option<f64>,
    pub handle_after_seconds: Option<f64>,
    pub ready_after_seconds: Option<f64>,
    #[serde(default)]
    pub never_bind: bool,
    pub content_error: Option<String>,
    pub provision_after_seconds: Option<f64>,
}

/// One injected fault.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct FaultSpec {
    pub verb: VerbName,
    pub resource: String,
    /// Only calls on this object (any name when absent).
    pub name: Option<String>,
    /// The error's case; `Other` when absent.
    #[serde(default)]
    pub error: ErrorCase,
    /// The error's message; `injected fault` when absent.
    pub message: Option<String>,
    /// How many calls fail (every matching call when absent).
    pub times: Option<usize>,
}

/// The case of an injected API error, as `SimError` names it.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub(crate) enum ErrorCase {
    NotFound,
    AlreadyExists,
    Conflict,
    Forbidden,
    Invalid,
    Timeout,
    Unavailable,
    #[default]
    Other,
}

/// An API verb, as the files spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum VerbName {
    Get,
    List,
    Create,
    Patch,
    Delete,
    Watch,
}

/// Which call a scenario makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CallKind {
    /// `Execute` of a backup, restore or delete action.
    Execute,
    /// `Progress` of an operation.
    Progress,
    /// `Cancel` of an operation.
    Cancel,
    /// `AreAdditionalItemsReady` of a restore action.
    Ready,
}

/// One step of a multi-step scenario.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct StepSpec {
    /// Names the step in failures.
    #[serde(default)]
    pub title: String,
    /// Later steps refer to the item this step returned by this ID.
    pub id: Option<String>,
    /// What Velero core (or a controller) does first.
    pub core: Option<Core>,
    pub action: Option<String>,
    pub call: Option<CallKind>,
    pub input: Option<InputSpec>,
    #[serde(default)]
    pub expect: Expect,
}

/// A call's inputs, before fixtures and references are resolved.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct InputSpec {
    pub item: Option<Value>,
    /// The item as stored in the backup (restore actions); defaults to `item`.
    pub item_from_backup: Option<Value>,
    pub backup: Option<Value>,
    pub restore: Option<Value>,
    pub operation_id: Option<String>,
    #[serde(default)]
    pub additional_items: Vec<Identifier>,
}

/// What Velero core (or another controller) does before a step's call.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct Core {
    /// Objects read into the backup under an ID, as `$step` references see them.
    #[serde(default)]
    pub fetch: Vec<Fetch>,
    /// Merge patches applied to stored objects.
    #[serde(default)]
    pub patch: Vec<CorePatch>,
    /// Objects deleted.
    #[serde(default)]
    pub delete: Vec<ObjectSpec>,
    /// Objects created after Velero's reset (left as is when they exist).
    #[serde(default)]
    pub restore: Vec<Value>,
    /// Virtual time that passes last.
    pub advance_seconds: Option<f64>,
}

/// `core.fetch` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct Fetch {
    pub id: String,
    pub resource: String,
    #[serde(default)]
    pub namespace: String,
    pub name: String,
}

/// `core.patch` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct CorePatch {
    pub resource: String,
    #[serde(default)]
    pub namespace: String,
    pub name: String,
    pub patch: Value,
}

/// A stored object: resource plural (optionally `.group`), namespace (`""` or absent for a
/// cluster-scoped one) and name.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ObjectSpec {
    pub resource: String,
    #[serde(default)]
    pub namespace: String,
    pub name: String,
}

/// One object reference, as Velero's `ResourceIdentifier`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identifier {
    /// API group (`""` for the core group).
    pub group: String,
    /// Resource plural.
    pub resource: String,
    /// Namespace (`""` for a cluster-scoped object).
    pub namespace: String,
    /// Object name.
    pub name: String,
}

/// What a step expects; absent keys are not checked.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct Expect {
    /// The call fails with a matching message (absent: it must succeed).
    pub error: Option<ErrorMatch>,
    /// The returned item is byte-identical to the input item.
    #[serde(default)]
    pub item_unchanged: bool,
    /// The returned item equals this exactly (as JSON values).
    pub item: Option<Value>,
    /// Every path given here is present in the returned item with this value.
    pub item_includes: Option<Value>,
    /// JSON pointers that must be absent from the returned item.
    #[serde(default)]
    pub item_excludes: Vec<String>,
    pub additional_items: Option<Vec<Identifier>>,
    /// Exact (`""` = none).
    pub operation_id: Option<String>,
    pub post_operation_items: Option<Vec<Identifier>>,
    pub skip_restore: Option<bool>,
    pub progress: Option<ProgressMatch>,
    pub ready: Option<bool>,
    /// The exact sequence of API calls, each entry a subset match.
    pub calls: Option<Vec<CallMatch>>,
    /// No API call at all.
    #[serde(default)]
    pub no_calls: bool,
    /// Objects checked in the cluster after the call.
    #[serde(default)]
    pub cluster_after: Vec<ClusterAfter>,
    /// The storage snapshots the driver deleted, in order.
    pub deleted_snapshots: Option<Vec<String>>,
    /// The exact, ordered list of records the guest logged during the call.
    pub logs: Option<Vec<LogRecord>>,
    /// The virtual time the cluster has run, in seconds, when the step ends (how long a
    /// wait waited).
    pub elapsed_seconds: Option<f64>,
}

/// `expect.error`: every given form must match.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ErrorMatch {
    pub equals: Option<String>,
    pub starts_with: Option<String>,
    pub contains: Option<String>,
}

impl ErrorMatch {
    /// Whether `message` matches every given form.
    pub fn matches(&self, message: &str) -> bool {
        self.equals.as_deref().is_none_or(|e| message == e)
            && self
                .starts_with
                .as_deref()
                .is_none_or(|e| message.starts_with(e))
            && self.contains.as_deref().is_none_or(|e| message.contains(e))
    }

    /// Whether any form mentions `text`.
    pub fn mentions(&self, text: &str) -> bool {
        [&self.equals, &self.starts_with, &self.contains]
            .into_iter()
            .flatten()
            .any(|e| e.contains(text))
    }
}

/// `expect.progress`: the given fields must have these values.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ProgressMatch {
    pub completed: Option<bool>,
    pub err: Option<String>,
    pub n_completed: Option<i64>,
    pub n_total: Option<i64>,
    pub operation_units: Option<String>,
    pub description: Option<String>,
    /// RFC 3339, or `null` for none.
    #[serde(default, deserialize_with = "present")]
    pub started: Option<Option<String>>,
    /// RFC 3339, or `null` for none.
    #[serde(default, deserialize_with = "present")]
    pub updated: Option<Option<String>>,
}

/// `expect.calls` entry: omitted fields are not checked.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct CallMatch {
    pub verb: Option<VerbName>,
    /// Plural; `volumesnapshots` also matches `volumesnapshots.snapshot.storage.k8s.io`.
    pub resource: Option<String>,
    /// `null` for a cluster-scoped call.
    #[serde(default, deserialize_with = "present")]
    pub namespace: Option<Option<String>>,
    pub name: Option<String>,
    pub selector: Option<String>,
    /// Subset of the created object or the patch.
    pub body: Option<Value>,
}

/// `expect.clusterAfter` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ClusterAfter {
    pub resource: String,
    #[serde(default)]
    pub namespace: String,
    pub name: String,
    pub exists: Option<bool>,
    /// Subset the stored object must include.
    pub includes: Option<Value>,
}

/// The level of a log record, as hclog names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// `trace`
    Trace,
    /// `debug`
    Debug,
    /// `info`
    Info,
    /// `warn`
    Warn,
    /// `error`
    Error,
}

/// One record the guest logged.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogRecord {
    /// Its level.
    pub level: LogLevel,
    /// Its message.
    pub message: String,
}

/// Deserializes a field that is present (possibly `null`) into `Some`, so that with
/// `#[serde(default)]` an absent field is `None` and `null` is `Some(None)`.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(deserializer).map(Some)
}
