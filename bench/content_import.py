"""Content import benchmark: `herald content import` of a generated CSV (default 200 000
rows, ~41 MB) into a fresh SQLite file, run as a child process so its wall time and peak
RSS (ru_maxrss of the child) are the CLI's own.

    uv run python bench/content_import.py              # 200 000 rows
    uv run python bench/content_import.py --rows 10000

Figures on a shared, loaded host are noisy: compare runs on the same machine.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def write_csv(path: Path, rows: int) -> None:
    """Rows of about 200 bytes: a caption, hashtags, tags, a link and a translation."""
    with path.open("w", encoding="utf-8") as out:
        out.write("id,caption,hashtags,tags,link,translation_de\n")
        filler = "lorem ipsum dolor sit amet " * 3
        for i in range(rows):
            out.write(
                f"item-{i},Caption {i} {filler},#herald #bench,spring launch,"
                f"https://example.com/p/{i},Beschriftung {i} {filler[:40]}\n"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "items.csv"
        write_csv(source, args.rows)
        size = source.stat().st_size
        env = os.environ | {
            "HERALD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/herald.db",
        }
        herald = [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())"]
        subprocess.run(
            [*herald, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True
        )
        started = time.perf_counter()
        done = subprocess.run(
            [*herald, "content", "import", str(source)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        elapsed = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print((done.stdout or done.stderr).strip()[:200])
    print(
        f"{args.rows} rows, {size / 1e6:.1f} MB: {elapsed:.1f} s, peak RSS {peak:.0f} MB "
        f"({peak / (size / 2**20):.1f}x the file), exit {done.returncode}"
    )
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
