"""Runs every benchmark under bench/ (or the one named), each in its own process."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    names = sys.argv[1:] or sorted(
        p.stem for p in HERE.glob("*.py") if p.stem not in ("run", "__init__") and not p.stem.startswith("_")
    )
    failed = 0
    for name in names:
        script = HERE / f"{name}.py"
        if not script.exists():
            print(
                f"no benchmark named {name!r}; have: {', '.join(sorted(p.stem for p in HERE.glob('*.py')))}",
                file=sys.stderr,
            )
            return 2
        print(f"# bench {name}", flush=True)
        failed |= subprocess.call([sys.executable, str(script)], cwd=HERE.parent)
    return failed


if __name__ == "__main__":
    sys.exit(main())
