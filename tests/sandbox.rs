//! The sandbox, tested with a deliberately hostile component (`tests/hostile/`, built here
//! for wasm32-wasip2) loaded in place of the embedded one.
//!
//! * A component that reaches beyond its action's capability manifest gets `forbidden` for
//!   every such call, the host logs a warning for each, and none of them reaches the API
//!   server (the simulated cluster served over HTTP, through the real kube-rs client), while
//!   the one call inside the manifest does.
//! * A trap becomes a clean error and the runtime keeps serving.
//! * An endless loop is stopped at the call's deadline, a memory bomb at the memory limit:
//!   each a clean error, and the runtime keeps serving.
//! * The component sees no filesystem, no environment and no network.
//! * A spinning guest yields to the executor at every epoch tick, so other tasks on its
//!   thread go on; and calls beyond the bound on running instances wait for a slot.

use std::sync::Arc;
use std::time::{Duration, Instant};

use csi_common::actions::Action;
use serde_json::{Value, json};
use sim_cluster::Cluster as SimCluster;
use sim_cluster::apiserver::ApiServer;
use velero_plugin_for_csi::bindings::ActionError;
use velero_plugin_for_csi::imports::clock::SystemClock;
use velero_plugin_for_csi::imports::{Caller, HostServices};
use velero_plugin_for_csi::kubeapi::KubeApi;
use velero_plugin_for_csi::logging::Level;
use velero_plugin_for_csi::router::manifests;
use velero_plugin_for_csi::sandbox::{
    CallError, GuestEngine, GuestLimits, GuestRuntime, LimitExceeded,
};

#[path = "support/captured_logs.rs"]
mod captured_logs;
#[path = "support/held_cluster.rs"]
mod held_cluster;
#[path = "support/hostile.rs"]
mod hostile;
#[path = "support/sim_kube.rs"]
mod sim_kube;

use captured_logs::CapturedLogs;

const ACTION: &str = "velero.io/csi-volumesnapshot-delete";

/// The action the hostile component registers, with its grants.
fn caller() -> Caller {
    manifests::caller(Action::VolumeSnapshotDelete)
}

async fn hostile_runtime(cluster: Arc<SimCluster>) -> (GuestRuntime, Arc<CapturedLogs>, ApiServer) {
    hostile_runtime_within(cluster, GuestLimits::DEFAULT).await
}

async fn hostile_runtime_within(
    cluster: Arc<SimCluster>,
    limits: GuestLimits,
) -> (GuestRuntime, Arc<CapturedLogs>, ApiServer) {
    hostile_runtime_in(cluster, GuestEngine::new(limits).unwrap()).await
}

async fn hostile_runtime_in(
    cluster: Arc<SimCluster>,
    engine: GuestEngine,
) -> (GuestRuntime, Arc<CapturedLogs>, ApiServer) {
    let server = ApiServer::start(cluster).await.unwrap();
    let logs = Arc::new(CapturedLogs::default());
    let services = HostServices {
        cluster: Arc::new(KubeApi::with_client(
            sim_kube::client(&server).await.unwrap(),
        )),
        logger: logs.clone(),
        clock: Arc::new(SystemClock),
        server: velero_plugin_for_csi::bindings::velero::csi::server::ServerSettings::none(),
    };
    let component = engine.compile(hostile::component()).unwrap();
    let runtime = GuestRuntime::new(&engine, component, services)
        .await
        .expect("the hostile component loads");
    (runtime, logs, server)
}

