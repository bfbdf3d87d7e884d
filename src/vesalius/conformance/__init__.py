"""The DICOM Conformance Statement (PS3.2), generated from what the AE actually offers."""
