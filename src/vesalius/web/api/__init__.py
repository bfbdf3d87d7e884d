"""The management REST API under ``/api``: the local database, downloads, peers, jobs,
the system, the worklist, users with their sessions, and the audit trail."""

from __future__ import annotations

from fastapi import APIRouter

from vesalius.web.api import (
    anonymize,
    audit,
    conformance,
    database,
    downloads,
    export,
    jobs,
    peers,
    printing,
    reports,
    system,
    users,
    worklist,
)

router = APIRouter()
router.include_router(anonymize.router)
router.include_router(audit.router)
router.include_router(conformance.router)
router.include_router(database.router)
router.include_router(downloads.router)
router.include_router(export.router)
router.include_router(jobs.router)
router.include_router(peers.router)
router.include_router(printing.router)
router.include_router(reports.router)
router.include_router(system.router)
router.include_router(users.router)
router.include_router(worklist.router)
