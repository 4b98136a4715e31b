"""The sweep folder: content-addressed runs and the manifest.

Layout of ``DIR``::

    DIR/sweep.json               the manifest: experiment, swept keys, every run's hash (union
                                 over the sweeps written into DIR)
    DIR/sweep.log                plain progress lines, appended by every sweep
    DIR/runs/<hash>/config.json  the run's full normalised config (written before it starts)
    DIR/runs/<hash>/result.json  the experiment's Result — present ⇔ the run is finished
    DIR/runs/<hash>/error.json   why the last attempt failed (removed when it is retried)
    DIR/results.parquet          the tidy table (`gather`); DIR/runs.parquet one row per run

``<hash>`` is 16 hex digits of SHA-256 over the experiment's name and its *whole* config
(every field, defaults included, tuples as lists, keys sorted): the same configuration gets the
same folder in any sweep, so a rerun finds what is finished. Every file is written atomically
(temporary file, fsync, rename), so a ``kill -9`` leaves each file either whole or absent.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..errors import ConfigError, DataError
from ..experiments.base import config_hash
from ..results import ResultError, atomic_write_text, load_json_limited, plain
from .worker import CONFIG, ERROR, is_finished

MANIFEST = "sweep.json"
LOG = "sweep.log"
SCHEMA = "gradprobe.sweep/1"

State = Literal["finished", "failed", "pending"]


def run_hash(experiment_name: str, config: Any) -> str:
    """The content address of one run: `config_hash` over ``{"experiment", "config"}``."""
    is_instance = dataclasses.is_dataclass(config) and not isinstance(config, type)
    full = dataclasses.asdict(config) if is_instance else config
    return config_hash({"experiment": experiment_name, "config": plain(full)})


@dataclass
class PlannedRun:
    """One configuration of a sweep: its ``hash``, the swept values (``point``), the full plain
    ``config``, its folder and its state before this sweep started."""

    hash: str
    point: dict[str, Any]
    config: dict[str, Any]
    run_dir: Path
    state: State = "pending"


class Store:
    """A sweep folder (see the module docstring)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()
        self.runs_dir = self.root / "runs"

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    @property
    def log_path(self) -> Path:
        return self.root / LOG

    def run_dir(self, h: str) -> Path:
        return self.runs_dir / h

    def state(self, h: str) -> State:
        d = self.run_dir(h)
        if is_finished(d):
            return "finished"
        return "failed" if (d / ERROR).is_file() else "pending"

    def read_manifest(self) -> dict[str, Any] | None:
        """The manifest, or None when ``DIR`` holds no sweep yet."""
        if not self.manifest_path.is_file():
            return None
        try:
            doc = load_json_limited(self.manifest_path)
        except ResultError as e:
            raise DataError(f"{self.manifest_path}: {e}") from None
        if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
            raise DataError(f"{self.manifest_path} is not a gradprobe sweep manifest ({SCHEMA})")
        return doc

    def check_experiment(self, name: str) -> None:
        """`ConfigError` when ``DIR`` already holds a sweep of another experiment."""
        doc = self.read_manifest()
        if doc is not None and doc.get("name") != name:
            raise ConfigError(
                f"{self.root} holds a sweep of {doc.get('name')!r}, not {name!r}; "
                "use another --out folder"
            )

    def prepare(
        self,
        spec: str,
        name: str,
        keys: list[str],
        runs: list[PlannedRun],
        settings: dict[str, Any],
    ) -> None:
        """Write each run's ``config.json`` (if absent) and merge this sweep into the manifest."""
        for r in runs:
            path = r.run_dir / CONFIG
            if not path.is_file():
                doc = {"experiment": name, "hash": r.hash, "config": r.config}
                atomic_write_text(path, json.dumps(doc, indent=1, allow_nan=False) + "\n")
        old = self.read_manifest() or {}
        old_keys = [k for k in old.get("keys", []) if isinstance(k, str)]
        old_runs = [h for h in old.get("runs", []) if isinstance(h, str)]
        new_hashes = [r.hash for r in runs]
        doc = {
            "schema": SCHEMA,
            "experiment": spec,
            "name": name,
            "keys": old_keys + [k for k in keys if k not in old_keys],
            "runs": old_runs + [h for h in new_hashes if h not in set(old_runs)],
            "settings": settings,
            "updated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        atomic_write_text(self.manifest_path, json.dumps(doc, indent=1, allow_nan=False) + "\n")

    def read_config(self, h: str) -> dict[str, Any]:
        """The plain config of run ``h`` (from its config.json)."""
        try:
            doc = load_json_limited(self.run_dir(h) / CONFIG)
        except ResultError as e:
            raise DataError(str(e)) from None
        if not isinstance(doc, dict) or not isinstance(doc.get("config"), dict):
            raise DataError(f"{self.run_dir(h) / CONFIG} has no config")
        return doc["config"]  # type: ignore[no-any-return]

    def read_error(self, h: str) -> str:
        """The recorded error of a failed run ("" if none)."""
        try:
            doc = load_json_limited(self.run_dir(h) / ERROR)
        except ResultError:
            return ""
        return str(doc.get("error", "")) if isinstance(doc, dict) else ""
