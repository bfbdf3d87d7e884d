"""The DICOMweb router: QIDO-RS, WADO-RS and STOW-RS together."""

from __future__ import annotations

from fastapi import APIRouter

from vesalius.web.dicomweb import qido, stow, wado

router = APIRouter()
router.include_router(qido.router)
router.include_router(wado.router)
router.include_router(stow.router)
