"""catalog.json's layout: a small index that locates each service, read lazily (issue 9 item 7).

A compile must decode the index and the services it names, not the whole cloud; these tests
pin that the index points at the right bytes, that an unrelated service's bytes are never
parsed, and that the lazy path answers exactly as decoding the whole document does.
"""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest
from click.testing import CliRunner

from compiler import compile_sources
from compiler.catalog import SERVICES_MARK, Catalog, load_catalog
from compiler.catalog.merge import dumps_catalog
from compiler.cli import main

PACKAGED = Path(__file__).resolve().parent.parent / "compiler" / "catalog" / "catalog.json"
SEED = ["ECS", "RDS", "RAM", "IMS", "ECI", "SMS", "ECD", "PTS", "DBS"]


@pytest.fixture(scope="module")
def data() -> bytes:
    return PACKAGED.read_bytes()


@pytest.fixture(scope="module")
def doc(data: bytes) -> dict:
    return json.loads(data)


def _span(data: bytes, doc: dict, name: str) -> tuple[int, int]:
    base = data.index(SERVICES_MARK) + len(SERVICES_MARK)
    off, length = doc["index"][name]["at"]
    return base + off, base + off + length


def test_the_index_locates_every_service(data: bytes, doc: dict) -> None:
    assert doc["format"] == 3
    for name, svc in doc["services"].items():
        start, end = _span(data, doc, name)
        assert json.loads(data[start:end]) == svc, name


def test_the_writer_is_canonical(data: bytes, doc: dict) -> None:
    """The committed file is what ``dumps_catalog`` writes for its own content."""
    content = {k: v for k, v in doc.items() if k != "index"}
    assert dumps_catalog(content) == data


def test_a_compile_never_parses_a_service_it_does_not_name(data: bytes, doc: dict) -> None:
    # Garble a service the seed does not name, keeping its length: the offsets still hold,
    # and only decoding that service's bytes could notice.
    start, end = _span(data, doc, "Oss")
    broken = data[:start] + b"!" * (end - start) + data[end:]
    catalog = load_catalog(broken)
    policy = compile_sources([("p.rules", "deny ECS RunInstances\ndeny RAM *\n")], catalog)
    assert policy.documents
    with pytest.raises(msgspec.DecodeError):
        catalog.service("Oss")


def test_operation_metadata_waits_until_asked(data: bytes) -> None:
    catalog = load_catalog(data)
    ecs = catalog.service("ECS")
    assert ecs.ram_actions("RunInstances") == ("ecs:RunInstances",)
    assert "operation_meta" not in vars(ecs)  # no renamed action in ECS: nothing decoded
    assert ecs.risk("RunInstances") is not None or ecs.operation_meta
    assert "operation_meta" in vars(ecs)


def test_the_lazy_path_answers_as_the_whole_document_does(data: bytes, doc: dict) -> None:
    lazy, whole = load_catalog(data), Catalog.from_dict(doc)
    assert lazy.service_names == whole.service_names
    for a, b in zip(lazy.services, whole.services, strict=True):
        assert (a.title, a.aliases, a.ram_codes, a.shared_ram_codes) == (
            b.title,
            b.aliases,
            b.ram_codes,
            b.shared_ram_codes,
        ), a.name
        assert (a.endpoints, a.trail_names, a.versions, a.supplement) == (
            b.endpoints,
            b.trail_names,
            b.versions,
            b.supplement,
        ), a.name
        assert a.operation_meta == b.operation_meta, a.name
        assert a.condition_keys == b.condition_keys and a.ram_code_provenance == (
            b.ram_code_provenance
        )
        for op in a.operations():
            assert a.ram_actions(op) == b.ram_actions(op), (a.name, op)
    assert lazy.high_risk_operations() == whole.high_risk_operations()
    assert lazy.service_for_host("oss-cn-hangzhou.aliyuncs.com").name == "Oss"


def test_a_catalog_without_offsets_still_loads(doc: dict) -> None:
    """A format-2 file (an older build, for ``catalog diff``) is decoded whole."""
    old = dict(
        doc,
        format=2,
        index={n: {k: v for k, v in e.items() if k != "at"} for n, e in doc["index"].items()},
    )
    catalog = load_catalog(json.dumps(old).encode())
    assert catalog.service("sls").ram_codes == ("log",)
    assert catalog.service("ECS").ram_actions("RunInstances") == ("ecs:RunInstances",)


def test_a_hand_edited_index_is_refused_by_name(data: bytes) -> None:
    # A space before the first service (still valid JSON): every offset is one byte early.
    cut = data.index(SERVICES_MARK) + len(SERVICES_MARK)
    shifted = data[:cut] + b" " + data[cut:]
    json.loads(shifted)
    catalog = load_catalog(shifted)
    with pytest.raises(ValueError, match=r"does not point at service `ECS`.*catalog build"):
        catalog.service("ECS")


def test_catalog_diff_reports_a_broken_service_without_a_traceback(
    tmp_path: Path, data: bytes, doc: dict
) -> None:
    start, end = _span(data, doc, "Oss")
    bad = tmp_path / "bad.json"
    bad.write_bytes(data[:start] + b"!" * (end - start) + data[end:])
    result = CliRunner().invoke(main, ["catalog", "diff", str(PACKAGED), str(bad)])
    assert result.exit_code == 1
    assert "not a catalog.json" in result.output and "Traceback" not in result.output


def test_the_packaged_catalog_is_read_by_spans_not_whole(monkeypatch) -> None:
    """On disk, only the index and the services asked for are read (reading 2 MB cost as
    much as decoding the index), and a service named as the catalog spells it is found
    without the lowercased map of every name."""
    import os

    from compiler.catalog import load_packaged

    def refuse(self):
        raise AssertionError(f"read whole: {self}")

    reads: list[int] = []
    pread = os.pread

    def counted(fd: int, size: int, offset: int) -> bytes:
        reads.append(size)
        return pread(fd, size, offset)

    monkeypatch.setattr(Path, "read_bytes", refuse)
    monkeypatch.setattr(os, "pread", counted)
    catalog = load_packaged()
    assert catalog.service("ECS").ram_actions("RunInstances") == ("ecs:RunInstances",)
    assert "_by_service_name" not in vars(catalog)
    assert catalog.service("ecs").name == "ECS"  # any case still works
    assert catalog.service_for_host("oss-cn-hangzhou.aliyuncs.com").name == "Oss"
    assert len(reads) <= 4  # the index (in one or two reads), ECS, Oss
    assert sum(reads) < PACKAGED.stat().st_size // 10


def test_a_catalog_outlives_the_one_it_was_overlaid_on(tmp_path: Path) -> None:
    """An overlay's catalog reads unpatched services from its base's file, also once the
    base catalog itself is gone."""
    import gc

    from compiler.catalog import load_packaged, with_overlays

    overlay = tmp_path / "extra.toml"
    overlay.write_text('[services.Foo]\nram_codes = ["foo"]\noperations = ["Bar"]\n')
    catalog = with_overlays([overlay], base=load_packaged())
    gc.collect()
    assert catalog.service("ECS").ram_actions("RunInstances") == ("ecs:RunInstances",)
    assert catalog.service("Foo").ram_actions("Bar") == ("foo:Bar",)
