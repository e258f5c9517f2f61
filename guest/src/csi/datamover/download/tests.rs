use std::sync::Arc;

use sim_cluster::{Cluster, Fault, SimError, Verb};

use super::*;
use crate::adapter::sim::SimImports;
use crate::fixtures;
use crate::model::kube::Kube;

const UID: &str = "rrrrrrrr-0000-0000-0000-000000000001";

/// The `R` fixture without an item operation timeout, with `extra` merged in.
fn restore(extra: Value) -> Restore {
    let reduced = json!({"spec": {"itemOperationTimeout": null}});
    fixtures::restore(fixtures::merged(reduced, extra))
}

fn result_config_map(name: &str, labels: Value, data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"namespace": "velero", "name": name, "labels": labels}, "data": data})
}

fn labels() -> Value {
    json!({"velero.io/pvc-namespace-name": "app.data", "velero.io/restore-uid": UID, "velero.io/resource-usage": "DataUpload"})
}

fn host() -> SimImports {
    SimImports::new(Arc::new(Cluster::new()))
}

/// [behaviour §3.11.4](../../../../../docs/behaviour.md#3114-datauploadresult): the selector's keys in v0.7.1's order, values normalised.
#[test]
fn selector_matches_v071() {
    assert_eq!(
        result_selector("velero", "testPVC", ""),
        "velero.io/pvc-namespace-name=velero.testPVC,velero.io/restore-uid=,velero.io/resource-usage=DataUpload"
    );
    assert_eq!(
        result_selector(
            "migre209d0da-49c7-45ba-8d5a-3e59fd591ec1",
            "kibishii-data-kibishii-deployment-0",
            "uid"
        ),
        "velero.io/pvc-namespace-name=migre209d0da-49c7-45ba-8d5a-3e59fd591ec1.kibishii-data-ki152333,velero.io/restore-uid=uid,velero.io/resource-usage=DataUpload"
    );
}

/// [scenarios §5.7](../../../../../docs/scenarios.md#57-pvc-restore), scenarios 81, 84 and 85.
#[test]
fn reads_the_data_upload_result() {
    let host = host();
    let restore = restore(json!({}));
    let error = data_upload_result(&host, &restore, "app", "data").unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "no DataUpload result cm found with labels velero.io/pvc-namespace-name=app.data,velero.io/restore-uid={UID},velero.io/resource-usage=DataUpload"
        )
    );
    let calls = host.cluster().calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].namespace.as_deref(), Some("velero"));
    assert_eq!(calls[0].resource, "configmaps");

    let payload = r#"{"backupStorageLocation":"bsl2","datamover":"velero","snapshotID":"s-1","sourceNamespace":"app","dataMoverResult":{"k":"v"}}"#;
    host.cluster().seed([
        result_config_map("cm-1", labels(), json!({UID: payload})),
        // Another claim, and the same claim in another restore: not selected.
        result_config_map("cm-2", json!({"velero.io/pvc-namespace-name": "app.other", "velero.io/restore-uid": UID, "velero.io/resource-usage": "DataUpload"}), json!({UID: "{}"})),
        result_config_map("cm-3", json!({"velero.io/pvc-namespace-name": "app.data", "velero.io/restore-uid": "other", "velero.io/resource-usage": "DataUpload"}), json!({"other": "{}"})),
    ]);
    let result = data_upload_result(&host, &restore, "app", "data").unwrap();
    assert_eq!(
        result,
        DataUploadResult {
            backup_storage_location: "bsl2".into(),
            datamover: "velero".into(),
            snapshot_id: "s-1".into(),
            source_namespace: "app".into(),
        }
    );

    // Two ConfigMaps for the same claim and restore.
    host.cluster()
        .seed([result_config_map("cm-4", labels(), json!({UID: "{}"}))]);
    let error = data_upload_result(&host, &restore, "app", "data").unwrap_err();
    assert!(error.to_string().starts_with("multiple DataUpload result cms found with labels velero.io/pvc-namespace-name=app.data,"), "{error}");
}

