//! The route table: every registered action, the component or operator module that serves
//! it, and the grants it runs with; and the words Velero sees for a name it does not serve
//! under the kind called.

use std::collections::HashMap;
use std::sync::Arc;

use csi_common::actions::{Action, Kind};

use super::manifests;
use super::overrides::module::Module;
use crate::imports::Caller;
use crate::imports::capabilities::Grant;
use crate::sandbox::GuestRuntime;

/// Why a call's plugin name is refused, in the words of Velero's Go framework.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    #[error("{} plugin: {name} was not found or has an invalid name format", .kind.as_str())]
    NotFound { kind: Kind, name: String },
    #[error("{name} is not a {}", .expected.describe())]
    WrongKind { name: String, expected: Kind },
}

/// What runs one registered action: the component serving it now and its allow-list.
#[derive(Clone)]
pub struct Route {
    action: Action,
    grants: &'static [Grant],
    runtime: Arc<GuestRuntime>,
    module: Option<Arc<Module>>,
}

impl Route {
    /// The action routed to.
    pub fn action(&self) -> Action {
        self.action
    }

    /// What the action may ask of the Kubernetes API (its manifest).
    pub fn grants(&self) -> &'static [Grant] {
        self.grants
    }

    /// Who the call runs as: the action's name and its grants.
    pub fn caller(&self) -> Caller {
        Caller {
            action: self.action.name(),
            grants: self.grants,
        }
    }

    /// The component that serves the action: an operator module's, else the embedded one.
    pub fn runtime(&self) -> &Arc<GuestRuntime> {
        &self.runtime
    }

    /// The operator module serving the action, if one does.
    pub fn module(&self) -> Option<&Module> {
        self.module.as_deref()
    }
}

/// Every registered action's route, in listing order, as of one state of the operator
/// modules. A call keeps the table it started with.
pub struct RouteTable {
    routes: Vec<Route>,
}

impl RouteTable {
    /// The routes of `registered`: each served by its operator module in `overrides`, else
    /// by `embedded`.
    pub fn new(
        registered: &[Action],
        embedded: &Arc<GuestRuntime>,
        overrides: &HashMap<Action, Arc<Module>>,
    ) -> Self {
        let routes = registered
            .iter()
            .map(|&action| {
                let module = overrides.get(&action).cloned();
                Route {
                    action,
                    grants: manifests::grants(action),
                    runtime: module
                        .as_ref()
                        .map_or_else(|| embedded.clone(), |m| m.runtime.clone()),
                    module,
                }
            })
            .collect();
        Self { routes }
    }

    /// Every route, in the order Velero's Go framework lists plugins.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// The route of `action`, if it is registered.
    pub fn get(&self, action: Action) -> Option<&Route> {
        self.routes.iter().find(|route| route.action == action)
    }

    /// The route of the plugin `name` called as a `kind`.
    pub fn route(&self, name: &str, kind: Kind) -> Result<&Route, RouteError> {
        let registered = self.routes.iter().find(|r| r.action.name() == name);
        match registered {
            Some(route) if route.action.kind() == kind => Ok(route),
            Some(_) => Err(RouteError::WrongKind {
                name: name.to_owned(),
                expected: kind,
            }),
            None => Err(RouteError::NotFound {
                kind,
                name: name.to_owned(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_name_and_kind_in_velero_words() {
        let table = RouteTable { routes: Vec::new() };
        let not_found = table
            .route("velero.io/nope", Kind::RestoreItemActionV2)
            .err()
            .unwrap();
        assert_eq!(
            not_found.to_string(),
            "RestoreItemActionV2 plugin: velero.io/nope was not found or has an invalid name format"
        );
        let wrong = RouteError::WrongKind {
            name: "velero.io/x".into(),
            expected: Kind::DeleteItemAction,
        };
        assert_eq!(wrong.to_string(), "velero.io/x is not a delete item action");
    }
}
