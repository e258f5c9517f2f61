//! Code generated from `proto/` by the build script. Generated code is not held to the
//! workspace's style lints.

/// Velero's shared messages, PluginLister and DeleteItemAction (package `generated`).
#[allow(unused_qualifications)]
pub mod generated {
    tonic::include_proto!("generated");
}

/// Velero's BackupItemAction v2 and RestoreItemAction v2 (package `v2`).
#[allow(unused_qualifications)]
pub mod v2 {
    tonic::include_proto!("v2");
}

/// go-plugin's controller, broker and stdio services (package `plugin`).
#[allow(unused_qualifications)]
pub mod plugin {
    tonic::include_proto!("plugin");
}
