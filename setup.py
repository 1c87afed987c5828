"""Build hook: the site-wide templates/ and the locale/ catalogues go into the wheel too.

They live beside the packages in the source tree (config/settings.py finds them there), not
inside one, so setuptools' package data cannot reach them. The wheel carries them as
config/site/templates and config/site/locale, where the settings look when the project runs
from an installed wheel (docker image, `pip install .`). Everything else is in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup  # type: ignore[import-untyped]
from setuptools.command.build_py import build_py  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parent
# Directories copied whole, and the files of them that are kept (templates and catalogues).
SITE_DIRS = {"templates": ("*.html", "*.txt"), "locale": ("*.po", "*.mo")}


class BuildPyWithSite(build_py):
    """setuptools' build_py, then templates/ and locale/ copied under config/site/."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return  # an editable install runs from the source tree, which has them already
        for name, patterns in SITE_DIRS.items():
            source = ROOT / name
            target = Path(self.build_lib) / "config" / "site" / name
            for pattern in patterns:
                for path in source.rglob(pattern):
                    destination = target / path.relative_to(source)
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, destination)


setup(cmdclass={"build_py": BuildPyWithSite})
