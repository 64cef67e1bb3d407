"""Reading and cleaning an import's rows ahead of the writer, in a thread or in a second process.

The writer (jobs._run_rows) takes cleaned batches of BATCH_SIZE rows and writes each in one
transaction. Cleaning (parsing cells, phone numbers, countries, dates) is Python work, about half of
an import's CPU: in a thread it overlaps the database's time but not the writer's Python, which
holds the same GIL. A big file is therefore cleaned by a second Python process
(`child_main`) that reads the file itself and sends the cleaned
batches back through a pipe; the two processes run on two cores (bench/README.md, issue 22 §4:
100,000 Salesforce rows). Small files, files that are not on a local disk (a dry run's upload,
remote storage) and SQLite (`make run`) keep the thread. Either way the queue between reader and
writer is bounded, so memory stays flat whatever the file's size.
"""

from __future__ import annotations

import logging
import os
import pickle
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings

from .crm_formats import footer_continues, footer_starts
from .files import Sheet, _blank, import_sheet
from .rows import ImportRow, RowRules, import_row_clean

logger = logging.getLogger(__name__)

BATCH_SIZE = 1000  # rows per transaction and per set of queries
# Files estimated at fewer rows are cleaned in a thread: starting a process (Django's set-up,
# ~1.5 s) only pays for itself on a big file.
PROCESS_MIN_ROWS = settings.IMPORT_CLEANER_PROCESS_MIN_ROWS
READ_AHEAD = 2  # cleaned batches waiting for the writer, at most
PROJECT_ROOT = Path(__file__).resolve().parents[3]

# Django is set up before this package is imported (its models are imported with it).
CHILD_MAIN = "import django; django.setup(); from leads.capture.importing.cleaner import child_main; child_main()"

Batch = tuple[list[ImportRow], list[int]]  # cleaned rows, and the footer lines skipped since the last batch


def import_rows_clean(
    sheet: Sheet, *, columns: dict[str, str], rules: RowRules, skipped: list[int] | None = None
) -> Iterator[ImportRow]:
    """The file's data rows, cleaned: blank rows and a report's footer lines skipped (counted in
    `skipped`, not as errors)."""
    in_footer = False
    for sheet_row in sheet.rows:
        if sheet_row.error:
            yield ImportRow(line=sheet_row.line, payload={}, error=sheet_row.error)
            continue
        if _blank(sheet_row.cells):
            continue
        in_footer = footer_continues(sheet_row.cells) if in_footer else footer_starts(sheet_row.cells)
        if in_footer:
            if skipped is not None:
                skipped.append(sheet_row.line)
            continue
        yield import_row_clean(
            line=sheet_row.line, cells=sheet_row.cells, headers=sheet.headers, columns=columns, rules=rules
        )


def clean_batches(sheet: Sheet, columns: dict[str, str], rules: RowRules) -> Iterator[Batch]:
    """The file's rows, cleaned, BATCH_SIZE at a time, each with the footer lines skipped before it."""
    batch: list[ImportRow] = []
    skipped: list[int] = []
    for row in import_rows_clean(sheet, columns=columns, rules=rules, skipped=skipped):
        batch.append(row)
        if len(batch) >= BATCH_SIZE:
            yield batch, skipped[:]
            batch = []
            skipped.clear()  # the same list: import_rows_clean appends to it
    if batch or skipped:
        yield batch, skipped


_DONE = object()


def read_ahead(batches: Iterator[Batch], *, depth: int = READ_AHEAD) -> Iterator[Batch]:
    """Produce the next batches in a thread while this one is written: the database's time then
    overlaps the parsing's. The queue is bounded, so memory stays flat. Stopped early (the writer
    failed), a cleaner process is halted, so the thread waiting on it ends too."""
    results: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                results.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for batch in batches:
                if not put(batch):
                    return
            item: Any = _DONE
        except Exception as exc:  # noqa: BLE001 (handed to the consumer, which re-raises it)
            item = exc
        put(item)

    reader = threading.Thread(target=produce, name="leadcrm-import-reader", daemon=True)
    reader.start()
    try:
        while True:
            item = results.get()
            if item is _DONE:
                return
            if isinstance(item, Exception):
                raise item
            yield item
    finally:
        stop.set()
        if isinstance(batches, CleanerProcess):
            batches.halt()
        reader.join(timeout=5)


def cleaned(sheet: Sheet, *, columns: dict[str, str], rules: RowRules, path: str | None, name: str) -> Iterator[Batch]:
    """The sheet's cleaned batches, read ahead: by a second process when the file is big and on a
    local disk (`path`), else by a thread over the already open `sheet`."""
    if path and (sheet.estimate or 0) >= PROCESS_MIN_ROWS:
        return read_ahead(CleanerProcess(path=path, name=name, columns=columns, rules=rules))
    return read_ahead(clean_batches(sheet, columns, rules))


class CleanerProcess:
    """The cleaner process over the file at `path`: iterating yields what it sends (its errors are
    raised here, as the thread would raise them); `halt()` stops it from any thread."""

    def __init__(self, *, path: str, name: str, columns: dict[str, str], rules: RowRules) -> None:
        paths = [str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
        env.setdefault("DJANGO_SETTINGS_MODULE", "leadcrm.settings")
        self.child = subprocess.Popen(  # noqa: S603 (our own interpreter and module, no shell)
            [sys.executable, "-c", CHILD_MAIN],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            cwd=PROJECT_ROOT,
        )
        logger.info("import: rows of %s cleaned by process %s", name, self.child.pid)
        self.order = {
            "path": path,
            "name": name,
            "columns": columns,
            "rules": rules,
            "phone_region": getattr(settings, "PHONE_DEFAULT_REGION", None),
        }

    def __iter__(self) -> Iterator[Batch]:
        child = self.child
        try:
            pickle.dump(self.order, child.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            child.stdin.close()
            while True:
                try:
                    kind, value = pickle.load(child.stdout)  # noqa: S301 (our own child, through a pipe)
                except EOFError:
                    raise RuntimeError(f"the import's cleaner process ended early (exit {child.wait()})") from None
                if kind == "batch":
                    yield value
                elif kind == "error":
                    raise value
                else:
                    return
        finally:
            self.halt()
            child.stdout.close()  # here, in the thread that reads it

    def halt(self) -> None:
        if self.child.poll() is None:
            self.child.kill()
        self.child.wait()


def _serve(order: dict, out: BinaryIO) -> None:
    """In the cleaner process: clean the file `order` names and send each batch, then "done"."""
    if order["phone_region"] is not None:
        settings.PHONE_DEFAULT_REGION = order["phone_region"]
    try:
        with open(order["path"], "rb") as fileobj, import_sheet(fileobj=fileobj, name=order["name"]) as sheet:
            for batch in clean_batches(sheet, order["columns"], order["rules"]):
                pickle.dump(("batch", batch), out, protocol=pickle.HIGHEST_PROTOCOL)
                out.flush()
    except Exception as exc:  # noqa: BLE001 (sent to the importing process, which raises it)
        try:
            pickle.dumps(exc)
        except Exception:  # noqa: BLE001
            exc = RuntimeError(str(exc))
        pickle.dump(("error", exc), out)
    else:
        pickle.dump(("done", None), out)
    out.flush()


def child_main() -> None:
    """The cleaner process's main (CHILD_MAIN, after django.setup()): only pickles go to stdout;
    anything printed (a library's warning) goes to stderr instead."""
    pipe = sys.stdout.buffer
    sys.stdout = sys.stderr
    _serve(pickle.load(sys.stdin.buffer), pipe)  # noqa: S301 (from the importing process)
