//! `velero.io/csi-volumesnapshotcontent-delete` (spec §2.10).
