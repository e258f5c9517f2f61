//! Conversions between the component's types and Velero's protobuf messages.

use crate::bindings::{Datetime, OperationProgress, ResourceIdentifier, ResourceSelector};
use crate::proto::generated;

/// Go's zero time (0001-01-01T00:00:00Z), which Velero reads as "unknown". An unset
/// timestamp would read as 1970-01-01 instead.
const GO_ZERO_TIME: prost_types::Timestamp = prost_types::Timestamp {
    seconds: -62_135_596_800,
    nanos: 0,
};

/// A selector, always set explicitly (an unset one would match everything).
pub fn selector(selector: ResourceSelector) -> generated::ResourceSelector {
    generated::ResourceSelector {
        included_namespaces: selector.included_namespaces,
        excluded_namespaces: selector.excluded_namespaces,
        included_resources: selector.included_resources,
        excluded_resources: selector.excluded_resources,
        selector: selector.label_selector,
    }
}

/// Identifiers returned by an action.
pub fn to_proto_ids(ids: Vec<ResourceIdentifier>) -> Vec<generated::ResourceIdentifier> {
    ids.into_iter()
        .map(|id| generated::ResourceIdentifier {
            group: id.group,
            resource: id.resource,
            namespace: id.namespace,
            name: id.name,
        })
        .collect()
}

/// Identifiers sent by Velero.
pub fn from_proto_ids(ids: Vec<generated::ResourceIdentifier>) -> Vec<ResourceIdentifier> {
    ids.into_iter()
        .map(|id| ResourceIdentifier {
            group: id.group,
            resource: id.resource,
            namespace: id.namespace,
            name: id.name,
        })
        .collect()
}

/// An operation's progress; unknown times become Go's zero time.
pub fn progress(progress: OperationProgress) -> generated::OperationProgress {
    let time = |t: Option<Datetime>| match t {
        Some(t) => prost_types::Timestamp {
            seconds: t.seconds,
            nanos: i32::try_from(t.nanos).unwrap_or(0),
        },
        None => GO_ZERO_TIME,
    };
    generated::OperationProgress {
        completed: progress.completed,
        err: progress.err,
        n_completed: progress.n_completed,
        n_total: progress.n_total,
        operation_units: progress.operation_units,
        description: progress.description,
        started: Some(time(progress.started)),
        updated: Some(time(progress.updated)),
    }
}

/// A wait limit in milliseconds.
pub fn duration(millis: u64) -> prost_types::Duration {
    prost_types::Duration {
        seconds: i64::try_from(millis / 1000).unwrap_or(i64::MAX),
        nanos: i32::try_from((millis % 1000) * 1_000_000).unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty_progress() -> OperationProgress {
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

    #[test]
    fn unknown_times_are_go_zero_time() {
        let p = progress(empty_progress());
        assert_eq!(p.started.unwrap().seconds, -62_135_596_800);
        assert_eq!(p.updated.unwrap().seconds, -62_135_596_800);
    }

    #[test]
    fn known_times_are_kept() {
        let at = Datetime {
            seconds: 1_714_555_800,
            nanos: 5,
            utc_offset_seconds: 0,
        };
        let p = progress(OperationProgress {
            started: Some(at),
            ..empty_progress()
        });
        assert_eq!(
            p.started.unwrap(),
            prost_types::Timestamp {
                seconds: 1_714_555_800,
                nanos: 5
            }
        );
    }

    #[test]
    fn durations_split_into_seconds_and_nanos() {
        assert_eq!(
            duration(1_500),
            prost_types::Duration {
                seconds: 1,
                nanos: 500_000_000
            }
        );
    }
}
