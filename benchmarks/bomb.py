"""Benchmark: how fast, and in how little memory, `pbp validate` refuses a decompression bomb.

The files are the worst the hostile tests build (tests/test_hostile_cli.py, write_bomb):

- "bomb": an issued quarterly return whose Return sheet is 300 MiB of spaces, deflated
  to about 300 KB. The identity sheet is fine, so the reader gets as far as the bomb.
- "liar": the same file with the sheet's declared size patched down to 1,000 bytes in
  both zip headers, so no check of the zip directory can catch it: only the streaming
  inflate budget does.
- "liar, 49 MiB": the same, declared as 49 MiB: under the 50 MB part limit and the 200:1
  ratio, so the reader really inflates and parses 49 MiB before the sizes disagree. The
  most work any of these files can cause.
- "ratio": the return with a 40 MiB Return sheet: under the 50 MB part limit, so it is
  really inflated until the 200:1 ratio budget stops it (the most inflating of the four).
- "plain": a minimal workbook whose only sheet is the 300 MiB bomb, honest sizes.

Each is validated several times in this process (pbp_workbooks.intake.validation.validate_paths,
peak memory by tracemalloc) and as `python -m pbp_workbooks validate --json` (peak RSS of
that child: RUSAGE_CHILDREN ru_maxrss, read in a small launcher process). Targets: refused in < 2 s and
< 200 MB. Baselines measured in the same run: the same calls on a normal issued return,
and `python -c pass` (interpreter start-up).

    python benchmarks/bomb.py [RUNS]
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path

from pbp_workbooks.base.workspace import Workspace
from pbp_workbooks.cli.main import main
from pbp_workbooks.intake.validation import Checked, limits_from, validate_paths
from pbp_workbooks.ledger.store import Ledger

TARGET_S = 2.0
TARGET_MB = 200.0
MIB = 300
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


# --------------------------------------------------------------------------- the files


def return_bomb(good: Path, path: Path, mib: int = MIB) -> Path:
    """`good` with its Return sheet replaced by `mib` MiB of spaces (default deflate: ~1 KB per MiB)."""
    with zipfile.ZipFile(good) as zf:
        parts = {i.filename: zf.read(i) for i in zf.infolist()}
        book, rels = zf.read("xl/workbook.xml").decode(), zf.read("xl/_rels/workbook.xml.rels").decode()
    rid = re.search(r'<sheet name="Return" sheetId="\d+" r:id="(rId\d+)"', book)
    assert rid is not None
    target = re.search(rf'Id="{rid.group(1)}" Type="[^"]+" Target="([^"]+)"', rels)
    assert target is not None
    _write(path, parts, f"xl/{target.group(1)}", mib)
    return path


def plain_bomb(good: Path, path: Path, mib: int = MIB) -> Path:
    """A minimal one-sheet workbook whose sheet is the bomb."""
    r_ns = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    rels_ns = "http://schemas.openxmlformats.org/package/2006/relationships"
    parts = {
        "[Content_Types].xml": (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>'),
        "_rels/.rels": (f'<Relationships xmlns="{rels_ns}"><Relationship Id="rId1" '
                        f'Type="{r_ns}/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
        "xl/workbook.xml": (f'<workbook xmlns="{MAIN_NS}" xmlns:r="{r_ns}"><sheets>'
                            '<sheet name="Return" sheetId="1" r:id="rId1"/></sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": (f'<Relationships xmlns="{rels_ns}"><Relationship Id="rId1" '
                                       f'Type="{r_ns}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'),
    }
    _write(path, {k: v.encode() for k, v in parts.items()}, "xl/worksheets/sheet1.xml", mib)
    return path


def _write(path: Path, parts: dict[str, bytes], bomb_part: str, mib: int) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in parts.items():
            if name != bomb_part:
                zf.writestr(name, content)
        with zf.open(bomb_part, "w") as fh:
            fh.write(f'<worksheet xmlns="{MAIN_NS}"><sheetData>'.encode())
            block = b" " * 2**20
            for _ in range(mib):
                fh.write(block)
            fh.write(b"</sheetData></worksheet>")


def liar(src: Path, path: Path, declared: int = 1000) -> Path:
    """`src` with the declared size of its largest part patched down in both zip headers."""
    with zipfile.ZipFile(src) as zf:
        member = max(zf.infolist(), key=lambda i: i.file_size).filename.encode()
    data = bytearray(src.read_bytes())
    for sig, name_len_at, size_at, header_len in ((b"PK\x03\x04", 26, 22, 30), (b"PK\x01\x02", 28, 24, 46)):
        i = data.find(sig)
        while i >= 0:
            n = int.from_bytes(data[i + name_len_at: i + name_len_at + 2], "little")
            if bytes(data[i + header_len: i + header_len + n]) == member:
                data[i + size_at: i + size_at + 4] = declared.to_bytes(4, "little")
            i = data.find(sig, i + 4)
    path.write_bytes(bytes(data))
    return path


# --------------------------------------------------------------------------- measuring


def in_process(ws: Workspace, path: Path) -> Callable[[], Checked]:
    def run() -> Checked:
        with Ledger(ws.ledger_path) as ledger:
            (checked,) = validate_paths([(path, path.name)], ledger=ledger, params=ws.config.thresholds.params(),
                                        limits=limits_from(ws.config))
        return checked
    return run


def measure_in_process(fn: Callable[[], Checked], runs: int) -> tuple[float, float, str]:
    fn()  # warm-up: imports, caches
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        checked = fn()
        times.append(time.perf_counter() - t)
    peaks = []
    for _ in range(max(1, runs // 2)):
        tracemalloc.start()
        try:
            checked = fn()
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    codes = ",".join(sorted({f.code for f in checked.report.findings})) or "-"
    return statistics.median(times), max(peaks) / 2**20, f"{checked.report.status} {codes}"


# A child's ru_maxrss also counts the memory image it was forked from (Linux keeps the
# high-water mark across exec), and this process holds pandas after the in-process runs.
# So each command is started by a small launcher, and the launcher reports the child's
# wall time and RUSAGE_CHILDREN peak RSS.
LAUNCHER = """
import resource, subprocess, sys, time
t = time.perf_counter()
subprocess.run(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def measure_child(argv: list[str], cwd: Path, runs: int) -> tuple[float, float]:
    """Median wall time and the largest peak RSS (MB) of `argv` run as a child process."""
    times, rss = [], []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", LAUNCHER, *argv], cwd=cwd, capture_output=True, text=True,
                             check=True).stdout.split()
        times.append(float(out[0]))
        rss.append(_rss_mb(int(out[1])))
    return statistics.median(times), max(rss)


