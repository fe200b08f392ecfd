"""Generate ``catalog.json`` from the pinned Alibaba Cloud SDK releases.

Each SDK package's ``client.py`` names every API operation of one service and API version.
The operation names are read with :mod:`ast` from the downloaded archive — the SDK is never
installed or imported, so building the catalog runs none of its code. The result is merged
with the hand-kept ``services.toml`` (codes, aliases, endpoints) and ``supplement.toml``
(operations the SDKs lack) and written deterministically, so a rebuild that finds nothing new
leaves ``catalog.json`` byte-identical.

Run as ``python -m compiler.catalog.build`` (or ``ramguard catalog build``).

Over 400 lines: one pass that reads every OpenMeta product and merges the hand-kept tables in a
fixed order; splitting the pass would split the ordering rules that keep catalog.json byte-
identical.
"""

from __future__ import annotations

import argparse
import ast
import datetime as dt
import json
import subprocess
import sys
import tarfile
import tempfile
import tomllib
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from compiler.files import atomic_write

HERE = Path(__file__).resolve().parent
SERVICES_FILE = HERE / "services.toml"
SUPPLEMENT_FILE = HERE / "supplement.toml"
DEFAULT_OUT = HERE / "sdk.json"
FORMAT = 1

# Generator generations: Params(action=...) in current SDKs; the older tea-rpc/tea-roa
# clients pass the action as the first positional argument of one of these methods.
_REQUEST_METHODS = frozenset(
    {"do_request", "do_roarequest", "do_rpcrequest", "do_roarequest_with_form"}
)

Progress = Callable[[str], None]


class CatalogBuildError(Exception):
    """The catalog cannot be built; the message names the package or file at fault."""


@dataclass(frozen=True, slots=True)
class SdkPin:
    package: str
    version: str
    api_version: str

    @property
    def module(self) -> str:
        return self.package.replace("-", "_")


@dataclass(frozen=True, slots=True)
class ServiceMeta:
    name: str
    title: str
    aliases: tuple[str, ...]
    ram_codes: tuple[str, ...]
    shared_ram_codes: tuple[str, ...]
    endpoints: tuple[str, ...]
    trail_names: tuple[str, ...]
    sdks: tuple[SdkPin, ...]


# ---------------------------------------------------------------------------- extraction


