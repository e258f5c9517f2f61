use super::*;

fn claim(value: Value) -> Item {
    Item::parse("item", &value.to_string()).unwrap()
}

fn out(claim: Item) -> Value {
    serde_json::from_str(&claim.into_json()).unwrap()
}

fn sized(requests: Option<Value>, restore_size: &str) -> (bool, Value) {
    let mut spec = json!({"accessModes": ["ReadWriteOnce"]});
    if let Some(requests) = requests {
        spec["resources"] = json!({"requests": requests});
    }
    let mut pvc =
        claim(json!({"kind": "PersistentVolumeClaim", "metadata": {"name": "p"}, "spec": spec}));
    let changed = raise_storage_request(&mut pvc, restore_size, parse_nanos(restore_size).unwrap());
    (changed, out(pvc)["spec"]["resources"]["requests"].clone())
}

/// [scenarios §5.7](../../../../docs/scenarios.md#57-pvc-restore), scenario 75, and [behaviour §3.12.1](../../../../docs/behaviour.md#3121-storage-request-sizing): the comparison is numeric, not textual.
#[test]
fn sizes_compare_as_quantities() {
    assert_eq!(
        sized(Some(json!({"storage": "10Gi"})), "10737418240"),
        (false, json!({"storage": "10Gi"}))
    );
    assert_eq!(
        sized(Some(json!({"storage": "20Gi"})), "10Gi"),
        (false, json!({"storage": "20Gi"}))
    );
    assert_eq!(
        sized(Some(json!({"storage": "5Gi"})), "10Gi"),
        (true, json!({"storage": "10Gi"}))
    );
    assert_eq!(
        sized(Some(json!({"storage": "11G"})), "10Gi"),
        (false, json!({"storage": "11G"}))
    );
    assert_eq!(
        sized(Some(json!({"storage": 1024})), "1Ki"),
        (false, json!({"storage": 1024}))
    );
    assert_eq!(
        sized(Some(json!({"storage": "bogus"})), "1Gi"),
        (true, json!({"storage": "1Gi"}))
    );
}

#[test]
fn restore_size_reads_both_spellings() {
    let vs = |annotations: Value| json!({"metadata": {"annotations": annotations}});
    assert_eq!(restore_size_annotation(&vs(json!({}))), None);
    assert_eq!(
        restore_size_annotation(&vs(
            json!({"velero.io/vsi-volumesnapshot-restore-size": "1Gi"})
        )),
        Some("1Gi")
    );
    assert_eq!(
        restore_size_annotation(&vs(
            json!({"velero.io/csi-volumesnapshot-restore-size": "2Gi"})
        )),
        Some("2Gi")
    );
    assert_eq!(
        restore_size_annotation(&vs(json!({
            "velero.io/vsi-volumesnapshot-restore-size": "1Gi",
            "velero.io/csi-volumesnapshot-restore-size": "2Gi"
        }))),
        Some("1Gi")
    );
    assert_eq!(restore_size_annotation(&json!({})), None);
}

#[test]
fn clearing_the_volume_source_keeps_everything_else() {
    let mut pvc = claim(
        json!({"kind": "PersistentVolumeClaim", "metadata": {"name": "p"}, "spec": {
        "volumeName": "pv-1", "dataSource": {"kind": "VolumeSnapshot", "name": "x"},
        "dataSourceRef": {"kind": "VolumeSnapshot", "name": "x"}, "volumeAttributesClassName": "gold"}}),
    );
    clear_volume_source(&mut pvc);
    assert_eq!(
        out(pvc)["spec"],
        json!({"volumeName": "", "volumeAttributesClassName": "gold"})
    );
}

/// [scenarios §5.7](../../../../docs/scenarios.md#57-pvc-restore), scenarios 82, 83 and 87: the selector value.
#[test]
fn pins_the_claim_to_the_restored_volume() {
    let mut pvc = claim(
        json!({"kind": "PersistentVolumeClaim", "metadata": {"name": "data", "namespace": "app"},
        "spec": {"volumeName": "pv-1", "selector": {"matchExpressions": []}, "dataSource": {"kind": "VolumeSnapshot", "name": "x"}}}),
    );
    let value = pin_to_restored_volume(&mut pvc, "app2", "r/u");
    let suffix = value.strip_prefix("app2.data.").unwrap();
    assert_eq!(suffix.len(), 5);
    assert!(
        suffix.bytes().all(|c| NAME_ALPHABET.contains(&c)),
        "{suffix}"
    );
    let result = out(pvc);
    assert_eq!(result["spec"]["volumeName"], "");
    assert_eq!(
        result["spec"]["selector"]["matchLabels"]["velero.io/dynamic-pv-restore"],
        value.as_str()
    );
    assert_eq!(result["spec"]["selector"]["matchExpressions"], json!([]));
    assert_eq!(result["spec"]["dataSource"]["name"], "x");

    // Deterministic per seed, different across seeds.
    assert_eq!(random_suffix("r/u"), suffix);
    assert_ne!(random_suffix("r/u"), random_suffix("r/v"));

    // Long names are normalised to 63 characters (scenario 83).
    let namespace = "migre209d0da-49c7-45ba-8d5a-3e59fd591ec1";
    let mut long = claim(
        json!({"kind": "PersistentVolumeClaim", "metadata": {"name": "kibishii-data-kibishii-deployment-0", "namespace": namespace}}),
    );
    let value = pin_to_restored_volume(&mut long, namespace, "seed");
    assert_eq!(value.len(), 63);
    let prefix = normalize(&format!("{namespace}.kibishii-data-kibishii-deployment-0"));
    assert!(value.starts_with(&prefix[..56]), "{value}");
}
