//! `velero.io/csi-pvc-backupper` (spec §2.1).
