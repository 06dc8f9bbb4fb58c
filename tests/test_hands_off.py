"""What `pbp validate` and `pbp ingest` may touch, checked on disk around real processes.

- The received file is only ever read: bytes, size, mode and mtime are the same afterwards.
- `pbp validate` writes nothing anywhere: not in the workspace (ledger included), not next
  to the file, not in the current folder, $HOME or the temporary folder.
- `pbp ingest` writes only inside the workspace, and there only under .pbp/ (ledger and
  archive) and the feedback folder; the input folder and its neighbours are untouched.

Every process runs with HOME and TMPDIR pointing at empty folders of the test, so a
write to either shows up. Snapshots compare every file's bytes, size, mode and mtime and
the set of entries; SQLite may create and remove its -wal/-shm companions while a command
reads the ledger, so folder mtimes are not compared, but no companion may be left behind.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from pathlib import Path

import pytest
from test_hostile_cli import clean_env, corpus_files, generate_q2, init_workspace, pbp, received, with_cell, write_bomb

pytestmark = pytest.mark.slow  # real subprocesses: run in CI and by the README command, not on every save

Snapshot = dict[str, tuple[object, ...]]


def snapshot(root: Path) -> Snapshot:
    """Every entry under root: kind, mode, and for files size, mtime and sha256."""
    out: Snapshot = {}
    if not root.exists():
        return out
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            p = Path(dirpath) / name
            st = p.lstat()
            rel = str(p.relative_to(root))
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", stat.S_IMODE(st.st_mode))
            elif stat.S_ISREG(st.st_mode):
                out[rel] = ("file", stat.S_IMODE(st.st_mode), st.st_size, st.st_mtime_ns,
                            hashlib.sha256(p.read_bytes()).hexdigest())
            else:
                out[rel] = ("other", stat.S_IFMT(st.st_mode))
    return out


def changes(before: Snapshot, after: Snapshot) -> dict[str, list[str]]:
    return {
        "added": sorted(set(after) - set(before)),
        "removed": sorted(set(before) - set(after)),
        "changed": sorted(k for k in set(before) & set(after) if before[k] != after[k]),
    }


NO_CHANGES: dict[str, list[str]] = {"added": [], "removed": [], "changed": []}


class Sandbox:
    """A workspace, an input folder, a neighbour folder, HOME and TMPDIR: all watched."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.ws = init_workspace(root / "ws")
        self.issued = generate_q2(self.ws)
        self.inbox = root / "inbox"
        self.neighbour = root / "neighbour"
        self.home = root / "home"
        self.tmp = root / "tmp"
        for d in (self.inbox, self.neighbour, self.home, self.tmp):
            d.mkdir()
        (self.neighbour / "other return.xlsx").write_bytes(self.issued[0].read_bytes())
        self.env = clean_env(HOME=str(self.home), TMPDIR=str(self.tmp), TEMP=str(self.tmp), TMP=str(self.tmp),
                             XDG_CACHE_HOME=str(self.home / ".cache"), XDG_CONFIG_HOME=str(self.home / ".config"))

    def watched(self) -> dict[str, Path]:
        return {"workspace": self.ws, "inbox": self.inbox, "neighbour": self.neighbour, "home": self.home,
                "tmp": self.tmp}

    def snap(self) -> dict[str, Snapshot]:
        return {k: snapshot(p) for k, p in self.watched().items()}


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    box = Sandbox(tmp_path)
    north, south = box.issued[2], box.issued[3]
    shutil.copyfile(north, box.inbox / "North as issued.xlsx")
    with_cell(south, box.inbox / "South filled in.xlsx", prepared_by="Jo Okafor", role="Bursar")
    write_bomb(box.inbox / "bomb.xlsx", 60, good=north)
    (box.inbox / "notes.csv.xlsx").write_text("School,Amount\nHillside,1\n")
    for p in corpus_files()[:: 12]:
        shutil.copyfile(p, box.inbox / p.name)
    return box


