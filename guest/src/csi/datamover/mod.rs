//! The data mover's objects: DataUploads created at backup ([`upload`]), DataDownloads
//! created at restore ([`download`]), and the progress both report ([behaviour §3.11.7](../../../../docs/behaviour.md#3117-progress-of-a-data-mover-operation)).

pub mod download;
pub mod upload;

use serde_json::Value;

use crate::bindings::exports::velero::csi::actions::OperationProgress;
use crate::model::json::{i64_at, str_at};
use crate::model::time::parse_rfc3339;

/// Progress that reports nothing yet.
pub fn no_progress() -> OperationProgress {
    OperationProgress {
        completed: false,
        err: String::new(),
        n_completed: 0,
        n_total: 0,
        operation_units: String::new(),
        description: String::new(),
        started: None,
        updated: None,
    }
}

/// The progress a DataUpload or DataDownload reports; `kind` names it in the cancel error
/// (`DataUpload is canceled`).
pub fn progress_of(object: &Value, kind: &str) -> OperationProgress {
    let phase = str_at(object, &["status", "phase"]).unwrap_or_default();
    if phase.is_empty() || phase == "New" {
        return no_progress();
    }
    let time = |field: &str| str_at(object, &["status", field]).and_then(|t| parse_rfc3339(t).ok());
    let (completed, err) = match phase {
        "Completed" => (true, String::new()),
        "Failed" => (
            true,
            str_at(object, &["status", "message"])
                .unwrap_or_default()
                .to_owned(),
        ),
        "Canceled" => (true, format!("{kind} is canceled")),
        _ => (false, String::new()),
    };
    OperationProgress {
        completed,
        err,
        n_completed: i64_at(object, &["status", "progress", "bytesDone"]).unwrap_or_default(),
        n_total: i64_at(object, &["status", "progress", "totalBytes"]).unwrap_or_default(),
        operation_units: "Bytes".to_owned(),
        description: phase.to_owned(),
        started: time("startTimestamp"),
        updated: time("completionTimestamp"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// [scenarios §5.2](../../../../docs/scenarios.md#52-pvc-backup-progress-and-cancel), scenarios 30 to 34.
    #[test]
    fn phases_map_to_progress() {
        for phase in [json!(null), json!(""), json!("New")] {
            let p = progress_of(&json!({"status": {"phase": phase}}), "DataUpload");
            assert_eq!(p, no_progress());
        }
        let running = progress_of(
            &json!({"status": {"phase": "InProgress", "progress": {"bytesDone": 500, "totalBytes": 1000}, "startTimestamp": "2024-05-01T09:30:00Z"}}),
            "DataUpload",
        );
        assert!(!running.completed);
        assert_eq!(
            (
                running.n_completed,
                running.n_total,
                running.operation_units.as_str()
            ),
            (500, 1000, "Bytes")
        );
        assert_eq!(running.description, "InProgress");
        assert_eq!(running.started.unwrap().seconds, 1_714_555_800);
        assert!(running.updated.is_none());

        let done = progress_of(
            &json!({"status": {"phase": "Completed", "completionTimestamp": "2024-05-01T10:00:00Z"}}),
            "DataUpload",
        );
        assert!(done.completed && done.err.is_empty() && done.updated.is_some());
        let failed = progress_of(
            &json!({"status": {"phase": "Failed", "message": "Testing error"}}),
            "DataUpload",
        );
        assert_eq!(
            (failed.completed, failed.err.as_str()),
            (true, "Testing error")
        );
        let canceled = progress_of(&json!({"status": {"phase": "Canceled"}}), "DataDownload");
        assert_eq!(canceled.err, "DataDownload is canceled");
        assert!(!progress_of(&json!({"status": {"phase": "Canceling"}}), "DataUpload").completed);
    }
}
