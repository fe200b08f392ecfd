"""The committed service catalog and its generator (no network: nothing is downloaded)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from compiler.catalog import Catalog, default_catalog
from compiler.catalog import build as catalog_build
from compiler.catalog.build import (
    CatalogBuildError,
    SdkPin,
    assemble,
    dumps_catalog,
    extract_client_operations,
    extract_model_operations,
    load_services,
    load_supplement,
    read_sources,
    write_atomic,
)

CATALOG_JSON = Path(catalog_build.__file__).with_name("sdk.json")
SEED_SOURCE = "seed: accesskey-restrictive-protection.txt"

# The seed's table (shared/seeds/accesskey-restrictive-protection.txt), copied so the suite
# does not depend on files outside the repository. None: the seed names no API version.
SEED_OPERATIONS: dict[tuple[str, str | None], list[str]] = {
    ("ECS", None): [
        "RunInstances",
        "CreateInstance",
        "CreateAutoProvisioningGroup",
        "StartInstance",
        "StartInstances",
        "RunCommand",
        "DeleteInstance",
        "DeleteInstances",
        "DeleteSnapshotGroup",
        "DeleteSnapshot",
        "DeleteImage",
    ],
    ("ECI", None): [
        "CreateContainerGroup",
        "CreateContainerGroupFromTemplate",
        "BatchCreateContainerGroups",
        "DeleteContainerGroup",
        "DeleteContainerGroups",
    ],
    ("SMS", None): ["AddSmsTemplate", "SendSms", "SendBatchSms", "CreateSmsTemplate"],
    ("ECD", "2020-09-30"): [
        "StartDesktops",
        "CreateDesktops",
        "CreateDesktopGroup",
        "ModifyDesktopGroup",
        "RebootDesktops",
        "RebuildDesktops",
        "GetConnectionTicket",
        "ModifyDesktopSpec",
        "RunCommand",
    ],
    ("PTS", "2019-08-10"): [
        "StartJMeterTesting",
        "SaveJMeterScene",
        "CreateJMeterScene",
        "CreateCronJob",
        "StartSceneTesting",
        "StartDebugging",
        "CreateScene",
        "SaveScene",
    ],
    ("PTS", "2020-10-20"): [
        "SaveOpenJMeterScene",
        "StartDebuggingJMeterScene",
        "StartTestingJMeterScene",
        "SavePtsScene",
        "CreatePtsScene",
        "StartDebugPtsScene",
        "StartPtsScene",
    ],
    ("RDS", "2014-08-15"): [
        "ModifyBackupPolicy",
        "DeleteBackup",
        "DescribeBackups",
        "DeleteDBInstance",
        "DestroyDBInstance",
        "DeleteDatabase",
        "CreateAccount",
        "ResetAccountPassword",
        "ResetAccount",
    ],
    ("DBS", "2021-01-01"): [
        "ModifyBackupStrategy",
        "CreateDownload",
        "DescribeDownloadBackupSetStorageInfo",
    ],
}

# The seed operations no pinned SDK release contains (checked when the supplement was made).
SUPPLEMENTED = {
    ("ECI", "2018-08-08"): {
        "CreateContainerGroupFromTemplate",
        "BatchCreateContainerGroups",
        "DeleteContainerGroups",
    },
    ("PTS", "2019-08-10"): {
        "SaveJMeterScene",
        "CreateJMeterScene",
        "CreateCronJob",
        "StartDebugging",
    },
    ("DBS", "2021-01-01"): {"ModifyBackupStrategy"},
}

EXPECTED_CODES = {
    "RAM": (("ram",), ()),
    "IMS": (("ims",), ("ram",)),
    "ECS": (("ecs",), ()),
    "ECI": (("eci",), ()),
    "SMS": (("dysms",), ()),
    "ECD": (("ecd",), ()),
    "PTS": (("pts",), ()),
    "RDS": (("rds",), ()),
    "DBS": (("dbs",), ()),
}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return default_catalog()


# ---------------------------------------------------------------------------- the data


def test_nine_services_with_their_codes(catalog: Catalog) -> None:
    # The seed's nine services keep their SDK-era names and codes inside the whole cloud.
    assert set(EXPECTED_CODES) <= set(catalog.service_names)
    for name, (owned, shared) in EXPECTED_CODES.items():
        svc = catalog.service(name)
        assert svc is not None
        assert svc.ram_codes == owned
        assert svc.shared_ram_codes == shared
        for code in owned:
            assert catalog.service_for_code(code) is svc
    # `ram` belongs to RAM even though IMS uses it too.
    assert catalog.service_for_code("ram").name == "RAM"


@pytest.mark.parametrize(("key", "ops"), SEED_OPERATIONS.items(), ids=lambda x: str(x))
def test_every_seed_operation_is_in_the_catalog(catalog: Catalog, key, ops) -> None:
    name, version = key
    svc = catalog.service(name)
    assert svc is not None
    if version is not None:
        assert version in svc.versions
    missing = [op for op in ops if op not in svc.operations(version)]
    assert not missing
    for op in ops:
        assert svc.canonical_operation(op.lower(), version) == op


def test_every_service_has_operations_for_each_sdk_version(catalog: Catalog) -> None:
    assert catalog.service("PTS").versions.keys() == {"2019-08-10", "2020-10-20"}
    for name in EXPECTED_CODES:
        svc = catalog.service(name)
        assert svc.versions, svc.name
        pinned = {src["api_version"] for src in catalog.sources if src["service"] == name}
        assert all(len(svc.versions[v]) >= 20 for v in pinned), svc.name
    by_package = {s["package"]: s for s in catalog.sources}
    assert len(by_package) == 10
    for src in catalog.sources:
        assert src["version"].count(".") >= 2  # pinned to one release
        svc = catalog.service(src["service"])
        assert src["operations"] <= len(svc.versions[src["api_version"]])


def test_supplement_entries_carry_their_source(catalog: Catalog) -> None:
    found = {}
    for svc in catalog.services:
        for version, ops in svc.supplement.items():
            assert ops, (svc.name, version)
            for op, source in ops.items():
                assert source == SEED_SOURCE
                assert op in svc.versions[version]  # supplement ops are in "versions" too
            found[(svc.name, version)] = set(ops)
    assert found == SUPPLEMENTED


def test_services_lookup_by_alias_is_case_insensitive(catalog: Catalog) -> None:
    for alias, name in [
        ("sms", "SMS"),
        ("DySms", "SMS"),
        ("DYSMSAPI", "SMS"),
        ("Ecs", "ECS"),
        ("eds", "ECD"),
        ("ECD", "ECD"),
        ("ims", "IMS"),
        ("Ram", "RAM"),
    ]:
        svc = catalog.service(alias)
        assert svc is not None and svc.name == name, alias
    assert catalog.service("nosuch") is None
    assert catalog.suggest_service("ecz") == "ECS"


def test_service_for_host(catalog: Catalog) -> None:
    assert catalog.service_for_host("ecs.cn-hangzhou.aliyuncs.com").name == "ECS"
    assert catalog.service_for_host("ECS.aliyuncs.com").name == "ECS"
    assert catalog.service_for_host("ram.aliyuncs.com").name == "RAM"
    assert catalog.service_for_host("ims.aliyuncs.com").name == "IMS"
    assert catalog.service_for_host("dbs-api.cn-shanghai.aliyuncs.com").name == "DBS"
    assert catalog.service_for_host("dysmsapi.aliyuncs.com").name == "SMS"
    for host in ("evil.com", "ecs.a.b.aliyuncs.com", "ecs..aliyuncs.com", "ecs.aliyuncs.com.evil"):
        assert catalog.service_for_host(host) is None, host


def test_service_for_trail_name(catalog: Catalog) -> None:
    assert catalog.service_for_trail_name("Ecs").name == "ECS"
    assert catalog.service_for_trail_name("ram").name == "RAM"
    assert catalog.service_for_trail_name("Ims").name == "IMS"
    assert catalog.service_for_trail_name("Oss").name == "Oss"
    assert catalog.service_for_trail_name("NoSuchService") is None


def test_suggest_operation(catalog: Catalog) -> None:
    ecs = catalog.service("ECS")
    assert ecs.suggest_operation("RunInstance") == "RunInstances"
    assert ecs.canonical_operation("runinstances") == "RunInstances"
    assert ecs.canonical_operation("RunInstance") is None


def test_actions_cover_shared_codes(catalog: Catalog) -> None:
    actions = set(catalog.actions())
    assert "ecs:RunInstances" in actions
    ims_op = sorted(catalog.service("IMS").operations())[0]
    assert {f"ims:{ims_op}", f"ram:{ims_op}"} <= actions


# ---------------------------------------------------------------------------- the writer


def test_catalog_json_is_in_canonical_form() -> None:
    text = CATALOG_JSON.read_text(encoding="utf-8")
    doc = json.loads(text)
    assert dumps_catalog(doc) == text
    assert text.endswith("}\n")
    assert doc["format"] == 1
    for svc in doc["services"].values():
        for ops in svc["versions"].values():
            assert ops == sorted(set(ops))


def test_catalog_json_matches_the_toml_files() -> None:
    """Rebuilding from the committed operation lists reproduces catalog.json exactly."""
    doc = json.loads(CATALOG_JSON.read_text(encoding="utf-8"))
    services = load_services()
    supplement = load_supplement(services)
    found = {}
    for meta in services.values():
        for pin in meta.sdks:
            extra = supplement.get((meta.name, pin.api_version), {})
            ops = set(doc["services"][meta.name]["versions"][pin.api_version]) - set(extra)
            found[pin] = ops
    rebuilt, redundant = assemble(services, found, supplement)
    assert redundant == []
    assert dumps_catalog(rebuilt) == CATALOG_JSON.read_text(encoding="utf-8")


def test_write_atomic_replaces_and_leaves_no_temp(tmp_path: Path) -> None:
    out = tmp_path / "sub" / "catalog.json"
    write_atomic(out, "one\n")
    write_atomic(out, "two\n")
    assert out.read_text() == "two\n"
    assert [p.name for p in out.parent.iterdir()] == ["catalog.json"]


def test_assemble_flags_supplement_entries_the_sdk_has() -> None:
    services = load_services()
    pin = services["DBS"].sdks[0]
    found = {p: {"Foo"} for m in services.values() for p in m.sdks}
    found[pin] = {"Foo", "ModifyBackupStrategy"}
    supplement = {("DBS", pin.api_version): {"ModifyBackupStrategy": SEED_SOURCE}}
    doc, redundant = assemble(services, found, supplement)
    assert redundant == [f"DBS@{pin.api_version} ModifyBackupStrategy"]
    assert doc["services"]["DBS"]["supplement"] == {}
    assert doc["services"]["DBS"]["versions"][pin.api_version] == ["Foo", "ModifyBackupStrategy"]


# ---------------------------------------------------------------------------- extraction

PARAMS_CLIENT = """
class Client(OpenApiClient):
    def run_instances_with_options(self, request, runtime):
        params = open_api_models.Params(
            action='RunInstances',
            version='2014-05-26',
            protocol='HTTPS',
        )
        return self.call_api(params, req, runtime)

    async def run_instances_with_options_async(self, request, runtime):
        params = open_api_models.Params(action='RunInstances', version='2014-05-26')
        return await self.call_api_async(params, req, runtime)

    def delete_image_with_options(self, request, runtime):
        params = open_api_util_models.Params(action="DeleteImage", version="2014-05-26")
        query['Action'] = request.action
        other(action='NotAnOperation')
        return self.call_api(params, req, runtime)
