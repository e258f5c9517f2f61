//! Code generated from `proto/` by the build script.

/// Velero's shared messages, PluginLister and DeleteItemAction (package `generated`).
pub mod generated {
    tonic::include_proto!("generated");
}

/// Velero's BackupItemAction v2 and RestoreItemAction v2 (package `v2`).
pub mod v2 {
    tonic::include_proto!("v2");
}

/// go-plugin's controller, broker and stdio services (package `plugin`).
pub mod plugin {
    tonic::include_proto!("plugin");
}
