"""Blob stores: where the bytes of each instance live. Only the archive core uses them."""

from vesalius.storage.base import BlobStore, StoredBlob, blob_name_for

__all__ = ["BlobStore", "StoredBlob", "blob_name_for"]