"""

DO_REQUEST_CLIENT = """
class Client(RPCClient):
    def start_jmeter_testing_with_options(self, request, runtime):
        UtilClient.validate_model(request)
        return M.StartJMeterTestingResponse().from_map(self.do_request(
            "StartJMeterTesting", "HTTPS", "POST", "2019-08-10", "AK", None,
            request.to_map(), runtime))

    def list_things_with_options(self, request, runtime):
        return self.do_rpcrequest('ListThings', '2019-08-10', 'HTTPS', 'POST', 'AK', 'json',
                                  req, runtime)

    def get_thing_with_options(self, thing_id, headers, runtime):
        return self.do_roarequest('GetThing', '2019-08-10', 'HTTPS', 'GET', 'AK',
                                  f'/things/{thing_id}', 'json', req, runtime)

    def helper(self, name):
        return self.do_request(name, "HTTPS", "POST", "2019-08-10")
"""

MODELS_SOURCE = """
class CreateSceneRequest(TeaModel):
    pass

class CreateSceneResponse(TeaModel):
    pass

class SaveSceneRequest(TeaModel):
    pass

class SaveSceneShrinkRequest(TeaModel):
    pass

class SaveSceneResponse(TeaModel):
    pass

class OrphanRequest(TeaModel):
    pass

