"""JSON Schemas of the configuration files, generated from the pydantic models that validate them.

The schemas are committed under ``include/config/schemas/`` and named in a
``# yaml-language-server: $schema=...`` line at the top of each YAML file, so an editor with a YAML
language server validates and completes while people type. They describe what the loaders accept;
the loaders stay the authority (cross-file checks such as "a dataset's AI system exists" are
theirs alone). ``make schemas`` regenerates them; a test fails while a committed schema is stale.

    python -m aimsflow.configschema [--check]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from aimsflow import settings

SCHEMA_DIR = "schemas"
DRAFT = "https://json-schema.org/draft/2020-12/schema"


@dataclass(frozen=True)
class ConfigFile:
    """A configuration file (relative to the config folder) and the model of its whole document."""

    path: str
    model: Callable[[], type[BaseModel]]
    # For a file of a kind that has one file per subject (the fairness policy of each AI system):
    # the schema's name (the shipped demo file stands for the kind).
    kind: str | None = None
    # False for a kind of file that lives outside the config folder (the sidecars staff drop in the
    # manual evidence inbox): a schema for editors, no shipped file to name it.
    shipped: bool = True

    @property
    def schema_name(self) -> str:
        """``retention/policies.yaml`` -> ``retention.policies.schema.json``."""
        return (self.kind or self.path.removesuffix(".yaml").replace("/", ".")) + ".schema.json"

    def schema_ref(self) -> str:
        """The schema's path relative to the YAML file, for the ``yaml-language-server`` line."""
        up = "../" * self.path.count("/")
        return f"{up}{SCHEMA_DIR}/{self.schema_name}"

    @property
    def modeline(self) -> str:
        return f"# yaml-language-server: $schema={self.schema_ref()}"


def _list_file(name: str, key: str, item: type[BaseModel], doc: str) -> type[BaseModel]:
    """A file whose only top-level key is a list of ``item`` (how the catalog and register read)."""
    return create_model(
        name,
        __config__=ConfigDict(extra="forbid", title=name),
        __doc__=doc,
        **{key: (list[item], ...)},  # type: ignore[call-overload]
    )


def _ai_systems() -> type[BaseModel]:
    from aimsflow.catalog import AISystem

    return _list_file("AISystems", "ai_systems", AISystem, "The AI systems in scope of the AIMS.")


def _certification() -> type[BaseModel]:
    from aimsflow.catalog import CertificationCycle

    return _list_file(
        "CertificationCycles", "certification_cycles", CertificationCycle, "Certification cycles."
    )


def _datasets() -> type[BaseModel]:
    from aimsflow.catalog import Dataset

    return _list_file("Datasets", "datasets", Dataset, "Datasets of the AI systems.")


def _register() -> type[BaseModel]:
    from aimsflow.risk.config import Risk

    return _list_file("RiskRegister", "risks", Risk, "The AI risk register.")


def _methodology() -> type[BaseModel]:
    from aimsflow.risk.config import Methodology

    return Methodology


def _retention_policies() -> type[BaseModel]:
    from aimsflow.retention.policy import OpenLineageSource, QuarantineSource, RetentionPolicy

    class RetentionPolicies(BaseModel):
        """Retention and disposal policies, one per data class."""

        model_config = ConfigDict(extra="forbid", title="RetentionPolicies")
        version: Literal[1] = 1
        openlineage: OpenLineageSource = Field(default_factory=OpenLineageSource)
        quarantine: QuarantineSource = Field(default_factory=QuarantineSource)
        policies: list[RetentionPolicy] = Field(min_length=1)

    return RetentionPolicies


def _legal_holds() -> type[BaseModel]:
    from aimsflow.retention.policy import LegalHold

    class LegalHolds(BaseModel):
        """Legal holds; the ``holds`` key is required, even when empty."""

        model_config = ConfigDict(extra="forbid", title="LegalHolds")
        version: Literal[1] = 1
        holds: list[LegalHold]

    return LegalHolds


def _fairness() -> type[BaseModel]:
    from aimsflow.fairness.policy import FairnessPolicy

    return FairnessPolicy


def _soa() -> type[BaseModel]:
    from aimsflow.compliance.soa import SoaDocument

    return SoaDocument


def _crosswalk() -> type[BaseModel]:
    from aimsflow.compliance.crosswalk import CrosswalkDocument

    return CrosswalkDocument


def _drift() -> type[BaseModel]:
    from aimsflow.quality.drift import DriftPolicy

    return DriftPolicy


def _sidecar() -> type[BaseModel]:
    from aimsflow.manual.sidecar import Sidecar

    return Sidecar


FILES: tuple[ConfigFile, ...] = (
    ConfigFile("ai_systems.yaml", _ai_systems),
    ConfigFile("certification.yaml", _certification),
    ConfigFile("datasets.yaml", _datasets),
    ConfigFile("policies/drift.yaml", _drift),
    ConfigFile("policies/fairness/loan_approval.yaml", _fairness, kind="policies.fairness"),
    ConfigFile("retention/legal_holds.yaml", _legal_holds),
    ConfigFile("retention/policies.yaml", _retention_policies),
    ConfigFile("risk/methodology.yaml", _methodology),
    ConfigFile("risk/register.yaml", _register),
    ConfigFile("soa.yaml", _soa),
    ConfigFile("crosswalk.yaml", _crosswalk),
    ConfigFile("<inbox>/<document>.evidence.yaml", _sidecar, kind="manual.sidecar", shipped=False),
)


def schema(file: ConfigFile) -> dict[str, Any]:
    body = file.model().model_json_schema(mode="validation")
    return {"$schema": DRAFT, "$id": file.schema_name, **body}


def render(file: ConfigFile) -> str:
    return json.dumps(schema(file), indent=2, ensure_ascii=False) + "\n"


def schema_dir(folder: Path | None = None) -> Path:
    """The committed schemas: ``include/config/schemas`` of the checkout (not ``AIMSFLOW_CONFIG_DIR``,
    which may point at an operator's own configuration)."""
    return folder or settings.project_root() / "include" / "config" / SCHEMA_DIR


def stale(folder: Path | None = None) -> list[str]:
    """The schema files that are missing or differ from what the models generate."""
    folder = schema_dir(folder)
    out = []
    for file in FILES:
        path = folder / file.schema_name
        if not path.exists() or path.read_text(encoding="utf-8") != render(file):
            out.append(str(path))
    return out


def write(folder: Path | None = None) -> list[Path]:
    folder = schema_dir(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for file in FILES:
        path = folder / file.schema_name
        path.write_text(render(file), encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m aimsflow.configschema", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if a committed schema is stale")
    args = parser.parse_args(argv)
    if args.check:
        old = stale()
        for path in old:
            print(f"stale: {path}", file=sys.stderr)
        return 1 if old else 0
    for path in write():
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
