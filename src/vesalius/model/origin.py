"""Where a request comes from: a DIMSE association, an HTTP client or the local CLI."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class Origin:
    """The caller of an archive operation, for logs, policy and the audit trail."""

    kind: Literal["dimse", "http", "cli"]
    calling_aet: str = ""
    called_aet: str = ""
    address: str = ""

    def __str__(self) -> str:
        if self.kind == "dimse":
            return f"{self.calling_aet}@{self.address}"
        if self.kind == "http":
            return f"http:{self.address}"
        return "cli"


LOCAL = Origin("cli")