/// The JSON report the hostile component fails with.
fn report(result: Result<(), CallError>) -> Value {
    match result {
        Err(CallError::Action(ActionError::Failed(report))) => {
            serde_json::from_str(&report).expect("the report is JSON")
        }
        other => panic!("expected the component's report, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn calls_beyond_the_manifest_are_forbidden_and_never_reach_the_server() {
    let cluster = Arc::new(SimCluster::new());
    let (runtime, logs, _server) = hostile_runtime(cluster.clone()).await;
    let item = json!({"attack": "overreach"}).to_string();
    let report = report(runtime.execute_delete(caller(), &item, "{}").await);

    for denied in [
        "list-secrets-everywhere",
        "get-snapshot",
        "delete-content",
        "patch-content-in-a-namespace",
        "create-pod",
        "delete-namespace",
    ] {
        assert!(
            report[denied].get("forbidden").is_some(),
            "{denied} was not forbidden: {report}"
        );
    }
    // The one call inside the manifest went through (the snapshot does not exist).
    assert!(
        report["delete-snapshot"].get("not-found").is_some(),
        "{report}"
    );
    let calls = cluster.calls();
    assert_eq!(
        calls.len(),
        1,
        "only the granted call reached the server: {calls:?}"
    );
    assert_eq!(calls[0].verb, sim_cluster::Verb::Delete);
    assert_eq!(calls[0].resource, "volumesnapshots.snapshot.storage.k8s.io");

    let warnings = logs
        .messages_at(Level::Warn)
        .iter()
        .filter(|message| message.contains(ACTION))
        .count();
    assert_eq!(warnings, 6, "one warning per refused call");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trap_is_a_clean_error_and_the_runtime_keeps_serving() {
    let (runtime, _, _server) = hostile_runtime(Arc::new(SimCluster::new())).await;
    let trap = json!({"attack": "trap"}).to_string();
    match runtime.execute_delete(caller(), &trap, "{}").await {
        Err(CallError::Trap(_)) => {}
        other => panic!("expected a trap, got {other:?}"),
    }
    let again = json!({"attack": "sandbox"}).to_string();
    report(runtime.execute_delete(caller(), &again, "{}").await);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_component_has_no_filesystem_environment_or_network() {
    let (runtime, _, _server) = hostile_runtime(Arc::new(SimCluster::new())).await;
    let item = json!({"attack": "sandbox"}).to_string();
    let report = report(runtime.execute_delete(caller(), &item, "{}").await);
    assert_eq!(
        report,
        json!({"file": "refused", "environment-variables": 0, "network": "refused"})
    );
}

/// Tight limits, so that the attacks are stopped quickly.
const TIGHT: GuestLimits = GuestLimits {
    deadline: Duration::from_millis(300),
    memory_bytes: 64 << 20,
};

#[tokio::test(flavor = "multi_thread")]
async fn an_endless_loop_is_stopped_at_its_deadline_and_the_runtime_keeps_serving() {
    let (runtime, _, _server) = hostile_runtime_within(Arc::new(SimCluster::new()), TIGHT).await;
    let spin = json!({"attack": "spin"}).to_string();
    let started = Instant::now();
    match runtime.execute_delete(caller(), &spin, "{}").await {
        Err(CallError::Limit(LimitExceeded::Deadline(deadline))) => {
            assert_eq!(deadline, TIGHT.deadline)
        }
        other => panic!("expected the deadline, got {other:?}"),
    }
    let took = started.elapsed();
    assert!(
        took >= TIGHT.deadline && took < TIGHT.deadline * 10,
        "stopped after {took:?}"
    );
    let again = json!({"attack": "sandbox"}).to_string();
    report(runtime.execute_delete(caller(), &again, "{}").await);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_memory_bomb_is_stopped_at_the_limit_and_the_runtime_keeps_serving() {
    let (runtime, _, _server) = hostile_runtime_within(Arc::new(SimCluster::new()), TIGHT).await;
    let bomb = json!({"attack": "memory-bomb"}).to_string();
    match runtime.execute_delete(caller(), &bomb, "{}").await {
        Err(CallError::Limit(LimitExceeded::Memory { desired, limit })) => {
            assert_eq!(limit, TIGHT.memory_bytes);
            assert!(desired > limit);
        }
        other => panic!("expected the memory limit, got {other:?}"),
    }
    let again = json!({"attack": "sandbox"}).to_string();
    report(runtime.execute_delete(caller(), &again, "{}").await);
}

#[tokio::test(flavor = "multi_thread")]
async fn time_spent_in_host_calls_does_not_count_against_the_deadline() {
    // The granted delete is held for twice the whole deadline; the call still completes.
    let cluster = Arc::new(held_cluster::HeldCluster::new());
    let engine = GuestEngine::new(TIGHT).unwrap();
    let services = HostServices {
        cluster: cluster.clone(),
        logger: Arc::new(CapturedLogs::default()),
        clock: Arc::new(SystemClock),
        server: velero_plugin_for_csi::bindings::velero::csi::server::ServerSettings::none(),
    };
    let component = engine.compile(hostile::component()).unwrap();
    let runtime = GuestRuntime::new(&engine, component, services)
        .await
        .unwrap();
    let releaser = tokio::spawn(async move {
        cluster.entered(1).await;
        tokio::time::sleep(TIGHT.deadline * 2).await;
        cluster.release();
    });
    let stall = json!({"attack": "stall"}).to_string();
    let report = report(runtime.execute_delete(caller(), &stall, "{}").await);
    assert_eq!(report, json!({"hostile": "done", "delete": "ok"}));
    releaser.await.unwrap();
}

/// The call stopped at its deadline.
fn stopped_at_the_deadline(result: Result<(), CallError>) {
    match result {
        Err(CallError::Limit(LimitExceeded::Deadline(deadline))) => {
            assert_eq!(deadline, TIGHT.deadline)
        }
        other => panic!("expected the deadline, got {other:?}"),
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_spinning_guest_yields_so_other_tasks_on_its_thread_are_answered() {
    let (runtime, _, _server) = hostile_runtime_within(Arc::new(SimCluster::new()), TIGHT).await;
    // Another task on the only thread, as a Health check would be: without yielding, it could
    // run only after the spinning call has been stopped.
    let other = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(20)).await;
        Instant::now()
    });
    let spin = json!({"attack": "spin"}).to_string();
    stopped_at_the_deadline(runtime.execute_delete(caller(), &spin, "{}").await);
    let stopped = Instant::now();
    let answered = other.await.unwrap();
    assert!(
        answered < stopped,
        "the other task was answered only after the spinning guest was stopped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_the_instance_bound_a_call_waits_for_the_running_one() {
    // One slot; the first call parks inside a held host call, so it keeps its instance (and
    // the slot) for as long as the test holds the delete.
    let cluster = Arc::new(held_cluster::HeldCluster::new());
    let engine = GuestEngine::with_max_instances(TIGHT, 1).unwrap();
    let services = HostServices {
        cluster: cluster.clone(),
        logger: Arc::new(CapturedLogs::default()),
        clock: Arc::new(SystemClock),
        server: velero_plugin_for_csi::bindings::velero::csi::server::ServerSettings::none(),
    };
    let component = engine.compile(hostile::component()).unwrap();
    let runtime = Arc::new(
        GuestRuntime::new(&engine, component, services)
            .await
            .unwrap(),
    );
    let stall = json!({"attack": "stall"}).to_string();
    let call = |runtime: Arc<GuestRuntime>, item: String| {
        tokio::spawn(async move { runtime.execute_delete(caller(), &item, "{}").await })
    };
    let first = call(runtime.clone(), stall.clone());
    cluster.entered(1).await;
    let second = call(runtime.clone(), stall);
    // While the first holds the only slot, the second never reaches the guest (it would
    // arrive at the held delete as the second caller).
    let reached = tokio::time::timeout(TIGHT.deadline, cluster.entered(2)).await;
    assert!(
        reached.is_err() && !second.is_finished(),
        "the second call ran while the first held the only slot"
    );
    cluster.release();
    for done in [first, second] {
        let report = report(done.await.unwrap());
        assert_eq!(report, json!({"hostile": "done", "delete": "ok"}));
    }
}
