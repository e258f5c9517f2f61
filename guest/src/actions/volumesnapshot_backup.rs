//! `velero.io/csi-volumesnapshot-backupper` (spec §2.2).