/// [scenarios §5.7](../../../../../docs/scenarios.md#57-pvc-restore), scenario 84: a missing key and a malformed value.
#[test]
fn missing_and_malformed_results() {
    let restore = restore(json!({}));
    for (data, expected) in [
        (
            json!({"other": "{}"}),
            format!("no DataUpload result found with restore key {UID}, restore r1"),
        ),
        (
            json!({UID: "not-json"}),
            format!("error to unmarshal DataUploadResult, restore UID {UID}, restore name r1"),
        ),
        (
            json!({UID: "[1]"}),
            format!("error to unmarshal DataUploadResult, restore UID {UID}, restore name r1"),
        ),
        (
            json!({UID: r#"{"snapshotID":5}"#}),
            format!("error to unmarshal DataUploadResult, restore UID {UID}, restore name r1"),
        ),
    ] {
        let host = host();
        host.cluster()
            .seed([result_config_map("cm", labels(), data)]);
        let error = data_upload_result(&host, &restore, "app", "data").unwrap_err();
        assert_eq!(error.to_string(), expected);
    }
    assert_eq!(parse_result("null"), Some(DataUploadResult::default()));
    assert_eq!(parse_result("{}"), Some(DataUploadResult::default()));
    assert_eq!(parse_result(r#"{"dataMoverResult":[1]}"#), None);
}

#[test]
fn listing_failures_are_wrapped() {
    let host = host();
    host.cluster().inject(Fault {
        verb: Verb::List,
        resource: "configmaps".into(),
        name: None,
        error: SimError::Forbidden("configmaps is forbidden".into()),
        times: None,
    });
    let error = data_upload_result(&host, &restore(json!({})), "app", "data").unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "error to get DataUpload result cm with labels velero.io/pvc-namespace-name=app.data,velero.io/restore-uid={UID},velero.io/resource-usage=DataUpload: configmaps is forbidden"
        )
    );
}

/// [scenarios §5.7](../../../../../docs/scenarios.md#57-pvc-restore), scenarios 82, 85 and 86: the DataDownload's fields.
#[test]
fn builds_the_data_download() {
    let backup = Backup::parse(r#"{"spec":{"csiSnapshotTimeout":"30m0s"}}"#).unwrap();
    let result = DataUploadResult {
        backup_storage_location: "bsl2".into(),
        datamover: "velero".into(),
        snapshot_id: "s-1".into(),
        source_namespace: "app".into(),
    };
    let dd = data_download(
        &restore(json!({})),
        &backup,
        &result,
        "data",
        "app2",
        "dd-op",
    );
    assert_eq!(
        dd,
        json!({
            "apiVersion": "velero.io/v2alpha1",
            "kind": "DataDownload",
            "metadata": {
                "namespace": "velero",
                "generateName": "r1-",
                "ownerReferences": [{"apiVersion": "velero.io/v1", "kind": "Restore", "name": "r1", "uid": UID, "controller": true}],
                "labels": {"velero.io/restore-name": "r1", "velero.io/restore-uid": UID, "velero.io/async-operation-id": "dd-op"}
            },
            "spec": {
                "targetVolume": {"pvc": "data", "pv": "", "namespace": "app2"},
                "backupStorageLocation": "bsl2",
                "datamover": "velero",
                "snapshotID": "s-1",
                "sourceNamespace": "app",
                "operationTimeout": "30m0s"
            }
        })
    );

    // No datamover: the field is omitted, as Go's `omitempty` does.
    let dd = data_download(
        &restore(json!({})),
        &backup,
        &DataUploadResult::default(),
        "data",
        "app",
        "op",
    );
    assert!(dd["spec"].get("datamover").is_none());

    // Sparse-file option (scenario 86).
    for (config, expected) in [
        (
            json!({"spec": {"uploaderConfig": {"writeSparseFiles": true}}}),
            Some("true"),
        ),
        (
            json!({"spec": {"uploaderConfig": {"writeSparseFiles": false}}}),
            Some("false"),
        ),
        (json!({"spec": {"uploaderConfig": {}}}), Some("false")),
        (json!({"spec": {"uploaderConfig": null}}), None),
        (json!({}), None),
    ] {
        let dd = data_download(
            &restore(config.clone()),
            &backup,
            &result,
            "data",
            "app",
            "op",
        );
        assert_eq!(
            dd["spec"]
                .get("dataMoverConfig")
                .map(|c| c["WriteSparseFiles"].as_str().unwrap()),
            expected,
            "{config}"
        );
    }
}

/// [scenarios §5.8](../../../../../docs/scenarios.md#58-pvc-restore-progress-and-cancel), scenarios 90 and 93.
#[test]
fn finds_and_cancels_data_downloads() {
    let host = host();
    assert_eq!(
        find_data_download(&host, "dd-1").unwrap_err().to_string(),
        "didn't find DataDownload"
    );
    let calls = host.cluster().calls();
    assert_eq!(calls[0].namespace, None, "v0.7.1 lists in all namespaces");
    assert_eq!(
        calls[0].selector.as_deref(),
        Some("velero.io/async-operation-id=dd-1")
    );

    let dd = |ns: &str, name: &str, op: &str| json!({"apiVersion": "velero.io/v2alpha1", "kind": "DataDownload", "metadata": {"namespace": ns, "name": name, "labels": {"velero.io/async-operation-id": op}}, "spec": {}});
    host.cluster().seed([
        dd("velero", "r1-abcde", "dd-1"),
        dd("velero", "r1-bcdfg", "dd-2"),
    ]);
    let found = find_data_download(&host, "dd-1").unwrap();
    assert_eq!(crate::model::json::name(&found), "r1-abcde");
    cancel_data_download(&host, &found).unwrap();
    let patched = host
        .get(&namespaced(
            resources::data_downloads(),
            "velero",
            "r1-abcde",
        ))
        .unwrap();
    assert_eq!(patched["spec"]["cancel"], true);

    host.cluster().seed([dd("other", "r2-abcde", "dd-1")]);
    assert_eq!(
        find_data_download(&host, "dd-1").unwrap_err().to_string(),
        "find multiple DataDownloads"
    );

    host.cluster().inject(Fault {
        verb: Verb::Patch,
        resource: "datadownloads".into(),
        name: None,
        error: SimError::Forbidden("datadownloads is forbidden".into()),
        times: None,
    });
    assert_eq!(
        cancel_data_download(&host, &found).unwrap_err().to_string(),
        "datadownloads is forbidden"
    );

    host.cluster().inject(Fault {
        verb: Verb::List,
        resource: "datadownloads".into(),
        name: None,
        error: SimError::Unavailable("etcd is down".into()),
        times: None,
    });
    assert_eq!(
        find_data_download(&host, "dd-1").unwrap_err().to_string(),
        "fail to list DataDownload: etcd is down"
    );
}

#[test]
fn create_failures_are_wrapped() {
    let host = host();
    host.cluster().inject(Fault {
        verb: Verb::Create,
        resource: "datadownloads".into(),
        name: None,
        error: SimError::Forbidden("no".into()),
        times: None,
    });
    let error = create_data_download(
        &host,
        "velero",
        &json!({"metadata": {"generateName": "r1-"}}),
    )
    .unwrap_err();
    assert_eq!(error.to_string(), "fail to create DataDownload: no");
}
