//! `velero.io/csi-volumesnapshot-delete` (spec §2.9).
