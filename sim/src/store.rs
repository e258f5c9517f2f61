//! The object store and the API verbs.

use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::clock::Clock;
use crate::controllers::{self, Event, SnapshotPlan};
use crate::resources::{Gvr, cluster_scoped, gvr_of_kind, kind_of};
use crate::selector::Selector;

/// An API verb, as recorded in the call log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verb {
    Get,
    List,
    Create,
    Patch,
    Delete,
    Watch,
}

/// Why a call failed, with the API server's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Timeout(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Other(String),
}

/// One call that reached the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub verb: Verb,
    /// `resource.group`, e.g. `volumesnapshots.snapshot.storage.k8s.io`.
    pub resource: String,
    pub namespace: Option<String>,
    /// The object's name (empty for list and for create with `generateName`).
    pub name: String,
    /// The created object or the patch.
    pub body: Option<Value>,
    /// The label selector of a list.
    pub selector: Option<String>,
}

/// A fault to inject: calls matching `verb`, `resource` (plural) and, if set, `name` fail
/// with `error`, `times` times (forever when `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub verb: Verb,
    pub resource: String,
    pub name: Option<String>,
    pub error: SimError,
    pub times: Option<usize>,
}

/// What a wait waits for.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// The value at this JSON pointer exists and is not null.
    FieldPresent(String),
    /// The value at this JSON pointer equals this value.
    FieldEquals(String, Value),
    /// The object no longer exists.
    Deleted,
}

impl Condition {
    fn holds(&self, object: &Value) -> bool {
        match self {
            Condition::FieldPresent(pointer) => {
                object.pointer(pointer).is_some_and(|v| !v.is_null())
            }
            Condition::FieldEquals(pointer, value) => object.pointer(pointer) == Some(value),
            Condition::Deleted => false,
        }
    }
}

pub(crate) type Key = (Gvr, String, String);

/// The mutable state behind the API.
pub(crate) struct State {
    pub(crate) objects: BTreeMap<Key, Value>,
    next_resource_version: u64,
    next_uid: u64,
    calls: Vec<Call>,
    faults: Vec<Fault>,
    pub(crate) clock: Clock,
    pub(crate) events: Vec<(Duration, Event)>,
    pub(crate) plan: SnapshotPlan,
    /// Storage snapshots that exist in the simulated driver, by handle.
    pub(crate) storage_snapshots: BTreeMap<String, i64>,
    /// Handles of storage snapshots the driver deleted.
    pub(crate) deleted_snapshots: Vec<String>,
    pub(crate) next_handle: u64,
    /// Objects deleted through the API (cascades included), with the revision of the delete.
    tombstones: Vec<(u64, Gvr, Value)>,
}

/// The simulated cluster. Cheap to share behind an `Arc`; every method takes `&self`.
pub struct Cluster {
    state: Mutex<State>,
    changed: Condvar,
}

impl Default for Cluster {
    fn default() -> Self {
        Self::new()
    }
}

impl Cluster {
    /// An empty cluster on virtual time, starting at 2024-05-01T09:30:00Z.
    pub fn new() -> Self {
        Self::with_clock(Clock::virtual_time())
    }

    /// An empty cluster on the wall clock: controller delays take real time (for the demo).
    pub fn real_time() -> Self {
        Self::with_clock(Clock::real_time())
    }

