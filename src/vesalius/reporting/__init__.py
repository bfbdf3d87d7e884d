"""Structured reports: create Basic Text, Enhanced and Comprehensive (TID 1500) SR
and Key Object Selection documents in a stored study, and render any SR or KOS
as a readable document (text, HTML, JSON)."""
