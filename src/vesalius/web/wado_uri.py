"""WADO-URI (PS3.18 chapter 9) at ``/wado``."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
