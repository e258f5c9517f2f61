//! The ten v0.7.1 CSI actions and the five modern ones ([`modern`]), one file each. Each file holds one action type implementing one of
//! the traits of [`crate::registry`], which lists them under their registered names; an
//! action's unit tests, where they outweigh its code, live beside it in `<action>/tests.rs`.

pub mod modern;
pub mod pvc_backup;
pub mod pvc_restore;
pub mod volumesnapshot_backup;
pub mod volumesnapshot_delete;
pub mod volumesnapshot_restore;
pub mod volumesnapshotclass_backup;
pub mod volumesnapshotclass_restore;
pub mod volumesnapshotcontent_backup;
pub mod volumesnapshotcontent_delete;
pub mod volumesnapshotcontent_restore;
