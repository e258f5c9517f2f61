//! `velero-plugin-for-csi demo`: the main job end to end on the embedded simulated cluster.
//!
//! The simulated cluster (with its CSI snapshot controller and provisioner, on real time) is
//! served over HTTP as a Kubernetes API server; the plugin binary is spawned as Velero spawns
//! it, with a kubeconfig pointing there, and driven over the real gRPC protocol:
//! back up a namespace with a CSI claim, poll the async operations until the snapshot is
//! ready, run the finalize pass, delete the namespace, restore it (the claim is provisioned
//! from the snapshot), and delete the backup (the snapshot goes).
//!
//! The story is that of the v0.7.1 actions (VolumeSnapshots in the cluster), so the demo
//! pins the v0.7.1 name set for the processes it starts (`VELERO_CSI_NAMES=v0.7.1`),
//! whatever the default set, and says so.

mod report;
mod seed;
mod stand_in;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use sim_cluster::apiserver::ApiServer;
use sim_cluster::velero_core::reset_for_restore;
use sim_cluster::{Cluster, Gvr, SnapshotPlan};

use self::report::Report;
use self::seed::{BACKUP, BACKUP_UID, CLAIM, NAMESPACE, RESTORE, RESTORE_UID};
use self::stand_in::{Core, DemoError, backup_object, describe, item_of, restore_object};
use crate::proto::generated::ResourceIdentifier;

/// How long the demo waits for the simulated controllers before it gives up.
const PATIENCE: Duration = Duration::from_secs(60);
/// How often the async operations are polled (Velero: every 10 s).
const POLL: Duration = Duration::from_millis(250);

/// The action that backs up items of a resource.
fn backup_action(resource: &str) -> Option<&'static str> {
    Some(match resource {
        "persistentvolumeclaims" => "velero.io/csi-pvc-backupper",
        "volumesnapshots" => "velero.io/csi-volumesnapshot-backupper",
        "volumesnapshotcontents" => "velero.io/csi-volumesnapshotcontent-backupper",
        "volumesnapshotclasses" => "velero.io/csi-volumesnapshotclass-backupper",
        _ => return None,
    })
}

fn gvr(resource: &str) -> Gvr {
    sim_cluster::gvr_of_resource(resource).expect("the simulation knows the CSI resources")
}

/// What became of an object that was to be deleted.
fn fate(present: bool) -> &'static str {
    if present { "still present" } else { "deleted" }
}

fn str_at<'a>(object: &'a Value, pointer: &str) -> &'a str {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// One asynchronous operation an action started.
struct Operation {
    action: &'static str,
    id: String,
    done: bool,
}

