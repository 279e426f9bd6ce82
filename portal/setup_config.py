"""Write a local configuration with fresh secrets, once: `python -m portal.setup_config PATH`."""

from __future__ import annotations

import re
import secrets
import sys
from pathlib import Path

from portal import PROJECT_ROOT


def write_local_config(target: Path) -> bool:
    """Create ``target`` from config.example.toml with new secrets; never overwrite.

    Returns whether the file was written.
    """
    if target.exists():
        return False
    text = (PROJECT_ROOT / "config.example.toml").read_text(encoding="utf-8")
    replacements = {
        "secret_key": secrets.token_urlsafe(48),
        "receipt_pepper": secrets.token_hex(32),
        "url": f"sqlite:///{(target.parent / 'candor.sqlite3').resolve()}",
    }
    for key, value in replacements.items():
        text, count = re.subn(rf'(?m)^{key} = ".*"$', f'{key} = "{value}"', text, count=1)
        if count != 1:
            raise SystemExit(f"config.example.toml has no line for {key}")
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    target.write_text(text, encoding="utf-8")
    target.chmod(0o600)
    return True


def main() -> None:
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "instance/candor.toml")
    if write_local_config(target):
        print(f"Wrote {target} with new secrets.")


if __name__ == "__main__":
    main()
