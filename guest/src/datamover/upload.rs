//! DataUploads: created by the PVC backup action in data-mover mode (spec §3.11.1 to §3.11.3).
