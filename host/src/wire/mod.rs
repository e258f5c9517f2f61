//! The wire: what Velero talks to. go-plugin's handshake, socket and infrastructure
//! services ([`goplugin`]); Velero's plugin services and their message conversion
//! ([`velero`]), which hand every call to the router.

pub mod goplugin;
pub mod velero;
