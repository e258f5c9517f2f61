//! DataDownloads and DataUploadResults: used by the PVC restore action in data-mover mode (spec §3.11.4 to §3.11.6).
