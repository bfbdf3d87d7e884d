"""Front door 1: DICOM upper layer and DIMSE services, through pynetdicom."""
