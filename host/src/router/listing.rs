//! Which registered actions a component lists: every name one the host registers (and so
//! has a capability manifest for), under its registered kind, once; listed in the order of
//! Velero's Go framework.

use csi_common::actions::{Action, Kind};

use crate::bindings::{ActionInfo, ActionKind};

impl From<ActionKind> for Kind {
    fn from(kind: ActionKind) -> Self {
        match kind {
            ActionKind::BackupItemActionV2 => Kind::BackupItemActionV2,
            ActionKind::RestoreItemActionV2 => Kind::RestoreItemActionV2,
            ActionKind::DeleteItemAction => Kind::DeleteItemAction,
        }
    }
}

/// Why a component's listing cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListingError {
    #[error("it lists no actions")]
    Empty,
    #[error("it lists {name:?}, which is not an action this host has a capability manifest for")]
    Unregistered { name: String },
    #[error("it lists {name} as a {}, but the host registers it as a {}", .listed.as_str(), .registered.as_str())]
    WrongKind {
        name: String,
        listed: Kind,
        registered: Kind,
    },
    #[error("it lists {0} more than once")]
    Duplicate(&'static str),
}

/// The registered actions a component lists, in the order Velero's Go framework lists
/// them (by kind, then by name): each must be an action the host has a manifest for,
/// under its registered kind, and listed once.
pub fn registered(listing: &[ActionInfo]) -> Result<Vec<Action>, ListingError> {
    if listing.is_empty() {
        return Err(ListingError::Empty);
    }
    let mut actions = Vec::with_capacity(listing.len());
    for info in listing {
        let action = Action::from_name(&info.name).ok_or_else(|| ListingError::Unregistered {
            name: info.name.clone(),
        })?;
        let listed = Kind::from(info.kind);
        if listed != action.kind() {
            return Err(ListingError::WrongKind {
                name: info.name.clone(),
                listed,
                registered: action.kind(),
            });
        }
        if actions.contains(&action) {
            return Err(ListingError::Duplicate(action.name()));
        }
        actions.push(action);
    }
    actions.sort_by_key(|action| (action.kind() as u8, action.name()));
    Ok(actions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::ResourceSelector;

    fn info(name: &str, kind: ActionKind) -> ActionInfo {
        ActionInfo {
            name: name.to_owned(),
            kind,
            selector: ResourceSelector {
                included_namespaces: vec![],
                excluded_namespaces: vec![],
                included_resources: vec![],
                excluded_resources: vec![],
                label_selector: String::new(),
            },
        }
    }

    /// Velero's name rule: exactly one `/`, both parts non-empty, the first a DNS-1123
    /// subdomain.
    fn valid_name(name: &str) -> bool {
        let Some((domain, rest)) = name.split_once('/') else {
            return false;
        };
        let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
        !rest.is_empty()
            && !rest.contains('/')
            && !domain.is_empty()
            && domain.len() <= 253
            && domain.chars().all(|c| alnum(c) || c == '-' || c == '.')
            && domain.starts_with(alnum)
            && domain.ends_with(alnum)
    }

    #[test]
    fn registered_names_pass_velero_name_rule() {
        assert!(Action::ALL.iter().all(|a| valid_name(a.name())));
    }

    #[test]
    fn entries_are_ordered_like_the_go_framework() {
        let actions = registered(&[
            info(
                Action::VolumeSnapshotDelete.name(),
                ActionKind::DeleteItemAction,
            ),
            info(
                Action::VolumeSnapshotRestore.name(),
                ActionKind::RestoreItemActionV2,
            ),
            info(Action::PvcBackup.name(), ActionKind::BackupItemActionV2),
            info(Action::PvcRestore.name(), ActionKind::RestoreItemActionV2),
        ])
        .unwrap();
        let names: Vec<_> = actions
            .iter()
            .map(|a| format!("{} {}", a.kind().as_str(), a.name()))
            .collect();
        assert_eq!(
            names,
            [
                "BackupItemActionV2 velero.io/csi-pvc-backupper",
                "RestoreItemActionV2 velero.io/csi-pvc-restorer",
                "RestoreItemActionV2 velero.io/csi-volumesnapshot-restorer",
                "DeleteItemAction velero.io/csi-volumesnapshot-delete"
            ]
        );
        let all: Vec<_> = Action::ALL
            .iter()
            .map(|a| info(a.name(), kind_of(*a)))
            .rev()
            .collect();
        let mut sorted = Action::ALL.to_vec();
        sorted.sort_by_key(|a| (a.kind() as u8, a.name()));
        assert_eq!(registered(&all).unwrap(), sorted);
    }

    fn kind_of(action: Action) -> ActionKind {
        match action.kind() {
            Kind::BackupItemActionV2 => ActionKind::BackupItemActionV2,
            Kind::RestoreItemActionV2 => ActionKind::RestoreItemActionV2,
            Kind::DeleteItemAction => ActionKind::DeleteItemAction,
        }
    }

    #[test]
    fn invalid_unregistered_or_duplicate_listings_are_refused() {
        for bad in [
            "csi",
            "velero.io/a/b",
            "/a",
            "velero.io/",
            "Velero.io/a",
            "-v.io/a",
            "v_io/a",
            "velero.io/csi-everything",
        ] {
            assert!(
                matches!(
                    registered(&[info(bad, ActionKind::BackupItemActionV2)]),
                    Err(ListingError::Unregistered { .. })
                ),
                "{bad}"
            );
        }
        let name = Action::PvcBackup.name();
        let twice = [
            info(name, ActionKind::BackupItemActionV2),
            info(name, ActionKind::BackupItemActionV2),
        ];
        assert_eq!(registered(&twice), Err(ListingError::Duplicate(name)));
        let under_another_kind = [info(name, ActionKind::DeleteItemAction)];
        assert!(matches!(
            registered(&under_another_kind),
            Err(ListingError::WrongKind { .. })
        ));
        assert_eq!(registered(&[]), Err(ListingError::Empty));
    }
}
