"""The management REST API under ``/api``: the local database, peers, jobs and the system."""

from __future__ import annotations

from fastapi import APIRouter

from vesalius.web.api import database, jobs, peers, system

router = APIRouter()
router.include_router(database.router)
router.include_router(jobs.router)
router.include_router(peers.router)
router.include_router(system.router)
