//! `velero.io/csi-volumesnapshotcontent-restorer` (spec §2.7).
