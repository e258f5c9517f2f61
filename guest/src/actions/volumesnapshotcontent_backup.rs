//! `velero.io/csi-volumesnapshotcontent-backupper` (spec §2.3).
