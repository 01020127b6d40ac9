"""One build step on top of pyproject.toml: bundle the checkout's run-time folders.

The repository keeps ``themes/`` and ``translations/`` at its top. A wheel carries them inside
the package, as ``portal/bundled/themes`` and ``portal/bundled/translations``, where
``portal.resources.bundled_folder`` finds them. Every catalog the wheel ships (the portal's
and each bundled plugin's) is compiled to ``.mo`` here, so a wheel built from a clean
checkout or from the sdist alone has its compiled catalogs. Editable installs skip all this:
they read the checkout's folders.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
# Top-level folder of the checkout -> folder inside the built ``portal`` package.
BUNDLED = {"themes": "bundled/themes", "translations": "bundled/translations"}


def compile_catalogs(root: Path) -> list[Path]:
    """Compile every ``<locale>/LC_MESSAGES/*.po`` below ``root`` next to itself."""
    compiled = []
    for po_path in sorted(root.glob("**/LC_MESSAGES/*.po")):
        locale = po_path.parent.parent.name
        with po_path.open("rb") as po:
            catalog = read_po(po, locale=locale)
        with po_path.with_suffix(".mo").open("wb") as mo:
            # Fuzzy entries stay out, as with `pybabel compile`.
            write_mo(mo, catalog, use_fuzzy=False)
        compiled.append(po_path)
    return compiled


class BuildWithBundledFiles(build_py):
    """``build_py`` that also copies the bundled folders and compiles the catalogs."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        package = Path(self.build_lib) / "portal"
        for source, target in BUNDLED.items():
            destination = package / target
            if destination.exists():
                shutil.rmtree(destination)
            shutil.copytree(
                HERE / source,
                destination,
                ignore=shutil.ignore_patterns("*.mo", "__pycache__", "*.pyc"),
            )
        # The portal's catalogs and those that package data put beside each bundled plugin.
        roots = [package / "bundled" / "translations"]
        roots += sorted(Path(self.build_lib).glob("*/translations"))
        for root in roots:
            for po_path in compile_catalogs(root):
                self.announce(f"compiled {po_path.relative_to(self.build_lib)}", logging.INFO)


setup(cmdclass={"build_py": BuildWithBundledFiles})
