"""``python -m sdkgen [OUT]``: the merged document and both clients in OUT (default ``sdk/``), checked.

Exits non-zero when a generator prints a warning or a check fails."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sdkgen.document import merged_document
from sdkgen.generators import (
    ROOT,
    check_python,
    check_typescript,
    generate_python,
    generate_typescript,
    write_document,
)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m sdkgen", description=__doc__)
    parser.add_argument("out", nargs="?", type=Path, default=ROOT / "sdk")
    out: Path = parser.parse_args().out.resolve()
    document = write_document(merged_document(), out / "openapi.json")
    operations = sum(
        1 for item in __import__("json").loads(document.read_text())["paths"].values() for _ in item
    )
    print(f"{document}: {operations} operations")
    failed = False
    for name, generate, check in (
        ("python", generate_python, check_python),
        ("typescript", generate_typescript, check_typescript),
    ):
        generated = generate(document, out / name)
        print(f"{name}: {generated.output}, {len(generated.warnings)} warnings")
        if generated.warnings:
            print(generated.log, file=sys.stderr)
            failed = True
        check(out / name)
        print(f"{name}: type-checked")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
