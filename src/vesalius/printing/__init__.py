"""DICOM Basic Print Management as a virtual film printer, and its print jobs (PS3.4 H).

The DIMSE front door (``dimse/printing.py``) translates N-CREATE, N-SET,
N-ACTION, N-DELETE and N-GET requests into calls on these modules; nothing
here touches the network.

::

    formats.py   film sizes, Image Display Formats, densities, where each box lies on the film
    rules.py     the attributes of film session, film box and image box: defaults,
                 checks, and the status each problem is answered with
    session.py   the film session of one association: its film boxes and their images
    compose.py   a film box as a picture: PNG preview and PDF page
    jobs.py      print jobs on disk (``job.json``, ``job.pdf``, ``film-N.png``) and their states
"""
