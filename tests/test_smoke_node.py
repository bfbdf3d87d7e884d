"""A node answers C-ECHO from DCMTK's echoscu."""

from conftest import run_dcmtk
from vesalius.app import Node


def test_echoscu_gets_success(node: Node) -> None:
    result = run_dcmtk("echoscu", "-aec", "VESALIUS", "127.0.0.1", str(node.dicom_port))
    assert result.returncode == 0, result.stderr
