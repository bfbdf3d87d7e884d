"""The ``vesalius`` command line: thin verbs over the archive and the SCUs."""
