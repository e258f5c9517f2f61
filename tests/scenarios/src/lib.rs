//! The scenario corpus of [scenarios §5](../../../docs/scenarios.md#5-test-scenarios), as data (see `README.md` beside
//! this crate): loading, fixture resolution, simulated-cluster set-up, and the checks of a
//! call's outcome. A runner only supplies the driver that makes the call: natively through
//! the guest's Rust code, or through the embedded component under wasmtime. Both runners
//! therefore assert exactly the same expectations.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use libtest_mimic::{Arguments, Trial};
use serde_json::{Map, Value, json};
use sim_cluster::velero_core::{create_restored, reset_for_restore};
use sim_cluster::{Cluster, Fault, SimError, SnapshotPlan, Verb};

/// Which call a scenario makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    Execute,
    Progress,
    Cancel,
    Ready,
}

/// One object reference, as Velero's `ResourceIdentifier`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identifier {
    pub group: String,
    pub resource: String,
    pub namespace: String,
    pub name: String,
}

impl Identifier {
    fn to_json(&self) -> Value {
        json!({"group": self.group, "resource": self.resource, "namespace": self.namespace, "name": self.name})
    }

    fn from_json(value: &Value) -> Self {
        let field = |k: &str| text_field(value, k);
        Self {
            group: field("group"),
            resource: field("resource"),
            namespace: field("namespace"),
            name: field("name"),
        }
    }
}

/// The call's inputs, fixtures resolved. Objects are JSON text, as Velero sends them.
#[derive(Debug, Clone, Default)]
pub struct Input {
    pub item: String,
    pub item_from_backup: String,
    /// The Backup (backup and delete actions) or the Restore (restore actions).
    pub owner: String,
    pub operation_id: String,
    pub additional_items: Vec<Identifier>,
}

/// One call to an action, inputs resolved: what a runner executes.
#[derive(Debug, Clone)]
pub struct Request {
    pub action: String,
    pub call: CallKind,
    pub input: Input,
}

/// One step of a scenario: what Velero core (or the user) does to the cluster first, then
/// at most one action call, then the expectations.
#[derive(Debug, Clone)]
struct Step {
    title: String,
    id: Option<String>,
    core: Value,
    /// `None` for a step that only acts on the cluster.
    call: Option<(String, CallKind)>,
    /// The `input` object; `$cluster` and `$step` references are resolved when the step runs.
    input: Value,
    expect: Value,
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

/// The directory of the corpus.
pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

/// Loads every scenario file, sorted by path.
pub fn load_corpus() -> Result<Vec<Scenario>, String> {
    let root = corpus_dir();
    let fixtures: Value = read_json(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures.json"))?;
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
            parse_scenario(name.clone(), &read_json(path)?, &fixtures)
                .map_err(|e| format!("{name}: {e}"))
        })
        .collect()
}

fn collect_files(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() {
            collect_files(&path, files)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            files.push(path);
        }
    }
    Ok(())
}

