//! The scenario corpus of [scenarios §5](../../../docs/scenarios.md#5-test-scenarios), as data (see `README.md` beside
//! this crate): loading into typed scenarios (`schema.rs`: a misspelt key fails the load,
//! naming the file and the key), fixture resolution, simulated-cluster set-up, and the
//! checks of a call's outcome. A runner only supplies the driver that makes the call:
//! natively through the guest's Rust code, or through the embedded component under
//! wasmtime. Every runner therefore asserts exactly the same expectations.

mod schema;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use libtest_mimic::{Arguments, Trial};
use serde_json::{Map, Value};
use sim_cluster::velero_core::{create_restored, reset_for_restore};
use sim_cluster::{Cluster, Fault, SimError, SnapshotPlan, Verb};

pub use schema::{CallKind, Identifier, LogLevel, LogRecord};
use schema::{
    ClusterAfter, ClusterSpec, Core, ErrorCase, Expect, FaultSpec, InputSpec, ObjectSpec, PlanSpec,
    ScenarioFile, StepSpec, VerbName,
};

/// Why the corpus could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    /// A file or directory could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A file is not valid JSON, or does not follow the format (e.g. a misspelt key).
    #[error("{file}: {source}")]
    Format {
        /// The file, below `corpus/`.
        file: String,
        /// The cause, naming the key and its line and column.
        #[source]
        source: serde_json::Error,
    },
    /// A file follows the format, but what it says does not hold together.
    #[error("{file}: {problem}")]
    Invalid {
        /// The file, below `corpus/`.
        file: String,
        /// What is wrong.
        problem: String,
    },
}

/// The call's inputs, fixtures resolved. Objects are JSON text, as Velero sends them.
#[derive(Debug, Clone, Default)]
pub struct Input {
    /// The item (`Execute`).
    pub item: String,
    /// The item as stored in the backup (restore `Execute`).
    pub item_from_backup: String,
    /// The Backup (backup and delete actions) or the Restore (restore actions).
    pub owner: String,
    /// The operation (`Progress`, `Cancel`).
    pub operation_id: String,
    /// The items of `AreAdditionalItemsReady`.
    pub additional_items: Vec<Identifier>,
}

/// What the Velero server passed the plugin on its command line (the scenario's `server`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Server {
    /// `--features`, one entry per feature.
    pub features: Vec<String>,
    /// `--global-backup-volume-policies-configmap`.
    pub global_volume_policies: Option<String>,
}

/// One call to an action, inputs resolved: what a runner executes.
#[derive(Debug, Clone)]
pub struct Request {
    /// The registered action name.
    pub action: String,
    /// Which call.
    pub call: CallKind,
    /// Its inputs.
    pub input: Input,
    /// The server's settings the call sees.
    pub server: Server,
}

/// One step of a scenario: what Velero core (or the user) does to the cluster first, then
/// at most one action call, then the expectations.
#[derive(Debug, Clone)]
struct Step {
    title: String,
    id: Option<String>,
    core: Core,
    /// `None` for a step that only acts on the cluster.
    call: Option<(String, CallKind)>,
    /// Fixtures resolved; `$cluster` and `$step` references are resolved when the step runs.
    input: InputSpec,
    expect: Expect,
}

/// A scenario file: one call, or `steps` sharing one cluster.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Path below `corpus/`, used as the test name.
    pub name: String,
    steps: Vec<Step>,
    objects: Vec<Value>,
    plan: Option<SnapshotPlan>,
    faults: Vec<Fault>,
    server: Server,
}

/// Progress as a runner reports it; times as RFC 3339 UTC strings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    pub completed: bool,
    pub err: String,
    pub n_completed: i64,
    pub n_total: i64,
    pub operation_units: String,
    pub description: String,
    pub started: Option<String>,
    pub updated: Option<String>,
}

/// What a call returned.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub item: Option<String>,
    pub additional_items: Vec<Identifier>,
    pub operation_id: String,
    pub post_operation_items: Vec<Identifier>,
    pub skip_restore: bool,
    pub progress: Option<Progress>,
    pub ready: Option<bool>,
}