def _rss_mb(maxrss: int) -> float:
    return maxrss / 2**20 if sys.platform == "darwin" else maxrss / 2**10  # bytes on macOS, KiB elsewhere


def main_bench(runs: int) -> int:
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with contextlib.redirect_stdout(io.StringIO()):
            assert main(["init", str(root / "ws"), "--password", "bench"]) == 0
            ws = Workspace((root / "ws").resolve())
            os.chdir(ws.root)
            assert main(["generate", "quarterly", "--year", "2025-26", "--quarter", "2"]) == 0
        good = sorted((ws.root / "outbox" / "2025-26 Q2").glob("*.xlsx"))[0]
        t = time.perf_counter()
        bomb = return_bomb(good, root / "bomb.xlsx")
        built = time.perf_counter() - t
        files = {"bomb": bomb, "liar": liar(bomb, root / "liar.xlsx"),
                 "liar, 49 MiB": liar(bomb, root / "liar49.xlsx", 49 * 2**20),
                 "ratio": return_bomb(good, root / "r.xlsx", 40),
                 "plain": plain_bomb(good, root / "plain.xlsx"), "normal return (baseline)": good}
        print(f"bomb: a {MIB} MiB Return sheet of spaces in a {bomb.stat().st_size / 1000:.0f} KB file "
              f"(built in {built:.1f} s); {runs} runs each\n")
        cli = [sys.executable, "-m", "pbp_workbooks", "validate", "--json"]
        start_s, start_mb = measure_child([sys.executable, "-c", "pass"], ws.root, runs)
        print(f"{'file':<26} {'in-process':>10} {'tracemalloc':>11} {'subprocess':>10} {'peak RSS':>9}  outcome")
        results = {}
        for name, path in files.items():
            t_in, mb_in, outcome = measure_in_process(in_process(ws, path), runs)
            t_sub, mb_sub = measure_child([*cli, str(path)], ws.root, runs)
            results[name] = (t_in, mb_in, t_sub, mb_sub)
            print(f"{name:<26} {t_in:>9.3f}s {mb_in:>9.1f}MB {t_sub:>9.3f}s {mb_sub:>7.1f}MB  {outcome}")
            if "baseline" not in name:
                ok &= t_in < TARGET_S and t_sub < TARGET_S and mb_in < TARGET_MB and mb_sub < TARGET_MB
                ok &= outcome.startswith("unreadable")
        print(f"{'python -c pass (baseline)':<26} {'':>10} {'':>11} {start_s:>9.3f}s {start_mb:>7.1f}MB")
        print("\n(peak RSS: RUSAGE_CHILDREN of a small launcher; in-process memory: tracemalloc peak)")
        n = results.pop("normal return (baseline)")
        worst = max(results, key=lambda k: results[k][2])
        b = results[worst]
        print(f"slowest to refuse ({worst}) vs a normal return: in-process {b[0] / n[0]:.2f}x time, "
              f"{b[1] / n[1]:.2f}x memory; subprocess {b[2] / n[2]:.2f}x time, {b[3] / n[3]:.2f}x RSS")
        print(f"slowest to refuse ({worst}) vs python start-up: {b[2] / start_s:.1f}x time, {b[3] / start_mb:.1f}x RSS")
        print(f"targets: refused in < {TARGET_S:.0f} s and < {TARGET_MB:.0f} MB: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main_bench(int(sys.argv[1]) if len(sys.argv) > 1 else 5))