class CreateSceneRequestTag(TeaModel):
    pass
"""


def test_extracts_params_style() -> None:
    ops = extract_client_operations(PARAMS_CLIENT, "2014-05-26")
    assert ops == {"RunInstances", "DeleteImage"}


def test_extracts_do_request_style() -> None:
    ops = extract_client_operations(DO_REQUEST_CLIENT, "2019-08-10")
    assert ops == {"StartJMeterTesting", "ListThings", "GetThing"}


def test_extracts_model_class_style() -> None:
    assert extract_client_operations(MODELS_SOURCE) == set()
    assert extract_model_operations([MODELS_SOURCE]) == {"CreateScene", "SaveScene"}


def test_extraction_rejects_a_foreign_api_version() -> None:
    with pytest.raises(CatalogBuildError, match="2014-05-26"):
        extract_client_operations(PARAMS_CLIENT, "2099-01-01")
    with pytest.raises(CatalogBuildError, match="2019-08-10"):
        extract_client_operations(DO_REQUEST_CLIENT, "2020-10-20")


def _wheel(path: Path, files: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return path


def test_read_sources_from_a_wheel(tmp_path: Path) -> None:
    pin = SdkPin("alibabacloud-demo20200101", "1.0.0", "2020-01-01")
    wheel = _wheel(
        tmp_path / "alibabacloud_demo20200101-1.0.0-py3-none-any.whl",
        {
            "alibabacloud_demo20200101/client.py": PARAMS_CLIENT,
            "alibabacloud_demo20200101/models.py": MODELS_SOURCE,
            "alibabacloud_demo20200101/__init__.py": "",
        },
    )
    client, models = read_sources(wheel, pin)
    assert client == PARAMS_CLIENT
    assert models == [MODELS_SOURCE]


def test_read_sources_names_the_package_without_client(tmp_path: Path) -> None:
    pin = SdkPin("alibabacloud-demo20200101", "1.0.0", "2020-01-01")
    wheel = _wheel(
        tmp_path / "alibabacloud_demo20200101-1.0.0-py3-none-any.whl",
        {"alibabacloud_demo20200101/__init__.py": ""},
    )
    with pytest.raises(CatalogBuildError, match="alibabacloud-demo20200101"):
        read_sources(wheel, pin)


def test_load_services_rejects_bad_metadata(tmp_path: Path) -> None:
    bad = tmp_path / "services.toml"
    bad.write_text(
        '[services.A]\nram_codes = ["a"]\naliases = ["x"]\n'
        '[services.B]\nram_codes = ["b"]\naliases = ["x"]\n'
    )
    with pytest.raises(CatalogBuildError, match="alias 'x'"):
        load_services(bad)
    bad.write_text('[services.A]\nram_codes = ["a"]\nshared_ram_codes = ["zzz"]\n')
    with pytest.raises(CatalogBuildError, match="zzz"):
        load_services(bad)
    bad.write_text('[services.A]\nram_codes = ["a"]\naliases = ["Has Space"]\n')
    with pytest.raises(CatalogBuildError, match="Has Space"):
        load_services(bad)


def test_an_operation_spelt_two_ways_resolves_to_the_earliest_version_then_first_spelling():
    # Which spelling a rule's `deny X describeinstances` emits must not depend on set order:
    # the earliest API version that has the name wins, then the alphabetically first
    # spelling within it.
    from compiler.catalog import Service

    svc = Service(
        name="Acme",
        title="Acme",
        aliases=(),
        ram_codes=("acme",),
        shared_ram_codes=(),
        endpoints=(),
        trail_names=(),
        versions={
            "2020-01-01": frozenset({"getThing", "GetThing", "ListThings"}),
            "2014-01-01": frozenset({"GETTHING", "PutThing"}),
            "2022-01-01": frozenset({"putthing", "DeleteThing"}),
        },
        supplement={},
    )
    assert svc.canonical_operation("getthing") == "GETTHING"
    assert svc.canonical_operation("PUTTHING") == "PutThing"
    assert svc.canonical_operation("getthing", "2020-01-01") == "GetThing"
    assert svc.canonical_operation("putthing", "2022-01-01") == "putthing"
    assert svc.canonical_operation("nothing") is None
    assert svc.operations() == {"GETTHING", "PutThing", "ListThings", "DeleteThing"}