/// What a runner reports of one call: its result and the records the guest logged while
/// it ran (also when it failed).
#[derive(Debug, Clone)]
pub struct Reply {
    /// The outcome, or the error's message.
    pub result: Result<Outcome, String>,
    /// The guest's log records, in order.
    pub logs: Vec<LogRecord>,
}

/// The directory of the corpus.
pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

/// The named objects scenario files refer to with `$fixture` (`fixtures.json`).
pub const FIXTURES: &str = include_str!("../fixtures.json");

/// Loads every scenario file, sorted by path.
pub fn load_corpus() -> Result<Vec<Scenario>, CorpusError> {
    let root = corpus_dir();
    let fixtures: Value = serde_json::from_str(FIXTURES).map_err(|source| CorpusError::Format {
        file: "fixtures.json".to_owned(),
        source,
    })?;
    let mut files = Vec::new();
    collect_files(&root, &mut files)?;
    files.sort();
    files
        .iter()
        .map(|path| {
            let name = path
                .strip_prefix(&root)
                .unwrap_or(path)
                .display()
                .to_string();
            let text = std::fs::read_to_string(path).map_err(|source| CorpusError::Read {
                path: path.clone(),
                source,
            })?;
            Scenario::parse(name, &text, &fixtures)
        })
        .collect()
}

