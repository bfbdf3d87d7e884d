"""The HTTP front door: DICOMweb, WADO-URI and the management API, over one ``Archive``."""
