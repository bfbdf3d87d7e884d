"""DICOMweb (PS3.18): QIDO-RS, WADO-RS and STOW-RS under ``/dicomweb``."""
