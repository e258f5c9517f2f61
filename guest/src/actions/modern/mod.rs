//! The modern actions (`velero-csi-wasm.io/*`, [behaviour §8](../../../../docs/behaviour.md#8-modern-mode)), one file each: they serve Velero
//! v1.14+ beside core's CSI actions (volumes routed by a `custom` volume policy) or instead
//! of them (`EnableCSI` off), keeping the storage snapshot's identity in the backed-up claim
//! instead of VolumeSnapshot objects.

pub mod pv_backup;
pub mod pv_restore;
pub mod pvc_backup;
pub mod pvc_delete;
pub mod pvc_restore;
