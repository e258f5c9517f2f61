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

use crate::bindings::exports::velero::csi::actions::BackupOutput;
use crate::model::item::Item;

/// A backup action's answer with the item alone: no additional items and no operation. Unless
/// the action edited it, the item goes back byte for byte as it came.
pub fn item_only(item: Item) -> BackupOutput {
    BackupOutput {
        item: item.into_json(),
        additional_items: Vec::new(),
        operation_id: String::new(),
        post_operation_items: Vec::new(),
    }
}
