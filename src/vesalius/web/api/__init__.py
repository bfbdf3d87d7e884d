"""The management REST API under ``/api``: the local database, peers, jobs and the system."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
