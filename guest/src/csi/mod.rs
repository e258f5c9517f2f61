//! CSI domain helpers the actions share: finding a claim's volume ([`volumes`]) and
//! snapshot class ([`snapshot_class`]), file-system backup rules ([`fs_backup`]),
//! VolumeSnapshot waits and clean-up ([`snapshots`]), the finalize pass ([`finalize`]),
//! restoring a claim ([`restore_claim`]), referenced secrets ([`secrets`]) and the data
//! mover's objects ([`datamover`]); modern mode's decision ([`routing`]) and shared names and
//! objects ([`modern`]).

pub mod datamover;
pub mod finalize;
pub mod fs_backup;
pub mod modern;
pub mod restore_claim;
pub mod routing;
pub mod secrets;
pub mod snapshot_class;
pub mod snapshots;
pub mod volumes;