def _is_api_version(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10


def _callee_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return None


def _str_const(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def extract_client_operations(source: str, api_version: str | None = None) -> set[str]:
    """Operation names called in an SDK ``client.py``.

    With ``api_version``, a call that names a different API version is an error: it would
    mean the package is not the one ``services.toml`` says it is.
    """
    tree = ast.parse(source)
    ops: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        callee = _callee_name(node.func)
        versions: list[str] = []
        if callee == "Params":
            kw = {k.arg: _str_const(k.value) for k in node.keywords if k.arg}
            action = kw.get("action")
            version = kw.get("version")
            if version:
                versions.append(version)
        elif callee in _REQUEST_METHODS and node.args:
            action = _str_const(node.args[0])
            consts = (_str_const(a) for a in node.args[1:])
            versions.extend(c for c in consts if c and _is_api_version(c))
        else:
            continue
        if not action:
            continue
        wrong = [v for v in versions if api_version is not None and v != api_version]
        if wrong:
            raise CatalogBuildError(
                f"operation {action} is for API version {wrong[0]}, expected {api_version}"
            )
        ops.add(action)
    return ops


def extract_model_operations(sources: Iterable[str]) -> set[str]:
    """Operations implied by top-level ``<Op>Request`` / ``<Op>Response`` model class pairs.

    Requiring the pair keeps out helper classes such as ``<Op>ShrinkRequest`` and nested
    parameter structs that merely end in ``Request``.
    """
    classes: set[str] = set()
    for source in sources:
        tree = ast.parse(source)
        classes.update(n.name for n in tree.body if isinstance(n, ast.ClassDef))
    return {
        name.removesuffix("Request")
        for name in classes
        if name.endswith("Request")
        and not name.endswith("ShrinkRequest")
        and name != "Request"
        and name.removesuffix("Request") + "Response" in classes
    }


# ---------------------------------------------------------------------------- metadata


def _load_toml(path: Path) -> dict:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CatalogBuildError(f"{path}: {exc}") from exc


def _token(text: object) -> bool:
    return (
        isinstance(text, str)
        and text[:1].isascii()
        and text[:1].isalpha()
        and all(c.isascii() and (c.isalnum() or c in "_-") for c in text)
    )


def _str_list(path: Path, where: str, raw: dict, key: str, required: bool = False) -> tuple:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise CatalogBuildError(f"{path}: {where}.{key} must be a list of strings")
    if required and not value:
        raise CatalogBuildError(f"{path}: {where}.{key} must not be empty")
    return tuple(value)


def load_services(path: Path = SERVICES_FILE) -> dict[str, ServiceMeta]:
    data = _load_toml(path).get("services", {})
    out: dict[str, ServiceMeta] = {}
    seen_alias: dict[str, str] = {}
    owner: dict[str, str] = {}
    for name, raw in data.items():
        where = f"services.{name}"
        aliases = _str_list(path, where, raw, "aliases")
        for alias in (name.lower(), *aliases):
            if not _token(alias) or alias != alias.lower():
                raise CatalogBuildError(
                    f"{path}: {where}: alias {alias!r} is not a lowercase token"
                )
            if seen_alias.setdefault(alias, name) != name:
                raise CatalogBuildError(f"{path}: alias {alias!r} used by {seen_alias[alias]} too")
        codes = _str_list(path, where, raw, "ram_codes", required=True)
        for code in codes:
            if owner.setdefault(code.lower(), name) != name:
                raise CatalogBuildError(
                    f"{path}: RAM code {code!r} owned by {owner[code.lower()]} too"
                )
        endpoints = _str_list(path, where, raw, "endpoints")
        if any(ep.count("{region}") > 1 for ep in endpoints):
            raise CatalogBuildError(f"{path}: {where}: at most one {{region}} per endpoint")
        sdks = []
        for pin in raw.get("sdk", []):
            try:
                sdk = SdkPin(pin["package"], pin["version"], pin["api_version"])
            except (KeyError, TypeError) as exc:
                raise CatalogBuildError(f"{path}: {where}.sdk: bad entry {pin!r}") from exc
            if not _is_api_version(sdk.api_version):
                raise CatalogBuildError(f"{path}: {sdk.package}: bad api_version")
            sdks.append(sdk)
        out[name] = ServiceMeta(
            name=name,
            title=str(raw.get("title", name)),
            aliases=aliases,
            ram_codes=codes,
            shared_ram_codes=_str_list(path, where, raw, "shared_ram_codes"),
            endpoints=endpoints,
            trail_names=_str_list(path, where, raw, "actiontrail_service_names"),
            sdks=tuple(sdks),
        )
    for meta in out.values():
        for code in meta.shared_ram_codes:
            if owner.get(code.lower()) in (None, meta.name):
                raise CatalogBuildError(
                    f"{path}: services.{meta.name}: shared RAM code {code!r} has no other owner"
                )
    if not out:
        raise CatalogBuildError(f"{path}: no [services.*] tables")
    return out


def load_supplement(
    services: dict[str, ServiceMeta], path: Path = SUPPLEMENT_FILE
) -> dict[tuple[str, str], dict[str, str]]:
    """``(service, api_version) → {operation: source}``."""
    out: dict[tuple[str, str], dict[str, str]] = {}
    for i, raw in enumerate(_load_toml(path).get("operation", [])):
        try:
            service, version = raw["service"], raw["api_version"]
            op, source = raw["name"], raw["source"]
        except (KeyError, TypeError) as exc:
            raise CatalogBuildError(f"{path}: operation #{i + 1}: missing {exc}") from exc
        if service not in services:
            raise CatalogBuildError(f"{path}: {op}: unknown service {service!r}")
        if not _is_api_version(version) or not _token(op) or not source:
            raise CatalogBuildError(f"{path}: operation #{i + 1} ({op!r}) is malformed")
        out.setdefault((service, version), {})[op] = source
    return out


# ---------------------------------------------------------------------------- download


def download(pin: SdkPin, dest: Path) -> Path:
    """The pinned release's archive in ``dest``: a wheel, else the sdist."""
    dest.mkdir(parents=True, exist_ok=True)
    found = _archive_in(pin, dest)
    if found:
        return found
    spec = f"{pin.package}=={pin.version}"
    errors = []
    for binary in ("--only-binary=:all:", "--no-binary=:all:"):
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", binary, "-d", str(dest), spec]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        found = _archive_in(pin, dest)
        if proc.returncode == 0 and found:
            return found
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:]
        errors.append(f"{binary}: {tail[0] if tail else f'exit {proc.returncode}'}")
    raise CatalogBuildError(f"cannot download {spec}: " + "; ".join(errors))


def _archive_in(pin: SdkPin, dest: Path) -> Path | None:
    prefix = f"{pin.module}-{pin.version}"
    for path in sorted(dest.iterdir()):
        if path.name.startswith(prefix + "-") and path.suffix == ".whl":
            return path
    for suffix in (".tar.gz", ".zip"):
        path = dest / (prefix + suffix)
        if path.exists():
            return path
    return None


def read_sources(archive: Path, pin: SdkPin) -> tuple[str, list[str]]:
    """``client.py`` and the model modules of ``pin``'s package inside ``archive``."""
    files: dict[str, bytes] = {}
    try:
        if archive.suffix in (".whl", ".zip"):
            with zipfile.ZipFile(archive) as zf:
                for name in zf.namelist():
                    if name.endswith(".py") and f"{pin.module}/" in name:
                        files[name] = zf.read(name)
        else:
            with tarfile.open(archive) as tf:
                for member in tf.getmembers():
                    if member.isfile() and member.name.endswith(".py"):
                        fh = tf.extractfile(member)
                        if fh is not None and f"{pin.module}/" in member.name:
                            files[member.name] = fh.read()
    except (OSError, zipfile.BadZipFile, tarfile.TarError) as exc:
        raise CatalogBuildError(f"{pin.package} {pin.version}: unreadable {archive.name}") from exc

    def rel(name: str) -> str:
        return name[name.index(f"{pin.module}/") + len(pin.module) + 1 :]

    # An sdist may also carry tests or examples; the package's own client.py is the one
    # directly under the module directory.
    clients = sorted((n for n in files if rel(n) == "client.py"), key=len)
    if not clients:
        raise CatalogBuildError(f"{pin.package} {pin.version}: no client.py in {archive.name}")
    models = sorted(n for n in files if rel(n) == "models.py" or rel(n).startswith("models/"))
    return files[clients[0]].decode("utf-8"), [files[n].decode("utf-8") for n in models]


def sdk_operations(pin: SdkPin, dest: Path) -> set[str]:
    client, models = read_sources(download(pin, dest), pin)
    try:
        ops = extract_client_operations(client, pin.api_version)
        if not ops:
            ops = extract_model_operations(models)
    except SyntaxError as exc:
        raise CatalogBuildError(f"{pin.package} {pin.version}: cannot parse: {exc}") from exc
    except CatalogBuildError as exc:
        raise CatalogBuildError(f"{pin.package} {pin.version}: {exc}") from exc
    if not ops:
        raise CatalogBuildError(f"{pin.package} {pin.version}: no operations found")
    return ops


# ---------------------------------------------------------------------------- assembly


def assemble(
    services: dict[str, ServiceMeta],
    found: dict[SdkPin, set[str]],
    supplement: dict[tuple[str, str], dict[str, str]],
) -> tuple[dict, list[str]]:
    """The catalog document, and the supplement entries an SDK already provides."""
    redundant: list[str] = []
    doc_services: dict[str, dict] = {}
    sources = []
    for name, meta in services.items():
        versions: dict[str, set[str]] = {}
        for pin in meta.sdks:
            versions.setdefault(pin.api_version, set()).update(found[pin])
            sources.append(
                {
                    "package": pin.package,
                    "version": pin.version,
                    "service": name,
                    "api_version": pin.api_version,
                    "operations": len(found[pin]),
                }
            )
        extra: dict[str, dict[str, str]] = {}
        for (svc, version), ops in supplement.items():
            if svc != name:
                continue
            have = versions.setdefault(version, set())
            for op, source in ops.items():
                if op in have:
                    # Newer SDK releases pick up operations; such an entry is stale.
                    redundant.append(f"{name}@{version} {op}")
                    continue
                extra.setdefault(version, {})[op] = source
            have.update(extra.get(version, {}))
        doc_services[name] = {
            "title": meta.title,
            "aliases": list(meta.aliases),
            "ram_codes": list(meta.ram_codes),
            "shared_ram_codes": list(meta.shared_ram_codes),
            "endpoints": list(meta.endpoints),
            "actiontrail_service_names": list(meta.trail_names),
            "versions": {v: sorted(ops) for v, ops in versions.items()},
            "supplement": extra,
        }
    sources.sort(key=lambda s: (s["service"], s["api_version"], s["package"]))
    return {"format": FORMAT, "sources": sources, "services": doc_services}, sorted(redundant)


def dumps_catalog(doc: dict) -> str:
    """The one serialisation of a catalog document: sorted keys, one form per content."""
    return json.dumps(doc, sort_keys=True, indent=1, ensure_ascii=True) + "\n"


def write_atomic(path: Path, text: str) -> None:
    atomic_write(path, text.encode("utf-8"))


def build_catalog(
    out: Path | None = None,
    *,
    workdir: Path | None = None,
    progress: Progress | None = None,
    services_file: Path = SERVICES_FILE,
    supplement_file: Path = SUPPLEMENT_FILE,
) -> dict:
    """Download the pinned SDKs, write the catalog to ``out``, and return a summary.

    ``workdir`` keeps the downloaded archives (and reuses ones already there); without it they
    go to a temporary directory that is removed afterwards.
    """
    out = DEFAULT_OUT if out is None else Path(out)
    say = progress or (lambda _msg: None)
    services = load_services(services_file)
    supplement = load_supplement(services, supplement_file)
    pins = [pin for meta in services.values() for pin in meta.sdks]
    found: dict[SdkPin, set[str]] = {}
    with tempfile.TemporaryDirectory(prefix="ramguard-catalog-") as tmp:
        base = Path(workdir) if workdir is not None else Path(tmp)
        for pin in pins:
            say(f"{pin.package}=={pin.version}")
            found[pin] = sdk_operations(pin, base / f"{pin.package}-{pin.version}")
            say(f"  {len(found[pin])} operations ({pin.api_version})")
    doc, redundant = assemble(services, found, supplement)
    for entry in redundant:
        say(f"warning: supplement entry {entry} is in the SDK now; remove it")
    text = dumps_catalog(doc)
    write_atomic(out, text)
    counts = {
        name: {v: len(ops) for v, ops in svc["versions"].items()}
        for name, svc in doc["services"].items()
    }
    return {
        "out": str(out),
        "bytes": len(text.encode("utf-8")),
        "services": counts,
        "operations": sum(n for per in counts.values() for n in per.values()),
        "sources": doc["sources"],
        "supplement": sum(len(ops) for ops in supplement.values()) - len(redundant),
        "redundant_supplement": redundant,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m compiler.catalog.build", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="default: %(default)s")
    parser.add_argument("--workdir", type=Path, help="keep (and reuse) downloads here")
    parser.add_argument("-q", "--quiet", action="store_true")
    args = parser.parse_args(argv)

    def say(msg: str) -> None:
        print(msg, file=sys.stderr)

    try:
        summary = build_catalog(
            args.out, workdir=args.workdir, progress=None if args.quiet else say
        )
    except CatalogBuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(
        f"wrote {summary['out']}: {summary['operations']} operations, "
        f"{len(summary['services'])} services, {summary['bytes']} bytes"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