fn read_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn parse_scenario(name: String, file: &Value, fixtures: &Value) -> Result<Scenario, String> {
    let steps = match file.get("steps").and_then(Value::as_array) {
        Some(steps) => steps
            .iter()
            .enumerate()
            .map(|(i, step)| parse_step(step, fixtures).map_err(|e| format!("step {}: {e}", i + 1)))
            .collect::<Result<Vec<_>, _>>()?,
        None => vec![parse_step(file, fixtures)?],
    };
    let cluster = file.get("cluster").cloned().unwrap_or_default();
    let objects = cluster
        .get("objects")
        .and_then(Value::as_array)
        .map(|objects| {
            objects
                .iter()
                .map(|o| resolve(o, fixtures))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?
        .unwrap_or_default();
    let plan = cluster.get("snapshotPlan").map(snapshot_plan);
    let faults = cluster
        .get("faults")
        .and_then(Value::as_array)
        .map(|faults| faults.iter().map(fault).collect::<Result<Vec<_>, _>>())
        .transpose()?
        .unwrap_or_default();
    Ok(Scenario {
        name,
        steps,
        objects,
        plan,
        faults,
    })
}

fn parse_step(step: &Value, fixtures: &Value) -> Result<Step, String> {
    let call = match step.get("action").and_then(Value::as_str) {
        None => None,
        Some(action) => Some((
            action.to_owned(),
            match step.get("call").and_then(Value::as_str) {
                Some("execute") => CallKind::Execute,
                Some("progress") => CallKind::Progress,
                Some("cancel") => CallKind::Cancel,
                Some("ready") => CallKind::Ready,
                other => return Err(format!("unknown call {other:?}")),
            },
        )),
    };
    let string = |key: &str| step.get(key).and_then(Value::as_str).map(str::to_owned);
    Ok(Step {
        title: string("title").unwrap_or_default(),
        id: string("id"),
        core: resolve(step.get("core").unwrap_or(&Value::Null), fixtures)?,
        call,
        input: resolve(step.get("input").unwrap_or(&Value::Null), fixtures)?,
        expect: resolve(step.get("expect").unwrap_or(&Value::Null), fixtures)?,
    })
}

/// Builds a step's inputs: `{"$cluster": {resource, namespace, name}}` is the object as the
/// cluster holds it now, `{"$step": id}` the item that step returned (or core fetched);
/// either may carry `"$reset": true` (Velero's reset before restore) and a `"$patch"`.
fn request(
    action: &str,
    call: CallKind,
    input: &Value,
    cluster: &Cluster,
    returned: &std::collections::BTreeMap<String, Value>,
) -> Result<Request, String> {
    let input = references(input, cluster, returned)?;
    let text = |v: Option<&Value>| v.map(Value::to_string);
    let item = text(input.get("item")).unwrap_or_default();
    Ok(Request {
        action: action.to_owned(),
        call,
        input: Input {
            item_from_backup: text(input.get("itemFromBackup")).unwrap_or_else(|| item.clone()),
            item,
            owner: text(input.get("backup").or_else(|| input.get("restore"))).unwrap_or_default(),
            operation_id: input
                .get("operationId")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            additional_items: input
                .get("additionalItems")
                .and_then(Value::as_array)
                .map(|ids| ids.iter().map(Identifier::from_json).collect())
                .unwrap_or_default(),
        },
    })
}

fn references(
    value: &Value,
    cluster: &Cluster,
    returned: &std::collections::BTreeMap<String, Value>,
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
            let (gvr, namespace, name) = object_ref(&map["$cluster"])?;
            let object = stored(cluster, &gvr, &namespace, &name)
                .ok_or_else(|| format!("$cluster: no {} {namespace}/{name}", gvr.resource))?;
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

/// The string at `key` of a JSON object, or empty.
fn text_field(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// `{resource, namespace, name}` → the resource and the object's namespace and name.
fn object_ref(value: &Value) -> Result<(sim_cluster::Gvr, String, String), String> {
    let field = |k: &str| text_field(value, k);
    let resource = field("resource");
    let gvr = sim_cluster::gvr_of_resource(&resource)
        .ok_or_else(|| format!("unknown resource {resource}"))?;
    Ok((gvr, field("namespace"), field("name")))
}

/// The stored object (namespace `""` for a cluster-scoped one), without a call record.
fn stored(cluster: &Cluster, gvr: &sim_cluster::Gvr, namespace: &str, name: &str) -> Option<Value> {
    cluster.object(gvr, Some(namespace).filter(|n| !n.is_empty()), name)
}

/// What core (or another controller) does before a step's call, in this order: fetch
/// objects into the backup (`{id, resource, namespace, name}`, then `$step` references);
/// merge-patch objects (`{resource, namespace, name, patch}`); delete objects; create
/// restored objects (after Velero's reset; one that exists is left as is); let time pass.
fn apply_core(
    core: &Value,
    cluster: &Cluster,
    returned: &mut std::collections::BTreeMap<String, Value>,
) -> Result<(), String> {
    let entries = |key: &str| {
        core.get(key)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    for target in entries("fetch") {
        let (gvr, namespace, name) = object_ref(&target)?;
        let object = stored(cluster, &gvr, &namespace, &name)
            .ok_or_else(|| format!("core fetch: no {} {namespace}/{name}", gvr.resource))?;
        let id = target.get("id").and_then(Value::as_str).unwrap_or_default();
        returned.insert(id.to_owned(), object);
    }
    for target in entries("patch") {
        let (gvr, namespace, name) = object_ref(&target)?;
        let namespace = Some(namespace.as_str()).filter(|n| !n.is_empty());
        cluster
            .merge_patch(
                &gvr,
                namespace,
                &name,
                target.get("patch").unwrap_or(&Value::Null),
            )
            .map_err(|e| format!("core patch of {name}: {e}"))?;
    }
    for target in entries("delete") {
        let (gvr, namespace, name) = object_ref(&target)?;
        let namespace = Some(namespace.as_str()).filter(|n| !n.is_empty());
        cluster
            .delete(&gvr, namespace, &name)
            .map_err(|e| format!("core delete of {name}: {e}"))?;
    }
    for object in entries("restore") {
        let object = reset_for_restore(&references(&object, cluster, returned)?);
        create_restored(cluster, &object).map_err(|e| format!("core restore: {e}"))?;
    }
    if let Some(seconds) = core.get("advanceSeconds").and_then(Value::as_f64) {
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

fn snapshot_plan(value: &Value) -> SnapshotPlan {
    let default = SnapshotPlan::default();
    let seconds = |key: &str, default: Duration| {
        value
            .get(key)
            .and_then(Value::as_f64)
            .map_or(default, Duration::from_secs_f64)
    };
    SnapshotPlan {
        bind_after: seconds("bindAfterSeconds", default.bind_after),
        handle_after: seconds("handleAfterSeconds", default.handle_after),
        ready_after: seconds("readyAfterSeconds", default.ready_after),
        content_error: value
            .get("contentError")
            .and_then(Value::as_str)
            .map(str::to_owned),
        never_bind: value
            .get("neverBind")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        provision_after: seconds("provisionAfterSeconds", default.provision_after),
    }
}

fn verb(name: &str) -> Result<Verb, String> {
    Ok(match name {
        "get" => Verb::Get,
        "list" => Verb::List,
        "create" => Verb::Create,
        "patch" => Verb::Patch,
        "delete" => Verb::Delete,
        "watch" => Verb::Watch,
        other => return Err(format!("unknown verb {other:?}")),
    })
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

fn fault(value: &Value) -> Result<Fault, String> {
    let message = value
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("injected fault")
        .to_owned();
    let error = match value
        .get("error")
        .and_then(Value::as_str)
        .unwrap_or("Other")
    {
        "NotFound" => SimError::NotFound(message),
        "AlreadyExists" => SimError::AlreadyExists(message),
        "Conflict" => SimError::Conflict(message),
        "Forbidden" => SimError::Forbidden(message),
        "Invalid" => SimError::Invalid(message),
        "Timeout" => SimError::Timeout(message),
        "Unavailable" => SimError::Unavailable(message),
        _ => SimError::Other(message),
    };
    Ok(Fault {
        verb: verb(
            value
                .get("verb")
                .and_then(Value::as_str)
                .unwrap_or_default(),
        )?,
        resource: value
            .get("resource")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        name: value.get("name").and_then(Value::as_str).map(str::to_owned),
        error,
        times: value
            .get("times")
            .and_then(Value::as_u64)
            .and_then(|t| usize::try_from(t).ok()),
    })
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
                .get("error")
                .is_some_and(|e| e.to_string().contains("timed out"))
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
        let mut returned = std::collections::BTreeMap::new();
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
                .map(|(action, call)| request(action, *call, &step.input, &cluster, &returned))
                .transpose()
                .map_err(|e| format!("{name}{e}"))?;
            let result = request.as_ref().map(|r| driver(r, cluster.clone()));
            if let (
                Some(id),
                Some(Ok(Outcome {
                    item: Some(item), ..
                })),
            ) = (&step.id, &result)
            {
                let item = serde_json::from_str(item).map_err(|e| format!("{name}{e}"))?;
                returned.insert(id.clone(), item);
            }
            check(&step.expect, request.as_ref(), result, &cluster, calls)
                .map_err(|e| format!("{name}{e}"))?;
        }
        Ok(())
    }
}

/// Makes one call against the cluster.
pub type Driver = dyn Fn(&Request, Arc<Cluster>) -> Result<Outcome, String> + Send + Sync;

/// Checks a step's outcome (`None` for a step without a call) against its expectations.
fn check(
    expect: &Value,
    request: Option<&Request>,
    result: Option<Result<Outcome, String>>,
    cluster: &Cluster,
    calls: fn(Vec<sim_cluster::Call>) -> Vec<sim_cluster::Call>,
) -> Result<(), String> {
    let mut problems = Vec::new();
    match (&result, expect.get("error")) {
        (Some(Ok(_)), Some(expected)) => {
            problems.push(format!("expected an error {expected}, the call succeeded"))
        }
        (Some(Err(message)), None) => problems.push(format!("unexpected error: {message}")),
        (Some(Err(message)), Some(expected)) => {
            let get = |k: &str| expected.get(k).and_then(Value::as_str);
            let ok = get("equals").is_none_or(|e| message == e)
                && get("startsWith").is_none_or(|e| message.starts_with(e))
                && get("contains").is_none_or(|e| message.contains(e));
            if !ok {
                problems.push(format!("error {message:?} does not match {expected}"));
            }
        }
        _ => {}
    }
    if let (Some(Ok(outcome)), Some(request)) = (&result, request) {
        check_outcome(expect, &request.input, outcome, &mut problems);
    }
    check_calls(expect, &calls(cluster.calls()), &mut problems);
    check_cluster_after(expect, cluster, &mut problems);
    if let Some(expected) = expect.get("deletedSnapshots") {
        let actual = json!(cluster.deleted_snapshots());
        if &actual != expected {
            problems.push(format!(
                "deleted storage snapshots {actual} are not {expected}"
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

fn check_outcome(expect: &Value, input: &Input, outcome: &Outcome, problems: &mut Vec<String>) {
    let returned = outcome
        .item
        .as_deref()
        .map(|i| serde_json::from_str::<Value>(i).unwrap_or(Value::Null));
    if expect.get("itemUnchanged") == Some(&json!(true))
        && outcome.item.as_deref() != Some(input.item.as_str())
    {
        problems.push(format!("item changed: {:?}", outcome.item));
    }
    if let Some(expected) = expect.get("item")
        && returned.as_ref() != Some(expected)
    {
        problems.push(format!("item {returned:?} is not {expected}"));
    }
    if let Some(expected) = expect.get("itemIncludes") {
        match &returned {
            Some(item) if includes(item, expected) => {}
            _ => problems.push(format!("item {returned:?} does not include {expected}")),
        }
    }
    for pointer in expect
        .get("itemExcludes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let pointer = pointer.as_str().unwrap_or_default();
        if returned.as_ref().and_then(|i| i.pointer(pointer)).is_some() {
            problems.push(format!("item has {pointer}"));
        }
    }
    let ids = |ids: &[Identifier]| Value::Array(ids.iter().map(Identifier::to_json).collect());
    if let Some(expected) = expect.get("additionalItems") {
        let actual = ids(&outcome.additional_items);
        if &actual != expected {
            problems.push(format!("additional items {actual} are not {expected}"));
        }
    }
    if let Some(expected) = expect.get("postOperationItems") {
        let actual = ids(&outcome.post_operation_items);
        if &actual != expected {
            problems.push(format!("post-operation items {actual} are not {expected}"));
        }
    }
    if let Some(expected) = expect.get("operationId").and_then(Value::as_str)
        && outcome.operation_id != expected
    {
        problems.push(format!(
            "operation ID {:?} is not {expected:?}",
            outcome.operation_id
        ));
    }
    if let Some(expected) = expect.get("skipRestore").and_then(Value::as_bool)
        && outcome.skip_restore != expected
    {
        problems.push(format!("skipRestore is {}", outcome.skip_restore));
    }
    if let Some(expected) = expect.get("ready").and_then(Value::as_bool)
        && outcome.ready != Some(expected)
    {
        problems.push(format!("ready is {:?}", outcome.ready));
    }
    if let Some(expected) = expect.get("progress") {
        let actual = outcome.progress.as_ref().map(|p| {
            json!({
                "completed": p.completed, "err": p.err, "nCompleted": p.n_completed, "nTotal": p.n_total,
                "operationUnits": p.operation_units, "description": p.description,
                "started": p.started, "updated": p.updated,
            })
        });
        if !actual.as_ref().is_some_and(|a| includes(a, expected)) {
            problems.push(format!("progress {actual:?} does not include {expected}"));
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

fn check_calls(expect: &Value, calls: &[sim_cluster::Call], problems: &mut Vec<String>) {
    let describe = |c: &sim_cluster::Call| {
        format!(
            "{} {} {}/{}",
            verb_name(c.verb),
            c.resource,
            c.namespace.as_deref().unwrap_or("-"),
            c.name
        )
    };
    if expect.get("noCalls") == Some(&json!(true)) && !calls.is_empty() {
        problems.push(format!(
            "expected no API call, got {:?}",
            calls.iter().map(describe).collect::<Vec<_>>()
        ));
    }
    let Some(expected) = expect.get("calls").and_then(Value::as_array) else {
        return;
    };
    let matches = |e: &Value, c: &sim_cluster::Call| {
        let field = |k: &str| e.get(k);
        field("verb")
            .and_then(Value::as_str)
            .is_none_or(|v| v == verb_name(c.verb))
            && field("resource")
                .and_then(Value::as_str)
                .is_none_or(|r| c.resource == r || c.resource.starts_with(&format!("{r}.")))
            && field("namespace").is_none_or(|n| n.as_str() == c.namespace.as_deref())
            && field("name")
                .and_then(Value::as_str)
                .is_none_or(|n| n == c.name)
            && field("selector")
                .and_then(Value::as_str)
                .is_none_or(|s| Some(s) == c.selector.as_deref())
            && field("body").is_none_or(|b| c.body.as_ref().is_some_and(|body| includes(body, b)))
    };
    let ok =
        expected.len() == calls.len() && expected.iter().zip(calls).all(|(e, c)| matches(e, c));
    if !ok {
        problems.push(format!(
            "calls {:?} do not match {}",
            calls.iter().map(describe).collect::<Vec<_>>(),
            Value::Array(expected.clone())
        ));
    }
}

fn check_cluster_after(expect: &Value, cluster: &Cluster, problems: &mut Vec<String>) {
    for entry in expect
        .get("clusterAfter")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let resource = entry
            .get("resource")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let Some(gvr) = sim_cluster::gvr_of_resource(resource) else {
            problems.push(format!("clusterAfter: unknown resource {resource}"));
            continue;
        };
        let namespace = entry
            .get("namespace")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let name = entry
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let found = stored(cluster, &gvr, namespace, name);
        if let Some(exists) = entry.get("exists").and_then(Value::as_bool)
            && found.is_some() != exists
        {
            problems.push(format!(
                "{resource} {namespace}/{name} exists: {}",
                found.is_some()
            ));
        }
        if let Some(expected) = entry.get("includes")
            && !found.as_ref().is_some_and(|o| includes(o, expected))
        {
            problems.push(format!(
                "{resource} {namespace}/{name} is {found:?}, expected to include {expected}"
            ));
        }
    }
}

/// Runs the whole corpus as one test per scenario, with `driver` making each call.
pub fn run(
    driver: impl Fn(&Request, Arc<Cluster>) -> Result<Outcome, String> + Send + Sync + 'static,
) -> ExitCode {
    run_except(|_| false, |calls| calls, driver)
}

/// As [`run`], with the scenarios `left_out` selects reported as ignored, and the calls of
/// each step passed through `calls` before they are compared (for a runner whose client adds
/// calls of its own).
pub fn run_except(
    left_out: impl Fn(&Scenario) -> bool,
    calls: fn(Vec<sim_cluster::Call>) -> Vec<sim_cluster::Call>,
    driver: impl Fn(&Request, Arc<Cluster>) -> Result<Outcome, String> + Send + Sync + 'static,
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
}