fn collect_files(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), CorpusError> {
    let read = |source| CorpusError::Read {
        path: dir.to_owned(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(read)? {
        let path = entry.map_err(read)?.path();
        if path.is_dir() {
            collect_files(&path, files)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            files.push(path);
        }
    }
    Ok(())
}

impl Scenario {
    /// Parses the scenario file `name` (its path below `corpus/`) from `text`, resolving
    /// `$fixture` references against `fixtures`.
    pub fn parse(name: String, text: &str, fixtures: &Value) -> Result<Self, CorpusError> {
        let file: ScenarioFile =
            serde_json::from_str(text).map_err(|source| CorpusError::Format {
                file: name.clone(),
                source,
            })?;
        let invalid = |problem: String| CorpusError::Invalid {
            file: name.clone(),
            problem,
        };
        let stem = Path::new(&name)
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !stem.starts_with(&format!("{:03}-", file.scenario)) {
            return Err(invalid(format!(
                "scenario {} is not the number the file name starts with",
                file.scenario
            )));
        }
        let steps = match file.steps {
            Some(steps) => {
                if file.action.is_some()
                    || file.call.is_some()
                    || file.input.is_some()
                    || file.expect.is_some()
                {
                    return Err(invalid(
                        "a file with steps has no top-level action, call, input or expect"
                            .to_owned(),
                    ));
                }
                steps
                    .into_iter()
                    .enumerate()
                    .map(|(i, step)| {
                        Step::resolve(step, fixtures)
                            .map_err(|e| invalid(format!("step {}: {e}", i + 1)))
                    })
                    .collect::<Result<Vec<_>, _>>()?
            }
            None => vec![
                Step::resolve(
                    StepSpec {
                        title: file.title,
                        id: None,
                        core: None,
                        action: file.action,
                        call: file.call,
                        input: file.input,
                        expect: file.expect.unwrap_or_default(),
                    },
                    fixtures,
                )
                .map_err(invalid)?,
            ],
        };
        let ClusterSpec {
            objects,
            snapshot_plan,
            faults,
        } = file.cluster;
        Ok(Scenario {
            steps,
            objects: objects
                .iter()
                .map(|o| resolve(o, fixtures))
                .collect::<Result<_, _>>()
                .map_err(invalid)?,
            plan: snapshot_plan.map(snapshot_plan_of),
            faults: faults.into_iter().map(fault).collect(),
            server: Server {
                features: file.server.features,
                global_volume_policies: file.server.global_volume_policies,
            },
            name,
        })
    }
}

impl Step {
    /// The step with every `$fixture` replaced by its object.
    fn resolve(step: StepSpec, fixtures: &Value) -> Result<Self, String> {
        let call = match (step.action, step.call) {
            (None, None) => None,
            (Some(action), Some(call)) => Some((action, call)),
            (Some(_), None) => return Err("an action needs a call".to_owned()),
            (None, Some(_)) => return Err("a call needs an action".to_owned()),
        };
        let value = |v: Option<Value>| v.map(|v| resolve(&v, fixtures)).transpose();
        let input = step.input.unwrap_or_default();
        let mut core = step.core.unwrap_or_default();
        for patch in &mut core.patch {
            patch.patch = resolve(&patch.patch, fixtures)?;
        }
        core.restore = core
            .restore
            .iter()
            .map(|o| resolve(o, fixtures))
            .collect::<Result<_, _>>()?;
        let mut expect = step.expect;
        expect.item = value(expect.item)?;
        expect.item_includes = value(expect.item_includes)?;
        for call in expect.calls.iter_mut().flatten() {
            call.body = value(call.body.take())?;
        }
        for entry in &mut expect.cluster_after {
            entry.includes = value(entry.includes.take())?;
        }
        Ok(Step {
            title: step.title,
            id: step.id,
            core,
            call,
            input: InputSpec {
                item: value(input.item)?,
                item_from_backup: value(input.item_from_backup)?,
                backup: value(input.backup)?,
                restore: value(input.restore)?,
                ..input
            },
            expect,
        })
    }
}

/// Builds a step's inputs: `{"$cluster": {resource, namespace, name}}` is the object as the
/// cluster holds it now, `{"$step": id}` the item that step returned (or core fetched);
/// either may carry `"$reset": true` (Velero's reset before restore) and a `"$patch"`.
fn request(
    action: &str,
    call: CallKind,
    input: &InputSpec,
    cluster: &Cluster,
    returned: &BTreeMap<String, Value>,
) -> Result<Request, String> {
    let text = |v: &Option<Value>| {
        v.as_ref()
            .map(|v| references(v, cluster, returned).map(|v| v.to_string()))
            .transpose()
    };
    let item = text(&input.item)?.unwrap_or_default();
    let owner = match &input.backup {
        Some(_) => text(&input.backup)?,
        None => text(&input.restore)?,
    };
    Ok(Request {
        action: action.to_owned(),
        call,
        input: Input {
            item_from_backup: text(&input.item_from_backup)?.unwrap_or_else(|| item.clone()),
            item,
            owner: owner.unwrap_or_default(),
            operation_id: input.operation_id.clone().unwrap_or_default(),
            additional_items: input.additional_items.clone(),
        },
        server: Server::default(),
    })
}

fn references(
    value: &Value,
    cluster: &Cluster,
    returned: &BTreeMap<String, Value>,
) -> Result<Value, String> {
    let patched = |mut object: Value, map: &Map<String, Value>| {
        if map.get("$reset") == Some(&Value::Bool(true)) {
            object = reset_for_restore(&object);
        }
        if let Some(patch) = map.get("$patch") {
            sim_cluster::store::merge(&mut object, patch);
        }
        object
    };
    Ok(match value {
        Value::Object(map) if map.contains_key("$cluster") => {
            let target: ObjectSpec = serde_json::from_value(map["$cluster"].clone())
                .map_err(|e| format!("$cluster: {e}"))?;
            let object = stored_object(cluster, &target)?
                .ok_or_else(|| format!("$cluster: no {}", describe(&target)))?;
            patched(object, map)
        }
        Value::Object(map) if map.contains_key("$step") => {
            let id = map["$step"].as_str().unwrap_or_default();
            let item = returned
                .get(id)
                .cloned()
                .ok_or_else(|| format!("$step: step {id:?} returned no item"))?;
            patched(item, map)
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), references(v, cluster, returned)?)))
                .collect::<Result<Map<_, _>, String>>()?,
        ),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| references(v, cluster, returned))
                .collect::<Result<_, _>>()?,
        ),
        other => other.clone(),
    })
}

/// The resource of `resource` (plural, optionally `.group`).
fn gvr(resource: &str) -> Result<sim_cluster::Gvr, String> {
    sim_cluster::gvr_of_resource(resource).ok_or_else(|| format!("unknown resource {resource}"))
}