/// Runs the demo with `program` as the plugin binary; prints the story to stdout.
pub async fn run(program: PathBuf) -> Result<(), DemoError> {
    let started = Instant::now();
    let mut report = Report::new();
    report
        .note("Velero CSI plugin demo: the plugin binary, spawned as Velero spawns it, against an");
    report
        .note("embedded Kubernetes API with a simulated CSI snapshot controller and provisioner.");

    report.step("Seed the cluster");
    let cluster = Arc::new(Cluster::real_time());
    cluster.set_snapshot_plan(SnapshotPlan {
        bind_after: Duration::from_millis(300),
        handle_after: Duration::from_millis(800),
        ready_after: Duration::from_millis(2500),
        content_error: None,
        never_bind: false,
        provision_after: Duration::from_millis(700),
    });
    cluster.seed(seed::objects());
    let server = ApiServer::start(cluster.clone()).await?;
    let dir = std::env::temp_dir().join(format!("velero-csi-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(&kubeconfig, server.kubeconfig())?;
    report.ok(&format!("Kubernetes API served at {}", server.url()));
    report.ok(&format!(
        "namespace {NAMESPACE}: PersistentVolumeClaim {CLAIM} (1Gi, storage class csi-hostpath-sc, driver {})",
        seed::DRIVER
    ));
    report.ok("VolumeSnapshotClass csi-hostpath-snapclass (label velero.io/csi-volumesnapshot-class, policy Delete)");

    let mut core = Core::new(cluster.clone(), program, kubeconfig);
    let result = story(&mut core, &mut report).await;
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    result?;
    report.blank();
    report.note(&format!(
        "Demo complete in {:.1} s.",
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

async fn story(core: &mut Core, report: &mut Report) -> Result<(), DemoError> {
    let snapshot = back_up(core, report).await?;
    finalize(core, report, &snapshot).await?;

    report.step(&format!("Delete namespace {NAMESPACE}"));
    core.cluster.delete(&gvr("namespaces"), None, NAMESPACE)?;
    let claims = core.cluster.objects(&gvr("persistentvolumeclaims"));
    report.ok(&format!(
        "namespace deleted; claims left in it: {}",
        claims
            .iter()
            .filter(|c| str_at(c, "/metadata/namespace") == NAMESPACE)
            .count()
    ));

    restore(core, report, &snapshot).await?;
    delete_backup(core, report, &snapshot).await
}

/// Backs up the claim and every additional item the actions return; returns the name of the
/// VolumeSnapshot.
async fn back_up(core: &mut Core, report: &mut Report) -> Result<String, DemoError> {
    report.step(&format!("Back up namespace {NAMESPACE} (backup {BACKUP})"));
    let backup = backup_object(BACKUP, BACKUP_UID, NAMESPACE, "InProgress");
    let session = core.start_plugin().await?;
    let names = session.list().await?;
    report.ok(&format!(
        "plugin process started (cold start {:.1} ms); it serves {} actions \
         (name set pinned by the demo: {}={})",
        session.process.handshake_latency().as_secs_f64() * 1e3,
        names.len(),
        csi_common::actions::NameSet::ENV,
        csi_common::actions::NameSet::V071.as_str()
    ));

    let mut queue = vec![ResourceIdentifier {
        group: String::new(),
        resource: "persistentvolumeclaims".into(),
        namespace: NAMESPACE.into(),
        name: CLAIM.into(),
    }];
    let mut seen = Vec::new();
    let mut operations = Vec::new();
    let mut snapshot = None;
    while !queue.is_empty() {
        let id = queue.remove(0);
        let key = describe(&id);
        if seen.contains(&key) {
            continue;
        }
        seen.push(key.clone());
        let item = core.fetch(&id)?;
        let Some(action) = backup_action(&id.resource) else {
            report.ok(&format!("{key} backed up as is"));
            core.keep(item);
            continue;
        };
        report.call(action, &format!("Execute({key})"));
        let out = session.backup(action, &item, &backup).await?;
        let returned = item_of(&out.item, action)?;
        if id.resource == "persistentvolumeclaims" {
            let created = str_at(
                &returned,
                "/metadata/annotations/velero.io~1volume-snapshot-name",
            );
            report.detail(&format!("created VolumeSnapshot {NAMESPACE}/{created}"));
            snapshot = Some(created.to_owned());
        }
        if id.resource == "volumesnapshots" {
            for key in [
                "velero.io/csi-volumesnapshot-handle",
                "velero.io/csi-driver-name",
                "velero.io/vsi-volumesnapshot-restore-size",
            ] {
                let pointer = format!("/metadata/annotations/{}", key.replace('/', "~1"));
                report.detail(&format!("{key}: {}", str_at(&returned, &pointer)));
            }
        }
        for additional in &out.additional_items {
            report.detail(&format!("additional item: {}", describe(additional)));
        }
        if !out.operation_id.is_empty() {
            report.detail(&format!("async operation: {}", out.operation_id));
            operations.push(Operation {
                action,
                id: out.operation_id.clone(),
                done: false,
            });
        }
        core.keep(returned);
        queue.extend(out.additional_items);
    }
    session.stop().await?;
    let snapshot =
        snapshot.ok_or_else(|| DemoError::Unexpected("no VolumeSnapshot was created".into()))?;
    await_operations(core, report, &backup, &mut operations).await?;
    Ok(snapshot)
}

/// Polls every operation's Progress, a fresh plugin process per round as Velero's periodic
/// reconciliation does, until all are complete.
async fn await_operations(
    core: &Core,
    report: &mut Report,
    backup: &Value,
    operations: &mut [Operation],
) -> Result<(), DemoError> {
    report.step("Wait for the snapshot: poll the async operations' Progress");
    let started = Instant::now();
    let mut rounds = 0;
    while operations.iter().any(|o| !o.done) {
        if started.elapsed() > PATIENCE {
            report.waited();
            return Err(DemoError::Unexpected(
                "the operations did not complete in time".into(),
            ));
        }
        rounds += 1;
        let session = core.start_plugin().await?;
        for operation in operations.iter_mut().filter(|o| !o.done) {
            let progress = session
                .progress(operation.action, &operation.id, backup)
                .await?;
            if !progress.err.is_empty() {
                report.waited();
                return Err(DemoError::Unexpected(format!(
                    "operation {} failed: {}",
                    operation.id, progress.err
                )));
            }
            operation.done = progress.completed;
        }
        session.stop().await?;
        let state = operations
            .iter()
            .map(|o| {
                let what = o.action.trim_start_matches("velero.io/csi-");
                format!("{what}: {}", if o.done { "ready" } else { "not ready" })
            })
            .collect::<Vec<_>>()
            .join(", ");
        report.waiting("polling Progress", started.elapsed(), &state);
        if operations.iter().any(|o| !o.done) {
            tokio::time::sleep(POLL).await;
        }
    }
    report.waited();
    report.ok(&format!(
        "{} operations complete after {rounds} polling rounds ({:.1} s, a fresh plugin process each round)",
        operations.len(),
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

/// The finalize pass: core fetches the post-operation items and runs their actions again.
async fn finalize(core: &mut Core, report: &mut Report, snapshot: &str) -> Result<(), DemoError> {
    report.step("Finalize the backup");
    let backup = backup_object(BACKUP, BACKUP_UID, NAMESPACE, "Finalizing");
    let vs = core
        .cluster
        .get(&gvr("volumesnapshots"), Some(NAMESPACE), snapshot)?;
    let content_name = str_at(&vs, "/status/boundVolumeSnapshotContentName").to_owned();
    let content = core
        .cluster
        .get(&gvr("volumesnapshotcontents"), None, &content_name)?;
    let session = core.start_plugin().await?;
    for (action, item, what) in [
        (
            "velero.io/csi-volumesnapshot-backupper",
            &vs,
            format!("VolumeSnapshot {NAMESPACE}/{snapshot}"),
        ),
        (
            "velero.io/csi-volumesnapshotcontent-backupper",
            &content,
            format!("VolumeSnapshotContent {content_name}"),
        ),
    ] {
        report.call(action, &format!("Execute({what}, phase Finalizing)"));
        let out = session.backup(action, item, &backup).await?;
        core.keep(item_of(&out.item, action)?);
    }
    session.stop().await?;
    let present = core
        .cluster
        .object(&gvr("volumesnapshots"), Some(NAMESPACE), snapshot)
        .is_some();
    report.ok(&format!(
        "VolumeSnapshot {NAMESPACE}/{snapshot} {}",
        fate(present)
    ));
    let content = core
        .cluster
        .get(&gvr("volumesnapshotcontents"), None, &content_name)?;
    report.ok(&format!(
        "VolumeSnapshotContent {content_name} re-created static: policy {}, source handle {}",
        str_at(&content, "/spec/deletionPolicy"),
        str_at(&content, "/spec/source/snapshotHandle"),
    ));
    Ok(())
}

/// Restores the backup's CSI objects and the claim, in Velero's resource order, and waits
/// for the claim to be provisioned from the snapshot.
async fn restore(core: &mut Core, report: &mut Report, snapshot: &str) -> Result<(), DemoError> {
    report.step(&format!(
        "Restore namespace {NAMESPACE} (restore {RESTORE})"
    ));
    let restore = restore_object(RESTORE, RESTORE_UID, BACKUP, NAMESPACE);
    core.create_restored(&serde_json::json!({
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}
    }))?;
    let vs = core
        .backed_up("VolumeSnapshot", NAMESPACE, snapshot)
        .cloned()
        .ok_or_else(|| DemoError::Unexpected("the backup holds no VolumeSnapshot".into()))?;
    let content_name = str_at(&vs, "/status/boundVolumeSnapshotContentName").to_owned();
    let class_name = str_at(&vs, "/spec/volumeSnapshotClassName").to_owned();
    let items = [
        (
            "velero.io/csi-volumesnapshotclass-restorer",
            "VolumeSnapshotClass",
            "",
            class_name.as_str(),
        ),
        (
            "velero.io/csi-volumesnapshotcontent-restorer",
            "VolumeSnapshotContent",
            "",
            content_name.as_str(),
        ),
        (
            "velero.io/csi-volumesnapshot-restorer",
            "VolumeSnapshot",
            NAMESPACE,
            snapshot,
        ),
        (
            "velero.io/csi-pvc-restorer",
            "PersistentVolumeClaim",
            NAMESPACE,
            CLAIM,
        ),
    ];
    let session = core.start_plugin().await?;
    for (action, kind, namespace, name) in items {
        let from_backup = core
            .backed_up(kind, namespace, name)
            .cloned()
            .ok_or_else(|| DemoError::Unexpected(format!("the backup holds no {kind} {name}")))?;
        let what = if namespace.is_empty() {
            format!("{kind} {name}")
        } else {
            format!("{kind} {namespace}/{name}")
        };
        report.call(action, &format!("Execute({what})"));
        let out = session
            .restore(
                action,
                &reset_for_restore(&from_backup),
                &from_backup,
                &restore,
            )
            .await?;
        if out.skip_restore {
            report.detail("skipped");
            continue;
        }
        let item = item_of(&out.item, action)?;
        if kind == "VolumeSnapshot" {
            report.detail(&format!(
                "bound to a new static VolumeSnapshotContent {}",
                str_at(&item, "/spec/source/volumeSnapshotContentName")
            ));
        }
        if kind == "PersistentVolumeClaim" {
            report.detail(&format!(
                "dataSource: {} {}",
                str_at(&item, "/spec/dataSource/kind"),
                str_at(&item, "/spec/dataSource/name")
            ));
        }
        let created = core.create_restored(&item)?;
        report.detail(if created {
            "created"
        } else {
            "already in the cluster: left as is"
        });
    }
    session.stop().await?;

    let started = Instant::now();
    let claim = loop {
        let claim = core
            .cluster
            .get(&gvr("persistentvolumeclaims"), Some(NAMESPACE), CLAIM)?;
        if str_at(&claim, "/status/phase") == "Bound" {
            break claim;
        }
        if started.elapsed() > PATIENCE {
            report.waited();
            return Err(DemoError::Unexpected(
                "the claim was never provisioned".into(),
            ));
        }
        report.waiting(
            "waiting for the provisioner",
            started.elapsed(),
            &format!("claim {NAMESPACE}/{CLAIM}: Pending"),
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    report.waited();
    let volume_name = str_at(&claim, "/spec/volumeName");
    let volume = core
        .cluster
        .get(&gvr("persistentvolumes"), None, volume_name)?;
    report.ok(&format!(
        "PersistentVolumeClaim {NAMESPACE}/{CLAIM} Bound to {volume_name}, provisioned from snapshot {}",
        str_at(
            &volume,
            "/metadata/annotations/sim.velero.io~1restored-from-snapshot"
        )
    ));
    Ok(())
}

/// Runs the delete actions on the backup's CSI objects, as `velero backup delete` does.
async fn delete_backup(
    core: &mut Core,
    report: &mut Report,
    snapshot: &str,
) -> Result<(), DemoError> {
    report.step(&format!("Delete backup {BACKUP}"));
    let backup = backup_object(BACKUP, BACKUP_UID, NAMESPACE, "Completed");
    let vs = core
        .backed_up("VolumeSnapshot", NAMESPACE, snapshot)
        .cloned()
        .ok_or_else(|| DemoError::Unexpected("the backup holds no VolumeSnapshot".into()))?;
    let content_name = str_at(&vs, "/status/boundVolumeSnapshotContentName").to_owned();
    let content = core
        .backed_up("VolumeSnapshotContent", "", &content_name)
        .cloned()
        .ok_or_else(|| DemoError::Unexpected("the backup holds no VolumeSnapshotContent".into()))?;
    let before = core.cluster.storage_snapshots();
    let session = core.start_plugin().await?;
    report.call(
        "velero.io/csi-volumesnapshot-delete",
        &format!("Execute(VolumeSnapshot {NAMESPACE}/{snapshot})"),
    );
    session
        .delete("velero.io/csi-volumesnapshot-delete", &vs, &backup)
        .await?;
    report.call(
        "velero.io/csi-volumesnapshotcontent-delete",
        &format!("Execute(VolumeSnapshotContent {content_name})"),
    );
    session
        .delete(
            "velero.io/csi-volumesnapshotcontent-delete",
            &content,
            &backup,
        )
        .await?;
    session.stop().await?;
    let present = |resource: &str, namespace: Option<&str>, name: &str| {
        core.cluster
            .object(&gvr(resource), namespace, name)
            .is_some()
    };
    report.ok(&format!(
        "VolumeSnapshotContent {content_name}: {}",
        fate(present("volumesnapshotcontents", None, &content_name))
    ));
    report.ok(&format!(
        "VolumeSnapshot {NAMESPACE}/{snapshot}: {} (v0.7.1 deletes by name, the restored copy too)",
        fate(present("volumesnapshots", Some(NAMESPACE), snapshot))
    ));
    let deleted = core.cluster.deleted_snapshots();
    for handle in before.iter().filter(|h| deleted.contains(h)) {
        report.ok(&format!(
            "storage snapshot {handle} deleted by the CSI driver"
        ));
    }
    if core.cluster.storage_snapshots().is_empty() {
        report.ok("no storage snapshot left");
    }
    report.ok(&format!(
        "the restored claim {NAMESPACE}/{CLAIM} keeps its volume: {}",
        if present("persistentvolumeclaims", Some(NAMESPACE), CLAIM) {
            "yes"
        } else {
            "no"
        }
    ));
    Ok(())
}
