"""Uploaded files for the Files API: one interface, a directory or a database behind it.

store = DirectoryFileStore(database, data_dir / "files")   # SQLite, one machine
store = DatabaseFileStore(database)                         # PostgreSQL, replicas
await store.start()                                         # sweeps dead uploads
"""

from continuum.files.directory import DirectoryFileStore
from continuum.files.in_database import DatabaseFileStore
from continuum.files.objects import PURPOSES, FileDeleted, FileObject, FilePage
from continuum.files.store import FileStore

__all__ = [
    "PURPOSES",
    "DatabaseFileStore",
    "DirectoryFileStore",
    "FileDeleted",
    "FileObject",
    "FilePage",
    "FileStore",
]
