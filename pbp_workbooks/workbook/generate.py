"""Issue workbooks: one per provision for a period, recorded in the ledger."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import secrets
from collections.abc import Generator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pbp_workbooks.base import roster as roster_mod
from pbp_workbooks.base.errors import ConfigError, Interrupted, UsageError
from pbp_workbooks.base.filenames import safe_file_name
from pbp_workbooks.base.interrupts import pause_point
from pbp_workbooks.base.periods import QUARTER_MONTHS, FinancialYear
from pbp_workbooks.base.progress import progress
from pbp_workbooks.base.workspace import Workspace
from pbp_workbooks.ledger.history import locked_carried
from pbp_workbooks.ledger.store import Issued, Ledger, now, received_for
from pbp_workbooks.spec import model as spec_mod
from pbp_workbooks.spec.model import Spec
from pbp_workbooks.spec.recipients import key_of, recipients
from pbp_workbooks.workbook import sources as sources_mod
from pbp_workbooks.workbook.stamp import Stamp
from pbp_workbooks.workbook.writer import Identity

PARALLEL_FROM = 20
def prefill(spec: Spec, sources: dict[str, Any]) -> dict[str, Any]:
    """Values for every field whose spec names a source we have a value for."""
    return {f.name: sources[f.source] for f in spec.fields if f.source and f.source in sources}


def period_sources(prov: roster_mod.Provision, fy: FinancialYear, quarter: int | None,
                   allocation: Any) -> dict[str, Any]:
    return {
        "roster.partnership": prov.partnership,
        "roster.host_school": prov.host_school,
        "roster.urn": prov.urn,
        "roster.provision": prov.provision,
        "roster.allocation": allocation,
        "period.year": str(fy),
        "period.year_end": fy.end,
        "period.quarter_label": f"Q{quarter} ({QUARTER_MONTHS[quarter]})" if quarter else "",
        # whether the provision serves each key stage (roster.serves.eyfs: "Yes"/"No"); none if not recorded
        **{f"roster.serves.{k.lower()}": "Yes" if k in prov.key_stages else "No"
           for k in roster_mod.KEY_STAGES if prov.key_stages},
    }


def member_urns(roster: roster_mod.Roster) -> dict[str, set[str]]:
    """Each partnership's member schools' URNs, by partnership name (any case)."""
    out: dict[str, set[str]] = {}
    for m in roster.members:
        out.setdefault(str(m["partnership"]).casefold(), set()).add(str(m["urn"]))
    return out


def partnership_sources(members: dict[str, set[str]], prov: roster_mod.Provision) -> dict[str, Any]:
    """Sources from the roster's member schools: ``roster.member_schools`` is the number of
    schools in the partnership (its member schools and the host school, each counted once)."""
    urns = members.get(prov.partnership.casefold())
    if not urns:
        return {}  # the roster does not list them: leave the cell blank rather than say 0
    return {"roster.member_schools": len(urns | {prov.urn})}


class Written(list[Path]):
    """The workbooks written, in roster order; ``kept`` names the provisions that already had
    one for the period and were left as they were (an earlier run was interrupted, or a
    partnership was added to the roster since); ``replaced`` the ones re-issued."""

    kept: list[str]
    replaced: list[str]
    unlisted: list[str]  # partnerships with no member school on the roster (a per-school return)
    waiting: dict[str, list[str]]  # what the LA does not have yet -> the partnerships not issued for it

    def waiting_text(self) -> str:
        """``North and East: no year-end balance yet (it comes from ...)``."""
        return "; ".join(f"{_and(names)}: {why}" for why, names in self.waiting.items())


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def generate(ws: Workspace, kind: str, fy: FinancialYear, quarter: int | None, out: Path | None, *,
             reissue: bool = False) -> Written:
    """One workbook per provision (or member school: ``recipients``) for the period, each
    recorded in the ledger as it is written. A recipient already issued the period is
    skipped, so running again finishes an interrupted run; when every one has been issued,
    the run is refused (UsageError) unless ``reissue``: then every recipient gets a new
    workbook, and the ones sent before are superseded (a return made from one is refused,
    T-E008)."""
    cfg = ws.config
    roster = roster_mod.load(ws.roster_path)
    spec = spec_mod.load(kind)
    # Check the roster has everything before writing anything.
    allocations = {p.partnership: roster.allocation(p.partnership, fy) for p in roster.provisions}
    period = spec.period_name(quarter)
    due = roster.due(fy, period)
    out_dir = out or ws.folder("outbox") / f"{fy} {period}"
    generated_at = datetime.now(UTC).replace(microsecond=0)
    stamp = Stamp(spec, financial_year=str(fy), quarter=quarter, password=cfg.password,
                  params=cfg.thresholds.params(), la_name=cfg.la_name, contact=cfg.return_contact(spec.kind), due=due,
                  generated_at=generated_at)
    written = Written()
    units = recipients(spec, roster)
    if not units:
        raise UsageError(f"the roster lists no {spec.issued_to}s to issue the {spec.short_title} to: add them on the "
                         "roster's Member schools sheet, then run 'pbp roster check'")
    written.unlisted = [p.partnership for p in roster.provisions if spec.per_school and
                        not any(u.provision == p for u in units)]
    with Ledger(ws.ledger_path) as ledger:
        before = {key_of(i.partnership, i.subject): i for i in ledger.issued_for(spec.kind, str(fy), quarter)}
        todo = [u for u in units if reissue or u.key not in before]
        written.kept = [u.label for u in units if u not in todo]
        written.replaced = [u.label for u in todo if u.key in before]
        if not todo:
            raise UsageError(already_issued(ledger, spec.kind, fy, quarter, list(before.values())))
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ConfigError(f"cannot create the output folder {out_dir}: {err.strerror}") from None
        jobs: list[_Job] = []
        members = member_urns(roster)
        written.waiting = {}
        for unit in todo:
            prov = unit.provision
            identity = Identity(spec.id, spec.version, spec.kind, str(fy), quarter, prov.partnership,
                                unit.school, unit.urn, prov.provision, secrets.token_hex(8))
            sources = period_sources(prov, fy, quarter, allocations[prov.partnership])
            sources.update(partnership_sources(members, prov))
            sources.update(unit.sources())
            sources.update(sources_mod.member_sources(spec, roster, prov.partnership))
            sources.update(sources_mod.la_sources(cfg.thresholds, allocations[prov.partnership]))
            sources.update(sources_mod.ledger_sources(spec, ledger, fy, prov.partnership))
            missing = sources_mod.waiting_for(spec, sources)
            if missing:
                written.waiting.setdefault(missing, []).append(prov.partnership)
                continue
            values = prefill(spec, sources)
            values.update(prior_actuals(ledger, spec, fy, quarter, prov.partnership))
            name = safe_file_name(spec.file_name.format(year=fy, quarter=quarter, partnership=prov.partnership,
                                                        host_school=prov.host_school, school=unit.school)) + ".xlsx"
            jobs.append(_Job(identity, values, out_dir / name, unit.subject,
                             locked_carried(spec, values)))
        # Each workbook is written to a hidden staging file (by a worker, ahead of the parent),
        # then put in place inside the transaction that records it: an interrupted run leaves
        # only complete, recorded workbooks in the outbox (and, on --reissue, the previous one
        # of each provision not reached), and running it again issues the rest.
        running = _run(stamp, jobs)
        try:
            for job, digest in progress(running, len(jobs), "Generating"):
                if len(written) == len(jobs) // 2:
                    pause_point("issuing")
                ident = job.identity
                ledger.record_issued([Issued(spec.id, spec.version, spec.kind, str(fy), quarter, ident.partnership,
                                             ident.host_school, ident.urn, ident.issue_token, job.path.name, digest,
                                             now(), json.dumps(job.values, default=str, sort_keys=True),
                                             job.subject)],
                                     before_commit=functools.partial(os.replace, job.staging, job.path))
                written.append(job.path)
        except KeyboardInterrupt:
            raise Interrupted(f"interrupted after issuing {len(written)} of {len(jobs)} workbooks (each recorded in the "
                              "ledger); run the same command again to finish") from None
        finally:
            running.close()  # a pool stops: its workers end the workbook in hand
            for job in jobs:  # written ahead but never recorded
                job.staging.unlink(missing_ok=True)
    return written


def already_issued(ledger: Ledger, kind: str, fy: FinancialYear, quarter: int | None, issued: list[Issued]) -> str:
    """Why a period is not issued again: when it was, and what has come back since."""
    period = f"{fy} Q{quarter}" if quarter else f"the {fy} {spec_mod.load(kind).short_title}"
    days = sorted({i.issued_at[:10] for i in issued})
    when = _day(days[0]) if len(days) == 1 else f"between {_day(days[0])} and {_day(days[-1])}"
    got = received_for(ledger, kind, str(fy), quarter)
    flag = f"--quarter {quarter} --reissue" if quarter else "--reissue"
    return (f"{period} was already issued on {when} ({len(issued)} workbooks; {len(got)} "
            f"{'return' if len(got) == 1 else 'returns'} received for it so far). To replace every workbook with a "
            f"new one, run 'pbp generate {kind} --year {fy} {flag}': returns made from the old workbooks will then "
            "be refused")


def _day(iso: str) -> str:
    return f"{iso[8:10]}/{iso[5:7]}/{iso[:4]}"


@dataclass(frozen=True)
class _Job:
    identity: Identity
    values: dict[str, Any]
    path: Path
    subject: str = ""
    lock: frozenset[str] = frozenset()  # pre-filled inputs written locked (rows carried over)

    @property
    def staging(self) -> Path:
        """Where the workbook is written before it is recorded and put in place."""
        return self.path.with_name(f".{self.path.name}.issuing.tmp")


_STAMP: Stamp | None = None  # the batch's prototype, in each worker process


def _start_worker(stamp: Stamp) -> None:
    global _STAMP
    _STAMP = stamp


def _write_one(job: _Job) -> tuple[_Job, str]:
    assert _STAMP is not None
    data = _STAMP.write(job.staging, job.identity, job.values, job.lock)
    return job, hashlib.sha256(data).hexdigest()


def _run(stamp: Stamp, jobs: list[_Job]) -> Generator[tuple[_Job, str], None, None]:
    """Stamp each provision's workbook from the batch's prototype; in parallel when there
    are many (filling and compressing the parts is CPU-bound, one core each). Closing it
    stops the workers (they ignore Ctrl-C: the parent decides)."""
    workers = min(os.cpu_count() or 1, 8)
    if len(jobs) < PARALLEL_FROM or workers < 2:
        _start_worker(stamp)
        yield from map(_write_one, jobs)
        return
    from pbp_workbooks.base.pools import QuietPool

    pool = QuietPool(workers, initializer=_start_worker, initargs=(stamp,))
    try:
        yield from pool.map(_write_one, jobs, chunksize=max(1, len(jobs) // (workers * 8)))
    finally:
        pool.stop()


def prior_actuals(ledger: Ledger, spec: Spec, fy: FinancialYear, quarter: int | None,
                  partnership: str) -> dict[str, Any]:
    """Earlier quarters' actuals and budgets, and the balance brought forward, from the
    LA's accepted returns (for the annual report: its budget summary from the accepted Q4
    return). They stay editable, so a correction can be made and explained."""
    from pbp_workbooks.ledger.history import expected_prior

    return expected_prior(ledger, spec, fy, quarter, partnership)
