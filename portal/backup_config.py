"""Take the configuration file out of a backup, on a machine that has lost its own.

    python -m portal.backup_config BACKUP --private-key FILE --out instance/candor.toml

Runs without a configuration (which ``flask --app wsgi`` needs): it only decrypts the backup with
the offline private key, verifies all of it, and writes the configuration file it carries
(owner-only, never over an existing file). Then restore as usual with ``candor restore``
(docs/operations.md, "Backup and restore").
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from portal.backup import BackupError, extract_configuration, read_private_key


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m portal.backup_config",
        description="Write the configuration file a Candor backup carries.",
    )
    parser.add_argument("backup", type=Path, help="the backup file")
    parser.add_argument(
        "--private-key", required=True, type=Path, help="the backup private key file"
    )
    parser.add_argument("--out", required=True, type=Path, help="where to write the file")
    args = parser.parse_args(argv)
    try:
        extract_configuration(args.backup, read_private_key(args.private_key), args.out)
    except BackupError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    print(f"Configuration written to {args.out} (readable by its owner only).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