/// `""` (a cluster-scoped object) as no namespace.
fn namespace(namespace: &str) -> Option<&str> {
    Some(namespace).filter(|n| !n.is_empty())
}

/// `resource namespace/name`, for messages.
fn describe(target: &ObjectSpec) -> String {
    format!("{} {}/{}", target.resource, target.namespace, target.name)
}

/// The stored object, without a call record.
fn stored_object(cluster: &Cluster, target: &ObjectSpec) -> Result<Option<Value>, String> {
    Ok(cluster.object(
        &gvr(&target.resource)?,
        namespace(&target.namespace),
        &target.name,
    ))
}

/// What core (or another controller) does before a step's call, in this order: fetch
/// objects into the backup (then `$step` references); merge-patch objects; delete objects;
/// create restored objects (after Velero's reset; one that exists is left as is); let time
/// pass.
fn apply_core(
    core: &Core,
    cluster: &Cluster,
    returned: &mut BTreeMap<String, Value>,
) -> Result<(), String> {
    for fetch in &core.fetch {
        let target = ObjectSpec {
            resource: fetch.resource.clone(),
            namespace: fetch.namespace.clone(),
            name: fetch.name.clone(),
        };
        let object = stored_object(cluster, &target)?
            .ok_or_else(|| format!("core fetch: no {}", describe(&target)))?;
        returned.insert(fetch.id.clone(), object);
    }
    for patch in &core.patch {
        cluster
            .merge_patch(
                &gvr(&patch.resource)?,
                namespace(&patch.namespace),
                &patch.name,
                &patch.patch,
            )
            .map_err(|e| format!("core patch of {}: {e}", patch.name))?;
    }
    for target in &core.delete {
        cluster
            .delete(
                &gvr(&target.resource)?,
                namespace(&target.namespace),
                &target.name,
            )
            .map_err(|e| format!("core delete of {}: {e}", target.name))?;
    }
    for object in &core.restore {
        let object = reset_for_restore(&references(object, cluster, returned)?);
        create_restored(cluster, &object).map_err(|e| format!("core restore: {e}"))?;
    }
    if let Some(seconds) = core.advance_seconds {
        cluster.advance(Duration::from_secs_f64(seconds));
    }
    Ok(())
}

/// Replaces every `{"$fixture": name, "$patch": patch}` with the named fixture, patched.
fn resolve(value: &Value, fixtures: &Value) -> Result<Value, String> {
    Ok(match value {
        Value::Object(map) if map.contains_key("$fixture") => {
            let name = map["$fixture"]
                .as_str()
                .ok_or("$fixture must be a string")?;
            let mut object = fixtures
                .get(name)
                .cloned()
                .ok_or_else(|| format!("no fixture {name}"))?;
            if let Some(patch) = map.get("$patch") {
                sim_cluster::store::merge(&mut object, &resolve(patch, fixtures)?);
            }
            object
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), resolve(v, fixtures)?)))
                .collect::<Result<Map<_, _>, String>>()?,
        ),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| resolve(v, fixtures))
                .collect::<Result<_, _>>()?,
        ),
        other => other.clone(),
    })
}

fn snapshot_plan_of(spec: PlanSpec) -> SnapshotPlan {
    let default = SnapshotPlan::default();
    let seconds =
        |value: Option<f64>, default: Duration| value.map_or(default, Duration::from_secs_f64);
    SnapshotPlan {
        bind_after: seconds(spec.bind_after_seconds, default.bind_after),
        handle_after: seconds(spec.handle_after_seconds, default.handle_after),
        ready_after: seconds(spec.ready_after_seconds, default.ready_after),
        content_error: spec.content_error,
        never_bind: spec.never_bind,
        provision_after: seconds(spec.provision_after_seconds, default.provision_after),
    }
}

fn verb(name: VerbName) -> Verb {
    match name {
        VerbName::Get => Verb::Get,
        VerbName::List => Verb::List,
        VerbName::Create => Verb::Create,
        VerbName::Patch => Verb::Patch,
        VerbName::Delete => Verb::Delete,
        VerbName::Watch => Verb::Watch,
    }
}