    fn with_clock(clock: Clock) -> Self {
        Self {
            state: Mutex::new(State {
                objects: BTreeMap::new(),
                next_resource_version: 1,
                next_uid: 1,
                calls: Vec::new(),
                faults: Vec::new(),
                clock,
                events: Vec::new(),
                plan: SnapshotPlan::default(),
                storage_snapshots: BTreeMap::new(),
                deleted_snapshots: Vec::new(),
                next_handle: 1,
                tombstones: Vec::new(),
            }),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let before = state.next_resource_version;
        let now = state.clock.now();
        controllers::run_due(&mut state, now);
        if state.next_resource_version != before {
            self.changed.notify_all();
        }
        state
    }

    /// The store's revision: the newest resourceVersion handed out (every write, deletions
    /// included, moves it on).
    pub fn revision(&self) -> u64 {
        self.lock().next_resource_version
    }

    /// Real time: sleeps until the store changes or `wait` passes, then runs the controller
    /// events that fell due meanwhile.
    fn sleep_then_run_due<'a>(
        &self,
        state: MutexGuard<'a, State>,
        wait: Duration,
    ) -> MutexGuard<'a, State> {
        let mut state = self
            .changed
            .wait_timeout(state, wait)
            .map(|(guard, _)| guard)
            .unwrap_or_else(|poisoned| poisoned.into_inner().0);
        let now = state.clock.now();
        controllers::run_due(&mut state, now);
        state
    }

    /// Blocks until the revision moves past `seen` or `timeout` (real time) passes, and
    /// returns the revision then. On real time, controller events fall due meanwhile; virtual
    /// time stands still (see [`Cluster::advance_to_next_event`]).
    pub fn wait_for_change(&self, seen: u64, timeout: Duration) -> u64 {
        let deadline = std::time::Instant::now() + timeout;
        let mut state = self.lock();
        loop {
            if state.next_resource_version > seen {
                return state.next_resource_version;
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return state.next_resource_version;
            }
            let wait = match controllers::next_due(&state) {
                Some(next) if !state.clock.is_virtual() => next
                    .saturating_sub(state.clock.now())
                    .clamp(Duration::from_millis(1), left),
                _ => left,
            };
            state = self.sleep_then_run_due(state, wait);
        }
    }

    /// On virtual time, jumps to the next controller event and runs it; whether there was
    /// one. (On real time events run when due, and this does nothing.)
    pub fn advance_to_next_event(&self) -> bool {
        let mut state = self.lock();
        match controllers::next_due(&state) {
            Some(next) if state.clock.is_virtual() => {
                controllers::run_due(&mut state, next);
                state.clock.set(next);
                self.changed.notify_all();
                true
            }
            _ => false,
        }
    }

    /// Whether time is virtual.
    pub fn is_virtual(&self) -> bool {
        self.lock().clock.is_virtual()
    }

    /// The last state of the objects of `gvr` deleted after revision `since`.
    pub fn deleted_since(&self, gvr: &Gvr, since: u64) -> Vec<Value> {
        self.lock()
            .tombstones
            .iter()
            .filter(|(revision, g, _)| *revision > since && g == gvr)
            .map(|(.., object)| object.clone())
            .collect()
    }

    /// Records the start of a watch (a `wait-until` served over the API), subject to
    /// injected faults like any other call.
    pub fn watch_started(
        &self,
        gvr: &Gvr,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<(), SimError> {
        self.lock()
            .record(Verb::Watch, gvr, namespace, name, None, None)
    }

    /// Adds objects as they are, without controllers reacting and without a call record
    /// (set-up). Each object's resource comes from its `kind`.
    pub fn seed(&self, objects: impl IntoIterator<Item = Value>) {
        let mut state = self.lock();
        for object in objects {
            let kind = object
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let gvr = gvr_of_kind(kind)
                .unwrap_or_else(|| panic!("the simulation does not know kind {kind:?}"));
            let namespace = str_at(&object, "/metadata/namespace").to_owned();
            let name = str_at(&object, "/metadata/name").to_owned();
            let object = state.stamp(object, &gvr);
            state.objects.insert((gvr, namespace, name), object);
        }
    }

    /// Sets how the snapshot controller treats VolumeSnapshots created from now on.
    pub fn set_snapshot_plan(&self, plan: SnapshotPlan) {
        self.lock().plan = plan;
    }

    /// Injects a fault.
    pub fn inject(&self, fault: Fault) {
        self.lock().faults.push(fault);
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// Forgets the calls so far.
    pub fn clear_calls(&self) {
        self.lock().calls.clear();
    }

    /// Time since the simulation started.
    pub fn elapsed(&self) -> Duration {
        self.lock().clock.now()
    }

    /// Lets virtual time pass, running the controllers' due events.
    pub fn advance(&self, by: Duration) {
        let mut state = self.lock();
        let target = state.clock.now() + by;
        controllers::run_due(&mut state, target);
        state.clock.set(target);
        self.changed.notify_all();
    }

    /// Storage snapshot handles that exist in the simulated driver.
    pub fn storage_snapshots(&self) -> Vec<String> {
        self.lock().storage_snapshots.keys().cloned().collect()
    }

    /// Storage snapshot handles the simulated driver deleted.
    pub fn deleted_snapshots(&self) -> Vec<String> {
        self.lock().deleted_snapshots.clone()
    }

    /// Every stored object of a resource, in API order (namespace, then name).
    pub fn objects(&self, gvr: &Gvr) -> Vec<Value> {
        let state = self.lock();
        state
            .objects
            .iter()
            .filter(|((g, ..), _)| g == gvr)
            .map(|(_, o)| o.clone())
            .collect()
    }

    /// One stored object, without a call record (for inspection, not for clients).
    pub fn object(&self, gvr: &Gvr, namespace: Option<&str>, name: &str) -> Option<Value> {
        self.lock().find(gvr, namespace, name).ok().cloned()
    }

    /// GET.
    pub fn get(&self, gvr: &Gvr, namespace: Option<&str>, name: &str) -> Result<Value, SimError> {
        let mut state = self.lock();
        state.record(Verb::Get, gvr, namespace, name, None, None)?;
        state.find(gvr, namespace, name).cloned()
    }

    /// LIST, in one namespace or all, optionally by label selector.
    pub fn list(
        &self,
        gvr: &Gvr,
        namespace: Option<&str>,
        selector: Option<&str>,
    ) -> Result<Vec<Value>, SimError> {
        let mut state = self.lock();
        state.record(Verb::List, gvr, namespace, "", None, selector)?;
        let selector = Selector::parse(selector.unwrap_or_default()).map_err(SimError::Invalid)?;
        Ok(state
            .objects
            .iter()
            .filter(|((g, ns, _), o)| {
                g == gvr && namespace.is_none_or(|n| n == ns) && selector.matches(o)
            })
            .map(|(_, o)| o.clone())
            .collect())
    }

    /// CREATE, honouring `generateName`.
    pub fn create(
        &self,
        gvr: &Gvr,
        namespace: Option<&str>,
        object: Value,
    ) -> Result<Value, SimError> {
        let mut state = self.lock();
        state.record(Verb::Create, gvr, namespace, "", Some(&object), None)?;
        let Value::Object(mut fields) = object else {
            return Err(SimError::Invalid("the object is not a JSON object".into()));
        };
        let metadata = fields.entry("metadata").or_insert_with(|| json!({}));
        let given = metadata
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let name = if given.is_empty() {
            let prefix = metadata
                .get("generateName")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if prefix.is_empty() {
                return Err(SimError::Invalid(format!(
                    "{}: name or generateName is required",
                    gvr.qualified()
                )));
            }
            state.generate_name(gvr, namespace, prefix)
        } else {
            given
        };
        metadata["name"] = json!(name);
        if let Some(namespace) = namespace.filter(|_| !cluster_scoped(gvr)) {
            metadata["namespace"] = json!(namespace);
        }
        let key = (
            gvr.clone(),
            namespace.unwrap_or_default().to_owned(),
            name.clone(),
        );
        if state.objects.contains_key(&key) {
            return Err(SimError::AlreadyExists(format!(
                "{} \"{name}\" already exists",
                gvr.qualified()
            )));
        }
        let object = state.stamp(Value::Object(fields), gvr);
        state.objects.insert(key.clone(), object.clone());
        controllers::on_create(&mut state, &key);
        self.changed.notify_all();
        Ok(state.objects.get(&key).cloned().unwrap_or(object))
    }

    /// PATCH with `application/merge-patch+json`. A `metadata.resourceVersion` in the patch
    /// must match the stored one.
    pub fn merge_patch(
        &self,
        gvr: &Gvr,
        namespace: Option<&str>,
        name: &str,
        patch: &Value,
    ) -> Result<Value, SimError> {
        let mut state = self.lock();
        state.record(Verb::Patch, gvr, namespace, name, Some(patch), None)?;
        let current = state.find(gvr, namespace, name)?.clone();
        let expected = patch
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str);
        let stored = current
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str);
        if expected.is_some_and(|expected| stored != Some(expected)) {
            return Err(SimError::Conflict(format!(
                "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
                gvr.qualified()
            )));
        }
        let mut patched = current;
        merge(&mut patched, patch);
        let rv = state.bump_resource_version();
        patched["metadata"]["resourceVersion"] = json!(rv);
        let key = (
            gvr.clone(),
            namespace.unwrap_or_default().to_owned(),
            name.to_owned(),
        );
        state.objects.insert(key, patched.clone());
        self.changed.notify_all();
        Ok(patched)
    }

    /// DELETE.
    pub fn delete(&self, gvr: &Gvr, namespace: Option<&str>, name: &str) -> Result<(), SimError> {
        let mut state = self.lock();
        state.record(Verb::Delete, gvr, namespace, name, None, None)?;
        state.find(gvr, namespace, name)?;
        let key = (
            gvr.clone(),
            namespace.unwrap_or_default().to_owned(),
            name.to_owned(),
        );
        if let Some(object) = state.remove(&key) {
            controllers::on_delete(&mut state, &key, &object);
        }
        self.changed.notify_all();
        Ok(())
    }

    /// Waits until `condition` holds: `NotFound` at once when the object does not exist
    /// (unless waiting for its deletion), `Timeout` when `timeout` passes. On virtual time
    /// the clock jumps to each controller event; on real time the call blocks.
    pub fn wait_until(
        &self,
        gvr: &Gvr,
        namespace: Option<&str>,
        name: &str,
        condition: &Condition,
        timeout: Duration,
    ) -> Result<Option<Value>, SimError> {
        let mut state = self.lock();
        state.record(Verb::Watch, gvr, namespace, name, None, None)?;
        let deadline = state.clock.now() + timeout;
        loop {
            match (state.find(gvr, namespace, name), condition) {
                (Err(_), Condition::Deleted) => return Ok(None),
                (Err(error), _) => return Err(error),
                (Ok(object), _) if condition.holds(object) => return Ok(Some(object.clone())),
                (Ok(_), _) => {}
            }
            let now = state.clock.now();
            if now >= deadline {
                return Err(SimError::Timeout(
                    "timed out waiting for the condition".into(),
                ));
            }
            let next = controllers::next_due(&state)
                .filter(|t| *t <= deadline)
                .unwrap_or(deadline);
            if state.clock.is_virtual() {
                controllers::run_due(&mut state, next);
                state.clock.set(next);
            } else {
                let wait = next.saturating_sub(now).max(Duration::from_millis(1));
                state = self.sleep_then_run_due(state, wait);
            }
        }
    }
}

