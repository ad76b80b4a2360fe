"""The store's Lua scripts, one ``.lua`` file each in ``store/scripts/``."""

from __future__ import annotations

from importlib import resources


def script(name: str) -> str:
    return (resources.files("store") / "scripts" / f"{name}.lua").read_text()
