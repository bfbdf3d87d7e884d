"""Pure DICOM rules and data of the archive: no I/O, no network, no database."""
