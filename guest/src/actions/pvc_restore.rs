//! `velero.io/csi-pvc-restorer` (spec §2.5).