# --------------------------------------------------------------------------- the input file is only read


def test_input_files_are_never_modified(sandbox: Sandbox) -> None:
    files = sorted(sandbox.inbox.iterdir())
    for p in files:  # a read-only file needs no write access
        p.chmod(0o444)
    before = snapshot(sandbox.inbox)
    run = pbp("validate", "--json", *files, cwd=sandbox.ws, env=sandbox.env)
    assert run.rc == 1 and run.err == "", run.where()
    assert changes(before, snapshot(sandbox.inbox)) == NO_CHANGES
    run = pbp("ingest", "--json", *files, cwd=sandbox.ws, env=sandbox.env)
    assert run.rc == 1 and run.err == "", run.where()
    assert changes(before, snapshot(sandbox.inbox)) == NO_CHANGES
    assert len(received(sandbox.ws)) == len(files)
    # and the archived copies are byte for byte the files as sent
    for report in run.data:
        assert (sandbox.ws / report["archived"]).read_bytes() == Path(report["file"]).read_bytes()


# --------------------------------------------------------------------------- validate writes nothing


def test_validate_writes_nothing_anywhere(sandbox: Sandbox) -> None:
    files = [*sorted(sandbox.inbox.iterdir()), sandbox.issued[0]]
    before = sandbox.snap()
    for args in (("validate", "--json"), ("validate",)):
        run = pbp(*args, *files, cwd=sandbox.ws, env=sandbox.env)
        assert run.rc == 1 and run.err == "", run.where()
    # from a subfolder of the workspace, and from outside any workspace
    run = pbp("validate", "--json", *files, cwd=sandbox.ws / "outbox", env=sandbox.env)
    assert run.rc == 1 and run.err == "", run.where()
    run = pbp("validate", "--json", *files, cwd=sandbox.neighbour, env=sandbox.env)
    assert run.rc == 1 and run.err == "", run.where()
    after = sandbox.snap()
    for name in before:
        assert changes(before[name], after[name]) == NO_CHANGES, name
    assert not [p for p in (sandbox.ws / ".pbp").iterdir() if p.name.endswith(("-wal", "-shm", "-journal"))]
    assert received(sandbox.ws) == {}


def test_validate_in_a_workspace_without_its_ledger_creates_none(sandbox: Sandbox) -> None:
    """The ledger is gone (deleted, not restored): validate says so, and does not make an
    empty one that would then reject every return as 'not issued'."""
    ledger = sandbox.ws / ".pbp" / "ledger.sqlite"
    ledger.unlink()
    before = sandbox.snap()
    run = pbp("validate", "--json", *sandbox.issued[:1], cwd=sandbox.ws, env=sandbox.env)
    assert run.rc == 2 and "ledger.sqlite is missing" in run.err and run.out == "", run.where()
    assert "Traceback" not in run.err
    assert not ledger.exists()
    after = sandbox.snap()
    for name in before:
        assert changes(before[name], after[name]) == NO_CHANGES, name


def test_validate_uses_the_workspace_settings_or_says_they_are_broken(sandbox: Sandbox) -> None:
    """A broken pbp.toml is an error (exit 2) for validate as for ingest, not silently replaced
    by the defaults; a valid one is obeyed (here: a smaller file-size limit)."""
    toml = sandbox.ws / "pbp.toml"
    good = toml.read_text()
    toml.write_text(good.replace("max_file_mb = 20", 'max_file_mb = "lots"'))
    for command in ("validate", "ingest"):
        run = pbp(command, "--json", sandbox.issued[0], cwd=sandbox.ws, env=sandbox.env)
        assert run.rc == 2 and "max_file_mb" in run.err and run.out == "", run.where()
        assert "Traceback" not in run.err
    toml.write_text(good.replace("max_file_mb = 20", "max_file_mb = 1"))
    big = sandbox.inbox / "big.xlsx"
    with big.open("wb") as fh:
        fh.truncate(2 * 2**20)
    run = pbp("validate", "--json", big, cwd=sandbox.ws, env=sandbox.env)
    assert run.rc == 1 and run.data[0]["findings"][0]["code"] == "F-E004", run.where()
    assert "the limit is 1.0 MB" in run.data[0]["findings"][0]["message"]


