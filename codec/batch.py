"""Files in, files out: which inputs map to which outputs, safe writes, and parallel runs.

The codec itself (``codec.encoder``) knows nothing of files; this module does the I/O for the
CLI: it expands folders recursively (output trees mirror input trees), refuses to overwrite
unless asked, writes atomically (temporary file + rename, so an interrupted run leaves no
partial file), and runs jobs in worker processes.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

NMFZ_SUFFIX = ".nmfz"


@dataclass(frozen=True)
class Job:
    source: Path
    target: Path


@dataclass
class Plan:
    jobs: list[Job] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # (path, why), not failures
    failed: list[tuple[Path, str]] = field(default_factory=list)  # (path, why)


def _image_suffixes() -> set[str]:
    return {s.lower() for s in Image.registered_extensions()} - {NMFZ_SUFFIX}


def plan(
    inputs: tuple[Path, ...], output: Path | None, *, compress: bool, suffix: str, overwrite: bool
) -> Plan:
    """Map inputs (files or folders) to output paths.

    ``suffix`` is the output extension (``.nmfz`` when compressing). With one input file,
    ``output`` is the output file (or an existing folder to put it in); otherwise it is a
    folder, and each folder input's tree is mirrored below it. Without ``output``, results go
    beside their inputs.
    """
    wanted = _image_suffixes() if compress else {NMFZ_SUFFIX}
    result = Plan()
    single = len(inputs) == 1 and inputs[0].is_file()
    if output is not None and not single and output.exists() and not output.is_dir():
        raise ValueError(f"output {output} must be a folder when converting several files")
    claimed: dict[Path, Path] = {}
    for given in inputs:
        pairs: list[tuple[Path, Path]]
        if given.is_dir():
            # an output folder inside the input folder is not input (a rerun would feed on it)
            inside = output.resolve() if output is not None and output.is_dir() else None
            files = sorted(
                p
                for p in given.rglob("*")
                if p.is_file() and (inside is None or inside not in p.resolve().parents)
            )
            result.skipped += [
                (p, "not an image" if compress else "not .nmfz")
                for p in files
                if p.suffix.lower() not in wanted
            ]
            root = output if output is not None else given
            pairs = [
                (p, (root / p.relative_to(given)).with_suffix(suffix))
                for p in files
                if p.suffix.lower() in wanted
            ]
        elif single and output is not None and not output.is_dir():
            pairs = [(given, output)]
        else:
            folder = output if output is not None else given.parent
            pairs = [(given, (folder / given.name).with_suffix(suffix))]
        for source, target in pairs:
            key = target.resolve()
            if key in claimed:
                why = f"output {target} is also the output of {claimed[key]}"
                result.failed.append((source, why))
            elif key == source.resolve():
                result.failed.append((source, f"output {target} would replace the input"))
            elif target.exists() and not overwrite:
                result.failed.append((source, f"{target} exists (use --overwrite to replace it)"))
            else:
                claimed[key] = source
                result.jobs.append(Job(source, target))
    return result


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: Path, data: bytes, *, overwrite: bool) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder, then rename.

    Without ``overwrite``, an existing file is never replaced, even one that appeared while
    the job ran (the final step is a hard link, which fails if the name is taken).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; a new file should not be
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if overwrite:
            os.replace(temp, path)
        else:
            try:
                os.link(temp, path)
            except FileExistsError:
                raise FileExistsError(f"{path} exists (use --overwrite to replace it)") from None
    finally:
        if os.path.exists(temp):
            os.unlink(temp)


@dataclass
class Outcome:
    """What happened to one job; ``details`` holds the worker's numbers (JSON-ready)."""

    source: Path
    target: Path
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


Worker = Callable[[Job, dict[str, Any]], dict[str, Any]]
EXPECTED_ERRORS = (ValueError, OSError)  # FormatError is a ValueError


def _run_one(worker: Worker, job: Job, options: dict[str, Any]) -> Outcome:
    """Run one job; expected errors become the outcome's reason, anything else too unless
    ``options["debug"]``, in which case it propagates with its traceback."""
    start = time.perf_counter()
    outcome = Outcome(job.source, job.target)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            outcome.details = worker(job, options)
        except Exception as error:
            if options.get("debug"):
                raise
            outcome.error = (
                str(error)
                if isinstance(error, EXPECTED_ERRORS)
                else f"internal error ({type(error).__name__}: {error}); rerun with --debug"
            )
    outcome.warnings = [str(w.message) for w in caught]
    outcome.seconds = time.perf_counter() - start
    return outcome


def _init_worker(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def run(
    jobs: list[Job], worker: Worker, options: dict[str, Any], *, workers: int = 1
) -> Iterator[Outcome]:
    """Yield outcomes as jobs finish, in ``workers`` processes (1: in this process)."""
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield _run_one(worker, job, options)
        return
    threads = max(1, (os.cpu_count() or 1) // workers)
    # spawn, not fork: a forked child inherits OpenMP and CUDA state that it cannot use
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_init_worker, initargs=(threads,)
    ) as pool:
        futures = [pool.submit(_run_one, worker, job, options) for job in jobs]
        try:
            for future in futures:
                yield future.result()
        except BaseException:
            for future in futures:
                future.cancel()
            raise
