//! `velero.io/csi-volumesnapshot-restorer` (spec §2.6).