# --------------------------------------------------------------------------- ingest writes only in the workspace


def test_ingest_writes_only_inside_the_workspace(sandbox: Sandbox) -> None:
    files = sorted(sandbox.inbox.iterdir())
    before = sandbox.snap()
    run = pbp("ingest", "--json", sandbox.inbox, *corpus_files(), cwd=sandbox.ws, env=sandbox.env)
    assert run.rc == 1 and run.err == "", run.where()
    after = sandbox.snap()
    for name in ("inbox", "neighbour", "home", "tmp"):
        assert changes(before[name], after[name]) == NO_CHANGES, name
    ws = changes(before["workspace"], after["workspace"])
    assert ws["removed"] == []
    allowed = (".pbp", "feedback")
    for rel in ws["added"] + ws["changed"]:
        assert rel.split(os.sep)[0] in allowed, f"ingest wrote {rel}"
    assert any(rel.startswith("feedback" + os.sep) for rel in ws["added"])  # it did write feedback
    assert len(received(sandbox.ws)) == len({hashlib.sha256(p.read_bytes()).digest()
                                             for p in [*files, *corpus_files()]})
    # archived copies are read-only, so nothing edits them by mistake later
    for report in run.data:
        if report.get("new"):
            assert stat.S_IMODE((sandbox.ws / report["archived"]).stat().st_mode) == 0o444
    assert not [p for p in (sandbox.ws / ".pbp").iterdir() if p.name.endswith(("-wal", "-shm", "-journal"))]


def test_ingesting_emails_writes_only_inside_the_workspace(sandbox: Sandbox) -> None:
    """Messages (.eml built here, the two real Outlook files) are read, never changed; their
    attachments are spooled inside .pbp/ (never TMPDIR) and the spool is gone afterwards; the
    only other things written are feedback workbooks and reply drafts."""
    from email.message import EmailMessage

    from conftest import SHARED

    m = EmailMessage()
    m["From"], m["Subject"] = "Jo <jo@south.example.sch.uk>", "Q2"
    m.set_content("attached")
    m.add_attachment((sandbox.inbox / "South filled in.xlsx").read_bytes(), maintype="application",
                     subtype="octet-stream", filename="../../../home/escape.xlsx")
    mail = sandbox.root / "mail"
    mail.mkdir()
    (mail / "south.eml").write_bytes(bytes(m))
    for name in ("unicode.msg", "strangeDate.msg"):
        shutil.copyfile(SHARED / "corpus" / "email" / name, mail / name)
    before, mail_before = sandbox.snap(), snapshot(mail)
    run = pbp("ingest", "--json", mail, cwd=sandbox.ws, env=sandbox.env)
    assert run.rc == 1 and run.err == "", run.where()
    assert [r["status"] for r in run.data] == ["rejected", "unreadable", "unreadable"]  # south, strangeDate, unicode
    after = sandbox.snap()
    assert changes(mail_before, snapshot(mail)) == NO_CHANGES
    for name in ("inbox", "neighbour", "home", "tmp"):
        assert changes(before[name], after[name]) == NO_CHANGES, name
    ws = changes(before["workspace"], after["workspace"])
    assert ws["removed"] == []
    for rel in ws["added"] + ws["changed"]:
        assert rel.split(os.sep)[0] in (".pbp", "feedback", "replies"), f"ingest wrote {rel}"
        assert not rel.startswith(os.path.join(".pbp", "spool-")), f"spool left behind: {rel}"
    assert len([r for r in ws["added"] if r.endswith(".eml") and r.startswith("replies")]) == 3
