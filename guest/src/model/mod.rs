//! The data the actions read and write: the [`item::Item`] JSON edited in place, Velero's
//! Backup and Restore ([`velero`]), JSON field access ([`json`]), quantities
//! ([`quantity`]), label values ([`labels`]), times ([`time`]), the Kubernetes API as the
//! actions see it ([`kube`]) and the actions' errors ([`error`]).

pub mod error;
pub mod item;
pub mod json;
pub mod kube;
pub mod labels;
pub mod quantity;
pub mod time;
pub mod velero;