fn verb_name(verb: Verb) -> &'static str {
    match verb {
        Verb::Get => "get",
        Verb::List => "list",
        Verb::Create => "create",
        Verb::Patch => "patch",
        Verb::Delete => "delete",
        Verb::Watch => "watch",
    }
}

fn fault(spec: FaultSpec) -> Fault {
    let message = spec.message.unwrap_or_else(|| "injected fault".to_owned());
    let error = match spec.error {
        ErrorCase::NotFound => SimError::NotFound(message),
        ErrorCase::AlreadyExists => SimError::AlreadyExists(message),
        ErrorCase::Conflict => SimError::Conflict(message),
        ErrorCase::Forbidden => SimError::Forbidden(message),
        ErrorCase::Invalid => SimError::Invalid(message),
        ErrorCase::Timeout => SimError::Timeout(message),
        ErrorCase::Unavailable => SimError::Unavailable(message),
        ErrorCase::Other => SimError::Other(message),
    };
    Fault {
        verb: verb(spec.verb),
        resource: spec.resource,
        name: spec.name,
        error,
        times: spec.times,
    }
}

impl Scenario {
    /// A simulated cluster seeded for this scenario.
    pub fn cluster(&self) -> Arc<Cluster> {
        let cluster = Arc::new(Cluster::new());
        cluster.seed(self.objects.iter().cloned());
        if let Some(plan) = &self.plan {
            cluster.set_snapshot_plan(plan.clone());
        }
        for fault in &self.faults {
            cluster.inject(fault.clone());
        }
        cluster
    }

    /// Whether a step expects a wait to run out of time (on virtual time that costs nothing;
    /// through a real client it costs the timeout in real time).
    pub fn waits_out(&self) -> bool {
        self.steps.iter().any(|step| {
            step.expect
                .error
                .as_ref()
                .is_some_and(|e| e.mentions("timed out"))
        }) || self.plan.as_ref().is_some_and(|p| p.never_bind)
    }

    /// Runs every step against a fresh cluster, `driver` making the calls; the problems of
    /// every failing step, named by their titles.
    pub fn play(
        &self,
        driver: &Driver,
        calls: fn(Vec<sim_cluster::Call>) -> Vec<sim_cluster::Call>,
    ) -> Result<(), String> {
        let cluster = self.cluster();
        let mut returned = BTreeMap::new();
        for (index, step) in self.steps.iter().enumerate() {
            let name = if self.steps.len() == 1 {
                String::new()
            } else {
                format!("step {} ({}): ", index + 1, step.title)
            };
            apply_core(&step.core, &cluster, &mut returned).map_err(|e| format!("{name}{e}"))?;
            cluster.clear_calls();
            let request = step
                .call
                .as_ref()
                .map(|(action, call)| {
                    request(action, *call, &step.input, &cluster, &returned).map(|mut r| {
                        r.server = self.server.clone();
                        r
                    })
                })
                .transpose()
                .map_err(|e| format!("{name}{e}"))?;
            let reply = request.as_ref().map(|r| driver(r, cluster.clone()));
            if let (
                Some(id),
                Some(Reply {
                    result:
                        Ok(Outcome {
                            item: Some(item), ..
                        }),
                    ..
                }),
            ) = (&step.id, &reply)
            {
                let item = serde_json::from_str(item).map_err(|e| format!("{name}{e}"))?;
                returned.insert(id.clone(), item);
            }
            check(&step.expect, request.as_ref(), reply, &cluster, calls)
                .map_err(|e| format!("{name}{e}"))?;
        }
        Ok(())
    }
}

/// Makes one call against the cluster.
pub type Driver = dyn Fn(&Request, Arc<Cluster>) -> Reply + Send + Sync;

