//! The registered (kind, name) pairs, as listed by the component and checked by the host.

use std::fmt;

use crate::wasm::bindings::{ActionInfo, ActionKind};

/// A Velero plugin kind this binary serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    BackupItemActionV2,
    RestoreItemActionV2,
    DeleteItemAction,
}

impl Kind {
    /// The kind string of `ListPlugins`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::BackupItemActionV2 => "BackupItemActionV2",
            Kind::RestoreItemActionV2 => "RestoreItemActionV2",
            Kind::DeleteItemAction => "DeleteItemAction",
        }
    }

    fn description(self) -> &'static str {
        match self {
            Kind::BackupItemActionV2 => "backup item action (v2)",
            Kind::RestoreItemActionV2 => "restore item action (v2)",
            Kind::DeleteItemAction => "delete item action",
        }
    }
}

impl From<ActionKind> for Kind {
    fn from(kind: ActionKind) -> Self {
        match kind {
            ActionKind::BackupItemActionV2 => Kind::BackupItemActionV2,
            ActionKind::RestoreItemActionV2 => Kind::RestoreItemActionV2,
            ActionKind::DeleteItemAction => Kind::DeleteItemAction,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a call's plugin name is refused, or a listing is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    #[error("{kind} plugin: {name} was not found or has an invalid name format")]
    NotFound { kind: Kind, name: String },
    #[error("{name} is not a {}", .expected.description())]
    WrongKind { name: String, expected: Kind },
    #[error("the component lists an invalid plugin name {0:?}")]
    InvalidName(String),
    #[error("the component lists {kind} {name} twice")]
    Duplicate { kind: Kind, name: String },
}

/// The actions of the component, in the order Velero's Go framework lists them: by kind
/// (BackupItemActionV2, RestoreItemActionV2, DeleteItemAction), then by name.
#[derive(Debug, Clone)]
pub struct Catalog {
    entries: Vec<(Kind, String)>,
}

impl Catalog {
    /// Checks and orders a component's listing: every name must pass Velero's name rule
    /// and no (kind, name) pair may repeat, or Velero would refuse to start.
    pub fn new(actions: &[ActionInfo]) -> Result<Self, CatalogError> {
        let mut entries = Vec::with_capacity(actions.len());
        for action in actions {
            if !valid_name(&action.name) {
                return Err(CatalogError::InvalidName(action.name.clone()));
            }
            entries.push((Kind::from(action.kind), action.name.clone()));
        }
        entries.sort();
        if let Some(pair) = entries.windows(2).find(|pair| pair[0] == pair[1]) {
            let (kind, name) = pair[0].clone();
            return Err(CatalogError::Duplicate { kind, name });
        }
        Ok(Self { entries })
    }

    /// Every (kind, name) pair, in listing order.
    pub fn entries(&self) -> &[(Kind, String)] {
        &self.entries
    }

    /// Checks that `name` is registered under `kind`.
    pub fn check(&self, name: &str, kind: Kind) -> Result<(), CatalogError> {
        if self.entries.iter().any(|(k, n)| *k == kind && n == name) {
            Ok(())
        } else if self.entries.iter().any(|(_, n)| n == name) {
            Err(CatalogError::WrongKind {
                name: name.to_owned(),
                expected: kind,
            })
        } else {
            Err(CatalogError::NotFound {
                kind,
                name: name.to_owned(),
            })
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wasm::bindings::ResourceSelector;

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

    #[test]
    fn entries_are_ordered_like_the_go_framework() {
        let catalog = Catalog::new(&[
            info("velero.io/b", ActionKind::DeleteItemAction),
            info("velero.io/z", ActionKind::RestoreItemActionV2),
            info("velero.io/y", ActionKind::BackupItemActionV2),
            info("velero.io/a", ActionKind::RestoreItemActionV2),
        ])
        .unwrap();
        let names: Vec<_> = catalog
            .entries()
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        assert_eq!(
            names,
            [
                "BackupItemActionV2 velero.io/y",
                "RestoreItemActionV2 velero.io/a",
                "RestoreItemActionV2 velero.io/z",
                "DeleteItemAction velero.io/b"
            ]
        );
    }

    #[test]
    fn checks_name_and_kind() {
        let catalog = Catalog::new(&[info("velero.io/x", ActionKind::BackupItemActionV2)]).unwrap();
        assert!(
            catalog
                .check("velero.io/x", Kind::BackupItemActionV2)
                .is_ok()
        );
        assert_eq!(
            catalog
                .check("velero.io/x", Kind::DeleteItemAction)
                .unwrap_err()
                .to_string(),
            "velero.io/x is not a delete item action"
        );
        assert_eq!(
            catalog
                .check("velero.io/nope", Kind::RestoreItemActionV2)
                .unwrap_err()
                .to_string(),
            "RestoreItemActionV2 plugin: velero.io/nope was not found or has an invalid name format"
        );
    }

    #[test]
    fn invalid_or_duplicate_listings_are_refused() {
        for bad in [
            "csi",
            "velero.io/a/b",
            "/a",
            "velero.io/",
            "Velero.io/a",
            "-v.io/a",
            "v_io/a",
        ] {
            assert!(
                matches!(
                    Catalog::new(&[info(bad, ActionKind::BackupItemActionV2)]),
                    Err(CatalogError::InvalidName(_))
                ),
                "{bad}"
            );
        }
        let twice = [
            info("velero.io/a", ActionKind::BackupItemActionV2),
            info("velero.io/a", ActionKind::BackupItemActionV2),
        ];
        assert!(matches!(
            Catalog::new(&twice),
            Err(CatalogError::Duplicate { .. })
        ));
        let across_kinds = [
            info("velero.io/a", ActionKind::BackupItemActionV2),
            info("velero.io/a", ActionKind::DeleteItemAction),
        ];
        assert!(Catalog::new(&across_kinds).is_ok());
    }
}
