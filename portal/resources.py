"""Where the files that ship beside the code live: in an installed package or the checkout.

The repository keeps ``themes/`` and ``translations/`` at its top; the build (``setup.py``)
copies them into the package as ``portal/bundled/<name>``. An installed wheel finds them
there, a checkout (and an editable install of it) at its top.
"""

from __future__ import annotations

from pathlib import Path

from portal import PROJECT_ROOT

PACKAGE = Path(__file__).resolve().parent


def bundled_folder(name: str) -> Path:
    """Return the folder ``name`` (``"themes"``, ``"translations"``) of the bundled files."""
    installed = PACKAGE / "bundled" / name
    return installed if installed.is_dir() else PROJECT_ROOT / name