/// Checks a step's outcome (`None` for a step without a call) against its expectations.
fn check(
    expect: &Expect,
    request: Option<&Request>,
    reply: Option<Reply>,
    cluster: &Cluster,
    calls: fn(Vec<sim_cluster::Call>) -> Vec<sim_cluster::Call>,
) -> Result<(), String> {
    let mut problems = Vec::new();
    match (reply.as_ref().map(|r| &r.result), &expect.error) {
        (Some(Ok(_)), Some(expected)) => problems.push(format!(
            "expected an error {expected:?}, the call succeeded"
        )),
        (Some(Err(message)), None) => problems.push(format!("unexpected error: {message}")),
        (Some(Err(message)), Some(expected)) if !expected.matches(message) => {
            problems.push(format!("error {message:?} does not match {expected:?}"));
        }
        _ => {}
    }
    if let (
        Some(Reply {
            result: Ok(outcome),
            ..
        }),
        Some(request),
    ) = (&reply, request)
    {
        check_outcome(expect, &request.input, outcome, &mut problems);
    }
    if let (Some(expected), Some(reply)) = (&expect.logs, &reply)
        && &reply.logs != expected
    {
        problems.push(format!(
            "logs {} are not {}",
            show_logs(&reply.logs),
            show_logs(expected)
        ));
    }
    check_calls(expect, &calls(cluster.calls()), &mut problems);
    check_cluster_after(&expect.cluster_after, cluster, &mut problems);
    if let Some(expected) = expect.elapsed_seconds {
        let elapsed = cluster.elapsed().as_secs_f64();
        if elapsed != expected {
            problems.push(format!("{elapsed} s elapsed, not {expected} s"));
        }
    }
    if let Some(expected) = &expect.deleted_snapshots {
        let actual = cluster.deleted_snapshots();
        if &actual != expected {
            problems.push(format!(
                "deleted storage snapshots {actual:?} are not {expected:?}"
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

/// Log records one a line, as a file would write them.
fn show_logs(logs: &[LogRecord]) -> String {
    let lines: Vec<String> = logs
        .iter()
        .map(|r| format!("\n  {:?}: {:?}", r.level, r.message))
        .collect();
    format!("[{}\n]", lines.concat())
}

fn check_outcome(expect: &Expect, input: &Input, outcome: &Outcome, problems: &mut Vec<String>) {
    let returned = outcome
        .item
        .as_deref()
        .map(|i| serde_json::from_str::<Value>(i).unwrap_or(Value::Null));
    if expect.item_unchanged && outcome.item.as_deref() != Some(input.item.as_str()) {
        problems.push(format!("item changed: {:?}", outcome.item));
    }
    if let Some(expected) = &expect.item
        && returned.as_ref() != Some(expected)
    {
        problems.push(format!("item {returned:?} is not {expected}"));
    }
    if let Some(expected) = &expect.item_includes {
        match &returned {
            Some(item) if includes(item, expected) => {}
            _ => problems.push(format!("item {returned:?} does not include {expected}")),
        }
    }
    for pointer in &expect.item_excludes {
        if returned.as_ref().and_then(|i| i.pointer(pointer)).is_some() {
            problems.push(format!("item has {pointer}"));
        }
    }
    if let Some(expected) = &expect.additional_items
        && &outcome.additional_items != expected
    {
        problems.push(format!(
            "additional items {:?} are not {expected:?}",
            outcome.additional_items
        ));
    }
    if let Some(expected) = &expect.post_operation_items
        && &outcome.post_operation_items != expected
    {
        problems.push(format!(
            "post-operation items {:?} are not {expected:?}",
            outcome.post_operation_items
        ));
    }
    if let Some(expected) = &expect.operation_id
        && &outcome.operation_id != expected
    {
        problems.push(format!(
            "operation ID {:?} is not {expected:?}",
            outcome.operation_id
        ));
    }
    if let Some(expected) = expect.skip_restore
        && outcome.skip_restore != expected
    {
        problems.push(format!("skipRestore is {}", outcome.skip_restore));
    }
    if let Some(expected) = expect.ready
        && outcome.ready != Some(expected)
    {
        problems.push(format!("ready is {:?}", outcome.ready));
    }
    if let Some(expected) = &expect.progress {
        let matches = outcome.progress.as_ref().is_some_and(|p| {
            expected.completed.is_none_or(|e| p.completed == e)
                && expected.err.as_ref().is_none_or(|e| &p.err == e)
                && expected.n_completed.is_none_or(|e| p.n_completed == e)
                && expected.n_total.is_none_or(|e| p.n_total == e)
                && expected
                    .operation_units
                    .as_ref()
                    .is_none_or(|e| &p.operation_units == e)
                && expected
                    .description
                    .as_ref()
                    .is_none_or(|e| &p.description == e)
                && expected.started.as_ref().is_none_or(|e| &p.started == e)
                && expected.updated.as_ref().is_none_or(|e| &p.updated == e)
        });
        if !matches {
            problems.push(format!(
                "progress {:?} does not match {expected:?}",
                outcome.progress
            ));
        }
    }
}

/// Whether `actual` has every field of `expected` with the same value (objects recursively;
/// arrays and scalars exactly).
pub fn includes(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => e
            .iter()
            .all(|(k, ev)| a.get(k).is_some_and(|av| includes(av, ev))),
        (a, e) => a == e,
    }
}

fn check_calls(expect: &Expect, calls: &[sim_cluster::Call], problems: &mut Vec<String>) {
    let describe = |c: &sim_cluster::Call| {
        format!(
            "{} {} {}/{}",
            verb_name(c.verb),
            c.resource,
            c.namespace.as_deref().unwrap_or("-"),
            c.name
        )
    };
    if expect.no_calls && !calls.is_empty() {
        problems.push(format!(
            "expected no API call, got {:?}",
            calls.iter().map(describe).collect::<Vec<_>>()
        ));
    }
    let Some(expected) = &expect.calls else {
        return;
    };
    let matches = |e: &schema::CallMatch, c: &sim_cluster::Call| {
        e.verb.is_none_or(|v| verb(v) == c.verb)
            && e.resource
                .as_deref()
                .is_none_or(|r| c.resource == r || c.resource.starts_with(&format!("{r}.")))
            && e.namespace
                .as_ref()
                .is_none_or(|n| n.as_deref() == c.namespace.as_deref())
            && e.name.as_deref().is_none_or(|n| n == c.name)
            && e.selector
                .as_deref()
                .is_none_or(|s| Some(s) == c.selector.as_deref())
            && e.body
                .as_ref()
                .is_none_or(|b| c.body.as_ref().is_some_and(|body| includes(body, b)))
    };
    let ok =
        expected.len() == calls.len() && expected.iter().zip(calls).all(|(e, c)| matches(e, c));
    if !ok {
        problems.push(format!(
            "calls {:?} do not match {expected:?}",
            calls.iter().map(describe).collect::<Vec<_>>(),
        ));
    }
}

fn check_cluster_after(entries: &[ClusterAfter], cluster: &Cluster, problems: &mut Vec<String>) {
    for entry in entries {
        let target = ObjectSpec {
            resource: entry.resource.clone(),
            namespace: entry.namespace.clone(),
            name: entry.name.clone(),
        };
        let found = match stored_object(cluster, &target) {
            Ok(found) => found,
            Err(e) => {
                problems.push(format!("clusterAfter: {e}"));
                continue;
            }
        };
        if let Some(exists) = entry.exists
            && found.is_some() != exists
        {
            problems.push(format!("{} exists: {}", describe(&target), found.is_some()));
        }
        if let Some(expected) = &entry.includes
            && !found.as_ref().is_some_and(|o| includes(o, expected))
        {
            problems.push(format!(
                "{} is {found:?}, expected to include {expected}",
                describe(&target)
            ));
        }
    }
}

/// Runs the whole corpus as one test per scenario, with `driver` making each call.
pub fn run(driver: impl Fn(&Request, Arc<Cluster>) -> Reply + Send + Sync + 'static) -> ExitCode {
    run_except(|_| false, |calls| calls, driver)
}

/// As [`run`], with the scenarios `left_out` selects reported as ignored, and the calls of
/// each step passed through `calls` before they are compared (for a runner whose client adds
/// calls of its own).
pub fn run_except(
    left_out: impl Fn(&Scenario) -> bool,
    calls: fn(Vec<sim_cluster::Call>) -> Vec<sim_cluster::Call>,
    driver: impl Fn(&Request, Arc<Cluster>) -> Reply + Send + Sync + 'static,
) -> ExitCode {
    let arguments = Arguments::from_args();
    let scenarios = match load_corpus() {
        Ok(scenarios) => scenarios,
        Err(error) => {
            eprintln!("cannot load the scenario corpus: {error}");
            return ExitCode::FAILURE;
        }
    };
    let driver: Arc<Driver> = Arc::new(driver);
    let trials = scenarios
        .into_iter()
        .map(|scenario| {
            let driver = driver.clone();
            let ignored = left_out(&scenario);
            Trial::test(scenario.name.clone(), move || {
                scenario.play(driver.as_ref(), calls).map_err(Into::into)
            })
            .with_ignored_flag(ignored)
        })
        .collect();
    libtest_mimic::run(&arguments, trials).exit_code()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn fixtures_resolve_with_patches() {
        let fixtures = json!({"P": {"kind": "PersistentVolumeClaim", "spec": {"a": 1, "b": 2}}});
        let value = json!({"x": [{"$fixture": "P", "$patch": {"spec": {"b": null, "c": 3}}}]});
        let resolved = resolve(&value, &fixtures).unwrap();
        assert_eq!(
            resolved,
            json!({"x": [{"kind": "PersistentVolumeClaim", "spec": {"a": 1, "c": 3}}]})
        );
        assert!(resolve(&json!({"$fixture": "nope"}), &fixtures).is_err());
    }

    #[test]
    fn inclusion_is_recursive_for_objects_only() {
        assert!(includes(
            &json!({"a": {"b": 1, "c": 2}}),
            &json!({"a": {"b": 1}})
        ));
        assert!(!includes(&json!({"a": [1, 2]}), &json!({"a": [1]})));
        assert!(!includes(&json!({"a": 1}), &json!({"b": null})));
    }

    #[test]
    fn the_corpus_loads() {
        let scenarios = load_corpus().unwrap();
        assert!(!scenarios.is_empty());
    }

    #[test]
    fn a_misspelt_key_fails_naming_the_file_and_the_key() {
        let fixtures: Value = serde_json::from_str(FIXTURES).unwrap();
        let text = r#"{
          "scenario": 999, "title": "typo", "action": "velero.io/csi-pvc-backupper",
          "call": "execute", "input": {"item": {"$fixture": "P"}, "backup": {"$fixture": "B"}},
          "expect": {"itemIncludess": {"metadata": {}}}
        }"#;
        let error = Scenario::parse("5.1-pvc-backup/999-typo.json".to_owned(), text, &fixtures)
            .unwrap_err();
        assert!(matches!(error, CorpusError::Format { .. }), "{error:?}");
        let message = error.to_string();
        assert!(
            message.starts_with("5.1-pvc-backup/999-typo.json: unknown field `itemIncludess`"),
            "{message}"
        );
        assert!(message.contains("line 4"), "{message}");
    }

    #[test]
    fn null_and_absent_differ_where_the_format_says_so() {
        let fixtures: Value = serde_json::from_str(FIXTURES).unwrap();
        let text = r#"{
          "scenario": 998, "title": "t", "action": "velero.io/csi-pvc-backupper",
          "call": "execute", "input": {},
          "expect": {"calls": [{"verb": "get", "namespace": null}, {"verb": "list"}],
                     "progress": {"started": null}}
        }"#;
        let scenario = Scenario::parse("998-t.json".to_owned(), text, &fixtures).unwrap();
        let expect = &scenario.steps[0].expect;
        let calls = expect.calls.as_ref().unwrap();
        assert_eq!(calls[0].namespace, Some(None));
        assert_eq!(calls[1].namespace, None);
        assert_eq!(expect.progress.as_ref().unwrap().started, Some(None));
        assert_eq!(expect.progress.as_ref().unwrap().updated, None);
    }

    #[test]
    fn the_file_name_carries_the_scenario_number() {
        let fixtures: Value = serde_json::from_str(FIXTURES).unwrap();
        let text = r#"{"scenario": 7, "title": "t"}"#;
        let error = Scenario::parse("008-t.json".to_owned(), text, &fixtures).unwrap_err();
        assert!(matches!(error, CorpusError::Invalid { .. }), "{error:?}");
    }
}