impl State {
    fn record(
        &mut self,
        verb: Verb,
        gvr: &Gvr,
        namespace: Option<&str>,
        name: &str,
        body: Option<&Value>,
        selector: Option<&str>,
    ) -> Result<(), SimError> {
        self.calls.push(Call {
            verb,
            resource: gvr.qualified(),
            namespace: namespace.map(str::to_owned),
            name: name.to_owned(),
            body: body.cloned(),
            selector: selector.map(str::to_owned),
        });
        let fault = self.faults.iter_mut().find(|f| {
            f.verb == verb
                && f.resource == gvr.resource
                && f.name.as_deref().is_none_or(|n| n == name)
                && f.times != Some(0)
        });
        match fault {
            Some(fault) => {
                if let Some(times) = fault.times.as_mut() {
                    *times -= 1;
                }
                Err(fault.error.clone())
            }
            None => Ok(()),
        }
    }

    pub(crate) fn find(
        &self,
        gvr: &Gvr,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<&Value, SimError> {
        let key = (
            gvr.clone(),
            namespace.unwrap_or_default().to_owned(),
            name.to_owned(),
        );
        self.objects
            .get(&key)
            .ok_or_else(|| SimError::NotFound(format!("{} \"{name}\" not found", gvr.qualified())))
    }

    fn bump_resource_version(&mut self) -> String {
        self.next_resource_version += 1;
        self.next_resource_version.to_string()
    }

    /// Fills apiVersion, kind, uid, resourceVersion and creationTimestamp where absent.
    pub(crate) fn stamp(&mut self, mut object: Value, gvr: &Gvr) -> Value {
        if !object.is_object() {
            object = json!({});
        }
        if object.get("apiVersion").is_none() {
            object["apiVersion"] = json!(gvr.api_version());
        }
        if object.get("kind").is_none() {
            object["kind"] = json!(kind_of(gvr).unwrap_or_default());
        }
        if !object.get("metadata").is_some_and(Value::is_object) {
            object["metadata"] = json!({});
        }
        let uid = format!(
            "{:08x}-0000-4000-8000-{:012x}",
            self.next_uid, self.next_uid
        );
        self.next_uid += 1;
        let rv = self.bump_resource_version();
        let created = self.clock.rfc3339();
        let metadata = object["metadata"]
            .as_object_mut()
            .expect("metadata is an object");
        metadata.entry("uid").or_insert_with(|| json!(uid));
        metadata.insert("resourceVersion".into(), json!(rv));
        metadata
            .entry("creationTimestamp")
            .or_insert_with(|| json!(created));
        object
    }

    /// `prefix` + `abcde`, or the next free suffix when that name is taken.
    fn generate_name(&self, gvr: &Gvr, namespace: Option<&str>, prefix: &str) -> String {
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        let mut prefix = prefix.to_owned();
        let mut end = prefix.len().min(58);
        while !prefix.is_char_boundary(end) {
            end -= 1;
        }
        prefix.truncate(end);
        let candidate = |n: usize| {
            if n == 0 {
                return format!("{prefix}abcde");
            }
            let suffix: String = (0..5)
                .map(|i| ALPHABET[(n / ALPHABET.len().pow(i)) % ALPHABET.len()] as char)
                .collect();
            format!("{prefix}{suffix}")
        };
        (0..)
            .map(candidate)
            .find(|name| {
                let key = (
                    gvr.clone(),
                    namespace.unwrap_or_default().to_owned(),
                    name.clone(),
                );
                !self.objects.contains_key(&key)
            })
            .expect("an unbounded search finds a free name")
    }

    /// Removes an object (a delete, or a cascade of one): the revision moves on and the
    /// object's last state is kept as a tombstone for watches.
    pub(crate) fn remove(&mut self, key: &Key) -> Option<Value> {
        let object = self.objects.remove(key)?;
        self.next_resource_version += 1;
        self.tombstones
            .push((self.next_resource_version, key.0.clone(), object.clone()));
        Some(object)
    }

    /// Inserts or replaces an object written by a controller (no call record).
    pub(crate) fn put(&mut self, key: Key, mut object: Value) {
        let rv = self.bump_resource_version();
        object["metadata"]["resourceVersion"] = json!(rv);
        self.objects.insert(key, object);
    }
}

/// RFC 7386 JSON merge patch.
pub fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let target = target.as_object_mut().expect("target is an object");
    for (key, value) in patch {
        if value.is_null() {
            target.remove(key);
        } else {
            merge(target.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

pub(crate) fn str_at<'a>(object: &'a Value, pointer: &str) -> &'a str {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vs() -> Gvr {
        Gvr::new("snapshot.storage.k8s.io", "v1", "volumesnapshots")
    }

    #[test]
    fn generate_name_uid_and_resource_version() {
        let cluster = Cluster::new();
        let body = json!({"metadata": {"generateName": "velero-data-"}, "spec": {}});
        let a = cluster.create(&vs(), Some("app"), body.clone()).unwrap();
        let b = cluster.create(&vs(), Some("app"), body).unwrap();
        assert_eq!(a["metadata"]["name"], "velero-data-abcde");
        assert_ne!(a["metadata"]["name"], b["metadata"]["name"]);
        assert_ne!(a["metadata"]["uid"], b["metadata"]["uid"]);
        assert_eq!(a["kind"], "VolumeSnapshot");
        assert_eq!(a["metadata"]["namespace"], "app");
    }

    // Found by the fuzz target backup_actions: a claim name of multi-byte characters.
    #[test]
    fn generate_name_cuts_a_long_prefix_at_a_character_boundary() {
        let cluster = Cluster::new();
        let body = json!({"metadata": {"generateName": "é".repeat(40)}});
        let created = cluster.create(&vs(), Some("app"), body).unwrap();
        let name = created["metadata"]["name"].as_str().unwrap();
        assert_eq!(name, format!("{}abcde", "é".repeat(29)));
    }

    #[test]
    fn not_found_already_exists_and_conflicts() {
        let cluster = Cluster::new();
        let err = cluster.get(&vs(), Some("app"), "x").unwrap_err();
        assert_eq!(
            err,
            SimError::NotFound("volumesnapshots.snapshot.storage.k8s.io \"x\" not found".into())
        );
        let body = json!({"metadata": {"name": "x"}});
        let created = cluster.create(&vs(), Some("app"), body.clone()).unwrap();
        assert!(matches!(
            cluster.create(&vs(), Some("app"), body),
            Err(SimError::AlreadyExists(_))
        ));
        let stale = json!({"metadata": {"resourceVersion": "0", "labels": {"a": "b"}}});
        assert!(matches!(
            cluster.merge_patch(&vs(), Some("app"), "x", &stale),
            Err(SimError::Conflict(_))
        ));
        let fresh = json!({"metadata": {"resourceVersion": created["metadata"]["resourceVersion"], "labels": {"a": "b"}}});
        let patched = cluster
            .merge_patch(&vs(), Some("app"), "x", &fresh)
            .unwrap();
        assert_eq!(patched["metadata"]["labels"]["a"], "b");
        cluster.delete(&vs(), Some("app"), "x").unwrap();
        assert!(matches!(
            cluster.delete(&vs(), Some("app"), "x"),
            Err(SimError::NotFound(_))
        ));
    }

    #[test]
    fn merge_patch_follows_rfc_7386() {
        let mut target = json!({"a": "b", "c": {"d": "e", "f": "g"}});
        merge(&mut target, &json!({"a": "z", "c": {"f": null}}));
        assert_eq!(target, json!({"a": "z", "c": {"d": "e"}}));
    }

    #[test]
    fn lists_by_namespace_and_selector_and_records_calls() {
        let cluster = Cluster::new();
        cluster.seed([
            json!({"kind": "ConfigMap", "metadata": {"name": "a", "namespace": "n1", "labels": {"x": "1"}}}),
            json!({"kind": "ConfigMap", "metadata": {"name": "b", "namespace": "n2", "labels": {"x": "2"}}}),
        ]);
        let cm = Gvr::new("", "v1", "configmaps");
        assert_eq!(cluster.list(&cm, None, None).unwrap().len(), 2);
        assert_eq!(cluster.list(&cm, Some("n1"), None).unwrap().len(), 1);
        assert_eq!(
            cluster.list(&cm, None, Some("x=2")).unwrap()[0]["metadata"]["name"],
            "b"
        );
        let calls = cluster.calls();
        assert_eq!(calls.len(), 3);
        assert_eq!(calls[2].selector.as_deref(), Some("x=2"));
    }

    #[test]
    fn faults_fire_the_requested_number_of_times() {
        let cluster = Cluster::new();
        cluster.inject(Fault {
            verb: Verb::List,
            resource: "pods".into(),
            name: None,
            error: SimError::Forbidden("pods is forbidden".into()),
            times: Some(1),
        });
        let pods = Gvr::new("", "v1", "pods");
        assert!(matches!(
            cluster.list(&pods, Some("app"), None),
            Err(SimError::Forbidden(_))
        ));
        assert!(cluster.list(&pods, Some("app"), None).is_ok());
    }
}
