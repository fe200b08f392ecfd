"""Deployment targets (issue 12): the `for` header, control-policy limits, Terraform and ROS
read back by real parsers to the same policy JSON."""

from __future__ import annotations

import json

import hcl2
import pytest

from compiler import CompileError
from compiler.emit.deploy import hcl_string, ros_files, terraform_files
from compiler.emit.ram import CONTROL_POLICY_LIMITS, document_size, documents_for
from compiler.language.format import format_source

_HCL = hcl2.SerializationOptions(strip_string_quotes=True, with_comments=False)


def _hcl(text: str) -> dict:
    return hcl2.loads(text, serialization_options=_HCL)


def _terraform_value(parsed: str) -> str:
    # python-hcl2 resolves backslash escapes but keeps HCL's template escapes as written;
    # Terraform reads `$${` as `${` and `%%{` as `%{`, scanning left to right as str.replace.
    return parsed.replace("$${", "${").replace("%%{", "%{")


ORG = (
    'policy org-baseline "Guardrails ${var.x} %{if} \\"q\\"" for control-policy '
    "attach [r-abc1, fd-xyz2]\n"
    "deny ResourceManager RemoveCloudAccount, DestroyResourceDirectory\n"
    'deny ECS DeleteInstance when source_ip not in ["10.0.0.0/8"]\n'
)


# --- the header -------------------------------------------------------------------------


def test_header_names_target_and_attach_points(compile_text):
    (ir,) = compile_text(ORG).policies
    assert ir.deploy == "control-policy"
    assert ir.attach == ("r-abc1", "fd-xyz2")
    assert ir.description == 'Guardrails ${var.x} %{if} "q"'
    (plain,) = compile_text("deny ECS DeleteInstance\n").policies
    assert (plain.deploy, plain.attach) == ("ram", ())


@pytest.mark.parametrize(
    "header",
    [
        'policy p "d" for control-policy attach [r-abc1, fd-xyz2]',
        "policy p for ram",
        'policy p "d" for control-policy',
        "policy p for control-policy attach [fd-1]",
    ],
)
def test_fmt_round_trips_the_header(header):
    text = f"{header}\ndeny ECS DeleteInstance\n"
    assert format_source("t.rules", text) == text
    messy = text.replace(" for ", "   for  ").replace("[", "[ ")
    assert format_source("t.rules", messy) == text


def test_unknown_target_is_an_error_with_a_suggestion(compile_text):
    with pytest.raises(CompileError) as info:
        compile_text("policy p for control-polcy\ndeny ECS DeleteInstance\n")
    text = str(info.value)
    assert "t.rules:1:14: error: unknown deployment target `control-polcy`" in text
    assert "did you mean `control-policy`?" in text


def test_a_node_named_twice_is_an_error(compile_text):
    with pytest.raises(CompileError, match="named twice"):
        compile_text("policy p for control-policy attach [fd-1, fd-1]\ndeny ECS DeleteInstance\n")


# --- limits ---------------------------------------------------------------------------------


def _many(n: int, header: str) -> str:
    return header + "".join(
        f"deny ECS RunInstances, CreateInstance when access_key in [LTAI5tExampleKey{i:05d}]\n"
        for i in range(n)
    )


def test_control_policies_are_split_against_4096(compile_text):
    policy = compile_text(_many(60, "policy cp for control-policy\n"))
    docs = policy.documents
    assert len(docs) >= 2
    assert all(document_size(d.text) <= 4096 and d.limit == 4096 for d in docs)
    # Packed, not one statement per document: all but the last are nearly full.
    assert all(document_size(d.text) > 4096 - 300 for d in docs[:-1])
    # The same rules as a RAM policy fit in fewer, larger documents.
    ram = compile_text(_many(60, "policy cp\n")).documents
    assert len(ram) < len(docs) and max(document_size(d.text) for d in ram) > 4096


def test_more_than_ten_control_policies_is_an_error(compile_text):
    policy = compile_text(_many(250, "policy cp for control-policy\n"))
    with pytest.raises(CompileError) as info:
        policy.documents  # noqa: B018
    assert "at most 10 can be attached to one folder or member account" in str(info.value)
    assert "4096 characters" in str(info.value)
    # The --target control-policy override holds a RAM-headed policy to the same limits.
    (ir,) = compile_text(_many(250, "policy cp\n")).policies
    with pytest.raises(CompileError):
        documents_for(ir, "control-policy")
    assert CONTROL_POLICY_LIMITS.chars == 4096


def test_size_counts_utf8_bytes_when_stricter():
    assert document_size("ab") == 2
    assert document_size("é") == 2
    assert document_size("😀") == 4


def test_compile_prints_each_size_against_its_limit(tmp_path, run_cli):
    src = tmp_path / "org.rules"
    src.write_text(ORG, encoding="utf-8")
    result = run_cli("compile", src, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.stderr
    size = len((tmp_path / "out" / "org-baseline.json").read_text(encoding="utf-8"))
    assert f"  org-baseline.json: {size:,} / 4,096 characters" in result.stdout
    result = run_cli("compile", src, "--out", tmp_path / "ram", "--target", "ram")
    assert "/ 4,096 characters" in result.stdout  # the header decides under --target ram


# --- Terraform ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "plain",
        "${var.x}",
        "%{if x}",
        "$${x}",
        "$$${x}",
        'q"\\',
        "\x08\x0c\x7f",
        "é 😀",
        "a\nb\r\tc",
    ],
)
def test_hcl_strings_read_back_exactly(value):
    parsed = _hcl(f"x = {hcl_string(value)}\n")["x"]
    assert _terraform_value(parsed) == value
    assert "${" not in hcl_string(value).replace("$${", "")


def test_terraform_control_policy_reads_back_to_the_json(compile_text):
    policy = compile_text(ORG)
    (tf,) = terraform_files(policy.policies, policy.documents)
    assert tf.filename == "org-baseline.tf"
    parsed = _hcl(tf.text)
    resources: dict[str, dict] = {}
    for block in parsed["resource"]:
        for rtype, by_label in block.items():
            for label, body in by_label.items():
                resources[f"{rtype}.{label}"] = body
    cp = resources["alicloud_resource_manager_control_policy.org_baseline"]
    (doc,) = policy.documents
    assert _terraform_value(cp["policy_document"]) == doc.text  # byte for byte
    assert cp["control_policy_name"] == "org-baseline"
    assert cp["effect_scope"] == "RAM"
    assert _terraform_value(cp["description"]) == 'Guardrails ${var.x} %{if} "q"'
    attachments = {
        k: v for k, v in resources.items() if k.startswith("alicloud_resource_manager_control_")
    }
    targets = sorted(v["target_id"] for k, v in attachments.items() if "_policy_attachment." in k)
    assert targets == ["fd-xyz2", "r-abc1"]
    policy_ids = {v["policy_id"] for k, v in attachments.items() if "_attachment." in k}
    assert policy_ids == {"${alicloud_resource_manager_control_policy.org_baseline.id}"}


def test_terraform_ram_policy_and_split_documents(compile_text):
    text = 'policy big "Big one"\n' + _many(60, "")
    policy = compile_text(text)
    (tf,) = terraform_files(policy.policies, policy.documents)
    bodies = {
        label: body
        for block in _hcl(tf.text)["resource"]
        for label, body in block["alicloud_ram_policy"].items()
    }
    assert sorted(bodies) == [f"big_{n}" for n in range(1, len(policy.documents) + 1)]
    for n, doc in enumerate(policy.documents, start=1):
        body = bodies[f"big_{n}"]
        assert body["policy_name"] == f"big-{n}"
        assert body["description"] == "Big one"
        assert _terraform_value(body["policy_document"]) == doc.text


# --- ROS --------------------------------------------------------------------------------


def test_ros_control_policy_template(compile_text):
    policy = compile_text(ORG)
    (ros,) = ros_files(policy.policies, policy.documents)
    assert ros.filename == "org-baseline.ros.json"
    template = json.loads(ros.text)
    assert template["ROSTemplateFormatVersion"] == "2015-09-01"
    resources = template["Resources"]
    cp = resources["OrgBaseline"]
    assert cp["Type"] == "ALIYUN::ResourceManager::ControlPolicy"
    (doc,) = policy.documents
    assert cp["Properties"] == {
        "ControlPolicyName": "org-baseline",
        "Description": 'Guardrails ${var.x} %{if} "q"',
        "EffectScope": "RAM",
        "PolicyDocument": doc.text,
    }
    attachments = [r for r in resources.values() if r["Type"].endswith("ControlPolicyAttachment")]
    assert sorted(a["Properties"]["TargetId"] for a in attachments) == ["fd-xyz2", "r-abc1"]
    for a in attachments:
        assert a["Properties"]["PolicyId"] == {"Fn::GetAtt": ["OrgBaseline", "PolicyId"]}


def test_ros_managed_policy_holds_the_document_as_a_map(compile_text):
    policy = compile_text('policy p-1 "d"\ndeny ECS DeleteInstance when mfa = false\n')
    (ros,) = ros_files(policy.policies, policy.documents)
    (resource,) = json.loads(ros.text)["Resources"].values()
    assert resource["Type"] == "ALIYUN::RAM::ManagedPolicy"
    assert resource["Properties"]["PolicyName"] == "p-1"
    assert resource["Properties"]["PolicyDocument"] == policy.ram_documents()[0]


def test_cli_targets_write_files_and_check(tmp_path, run_cli):
    src = tmp_path / "org.rules"
    src.write_text(ORG, encoding="utf-8")
    for target, name in [("terraform", "org-baseline.tf"), ("ros", "org-baseline.ros.json")]:
        out = tmp_path / target
        result = run_cli("compile", src, "--out", out, "--target", target)
        assert result.exit_code == 0, result.stderr
        assert (out / name).is_file()
        check = run_cli("compile", src, "--out", out, "--target", target, "--check")
        assert check.exit_code == 0, check.stderr
        (out / name).write_text("stale", encoding="utf-8")
        check = run_cli("compile", src, "--out", out, "--target", target, "--check")
        assert check.exit_code == 1


# --- golden files: the seed and the org baseline, per target --------------------------------

TARGETS = ["ram", "control-policy", "terraform", "ros", "cedar"]


def golden_command(target: str) -> list[str]:
    """What writes ``generated/<target>/`` (``generated/`` for ram), as `make test` checks
    it: the seed and the org baseline for every target, Cedar included."""
    out = "generated" if target == "ram" else f"generated/{target}"
    return ["compile", "policies", "--target", target, "--out", out]


@pytest.mark.parametrize("target", TARGETS)
def test_golden_files_are_fresh(repo, run_cli, monkeypatch, target):
    monkeypatch.chdir(repo)  # the .tf files name their source as given: relative
    result = run_cli(*golden_command(target), "--check")
    assert result.exit_code == 0, (
        result.stderr + "\nregenerate with: ramguard " + " ".join(golden_command(target))
    )


def test_make_test_checks_every_golden_directory(repo):
    makefile = (repo / "Makefile").read_text(encoding="utf-8")
    for target in TARGETS:
        assert "$(BIN)/ramguard " + " ".join(golden_command(target)) + " --check" in makefile


def test_golden_check_fails_when_stale(repo, run_cli, monkeypatch, tmp_path):
    # A copy of generated/terraform with the baseline's file changed is stale for --check.
    monkeypatch.chdir(repo)
    import shutil

    out = tmp_path / "terraform"
    shutil.copytree(repo / "generated" / "terraform", out)
    args = ["compile", "policies", "--target", "terraform", "--out", out, "--check"]
    assert run_cli(*args).exit_code == 0
    tf = out / "org-baseline.tf"
    tf.write_text(tf.read_text(encoding="utf-8").replace("r-example", "r-other"), "utf-8")
    result = run_cli(*args)
    assert result.exit_code == 1 and "org-baseline.tf: stale" in result.stderr


def test_golden_terraform_and_ros_read_back_to_the_json(repo):
    golden = repo / "generated"
    for name, kind in [
        ("leaked-accesskey-protection", "alicloud_ram_policy"),
        ("org-baseline", "alicloud_resource_manager_control_policy"),
    ]:
        ram = (golden / f"{name}.json").read_text(encoding="utf-8")
        limits = golden / "control-policy" / f"{name}.json"
        assert limits.read_text(encoding="utf-8") == ram  # fits in one document either way
        tf = _hcl((golden / "terraform" / f"{name}.tf").read_text(encoding="utf-8"))
        ((body,),) = [list(block[kind].values()) for block in tf["resource"] if kind in block]
        assert _terraform_value(body["policy_document"]) == ram
        ros = json.loads((golden / "ros" / f"{name}.ros.json").read_text(encoding="utf-8"))
        mains = [r for r in ros["Resources"].values() if not r["Type"].endswith("Attachment")]
        if len(mains) > 1:
            # Through ROS a control policy is split at the 2,048 characters ROS documents:
            # the parts are what `documents_for(…, "ros")` packs, and deny exactly what the
            # whole document denies (proved over every request).
            _ros_parts_mean_the_whole([m["Properties"]["PolicyDocument"] for m in mains], ram)
            continue
        document = mains[0]["Properties"]["PolicyDocument"]
        if isinstance(document, str):  # a control policy: the compact string ROS measures
            compact = json.dumps(json.loads(ram), separators=(",", ":"))
            assert document == compact and document_size(document) <= 2048
        else:  # a RAM policy: the document as a map
            assert document == json.loads(ram)
    baseline = _hcl((golden / "terraform" / "org-baseline.tf").read_text(encoding="utf-8"))
    attach = [b for b in baseline["resource"] if "_attachment" in next(iter(b))]
    assert attach and all(
        body["target_id"] == "r-example" for b in attach for body in next(iter(b.values())).values()
    )


def _ros_parts_mean_the_whole(parts: list[str], whole: str) -> None:
    from compiler.analysis.prove import compare, from_documents
    from compiler.ram import RamEvaluator

    assert all(document_size(p) <= 2048 for p in parts)
    split = RamEvaluator([(f"part{n}", json.loads(p)) for n, p in enumerate(parts)])
    one = RamEvaluator([("whole", json.loads(whole))])
    assert compare(from_documents("whole", one), from_documents("parts", split)).status == "equal"


def test_ros_packs_control_policies_against_2048(compile_text):
    (ir,) = compile_text(
        "policy big for control-policy\n"
        + "".join(
            f"deny ECS DeleteInstance when vpc in [vpc-{n:04d}aaaaaaaaaaaa]\n" for n in range(60)
        )
    ).policies
    control = documents_for(ir)
    ros = documents_for(ir, "ros")
    assert len(ros) > len(control) and all(d.limit == 2048 for d in ros)
    assert all(document_size(d.text) <= 2048 for d in ros)
    (ram_ir,) = compile_text("deny ECS DeleteInstance\n").policies
    assert documents_for(ram_ir, "ros")[0].limit == 6144  # a RAM policy keeps its own limit


def _readme_block(readme: str, marker: str) -> str:
    start = readme.index(marker)
    start = readme.index("```\n", start) + 4
    return readme[start : readme.index("```\n", start)]


def test_readme_shows_what_the_baseline_commands_print(repo, run_cli, monkeypatch):
    # Every `$ ramguard …` line of the README's end-to-end block is run here; what follows it
    # is what it prints (diagnostics on stderr first, as a terminal shows them), line for line.
    import shlex

    monkeypatch.chdir(repo)
    readme = (repo / "README.md").read_text(encoding="utf-8")
    block = _readme_block(readme, "<!-- org-baseline end to end")
    runs: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith("$ ramguard "):
            runs.append((line, []))
        else:
            runs[-1][1].append(line)
    assert len(runs) >= 7
    for command, shown in runs:
        result = run_cli(*shlex.split(command)[2:])
        assert result.exit_code == 0, (command, result.stderr)
        assert (result.stderr + result.stdout).splitlines() == shown, command
    # The Terraform excerpt is the committed file, but for lines cut with `…`.
    tf = (repo / "generated/terraform/org-baseline.tf").read_text(encoding="utf-8").splitlines()
    excerpt = _readme_block(
        readme, "`generated/terraform/org-baseline.tf` (the document"
    ).splitlines()
    assert len(excerpt) == len(tf)
    for want, have in zip(excerpt, tf, strict=True):
        assert have.startswith(want[:-1]) if want.endswith("…") else have == want
    ros = (repo / "generated/ros/org-baseline.ros.json").read_text(encoding="utf-8")
    assert _readme_block(readme, "besides the `ALIYUN::ResourceManager::ControlPolicy`") in ros
    rules = (repo / "policies/org-baseline/org-baseline.tests").read_text(encoding="utf-8")
    count = sum(line.startswith("expect ") for line in rules.splitlines())
    assert f"`policies/org-baseline/` (11 rules, {count} tests in" in readme


def test_colliding_terraform_labels_are_refused(compile_text):
    # `big` split in parts is `big_1`, `big_2`… in Terraform, as a policy `big-1` is.
    policy = compile_text(
        _many(60, "policy big\n"), "a.rules", ("b.rules", "policy big-1\ndeny ECS StopInstance\n")
    )
    assert len([d for d in policy.documents if d.policy == "big"]) >= 2
    with pytest.raises(CompileError, match="would both be `big_1`"):
        terraform_files(policy.policies, policy.documents)
    # ROS logical ids drop every separator: `p-1` and `p--1` are both `P1`.
    policy = compile_text(
        "policy p-1\ndeny ECS DeleteInstance\n",
        "a.rules",
        ("b.rules", "policy p--1\ndeny ECS StopInstance\n"),
    )
    with pytest.raises(CompileError, match="would both be `P1`"):
        ros_files(policy.policies, policy.documents)


def test_a_ram_policy_with_an_attach_list_is_refused(compile_text):
    # `for ram attach [...]` compiled, and Terraform/ROS wrote no attachment: the nodes were
    # dropped without a word.
    with pytest.raises(CompileError, match="a RAM policy is not attached to Resource Directory"):
        compile_text('policy p "x" for ram attach [fd-1]\ndeny ECS RunInstances\n')


def test_colliding_terraform_attachment_labels_are_refused(compile_text):
    # Attachments are `<policy>_<node>`: `cp` on fd-p-1… and `cp-fd` on account 1… are both
    # `cp_fd_p_1…`; Terraform rejects a module declaring one resource twice.
    policy = compile_text(
        'policy cp "a" for control-policy attach [fd-p-1234567890123456]\ndeny ECS StopInstance\n',
        "a.rules",
        (
            "b.rules",
            'policy cp-fd "b" for control-policy attach [1234567890123456]\ndeny ECS RunCommand\n',
        ),
    )
    with pytest.raises(CompileError, match="would both be `cp_fd_p_1234567890123456`"):
        terraform_files(policy.policies, policy.documents)
    # A policy and an attachment may share a label: their resource types differ.
    policy = compile_text(
        'policy cp "a" for control-policy attach [fd-x]\ndeny ECS StopInstance\n',
        "a.rules",
        ("b.rules", 'policy cp-fd-x "b" for control-policy attach [fd-y]\ndeny ECS RunCommand\n'),
    )
    for file in terraform_files(policy.policies, policy.documents):
        hcl2.loads(file.text)


def test_fmt_keeps_comments_inside_the_attach_list():
    text = (
        'policy p "d" for control-policy attach [  # where\n'
        "  r-1,  # the Root\n"
        "  fd-2,\n"
        "]  # tail\n"
        "# body\n"
        "deny ECS DeleteInstance\n"
    )
    assert format_source("t.rules", text) == text
    squeezed = text.replace("[  # where\n  r-1,", "[ # where\n r-1 ,")
    assert format_source("t.rules", squeezed) == text
    one_line = "policy p for control-policy attach [r-1, fd-2]  # tail\ndeny ECS DeleteInstance\n"
    assert format_source("t.rules", one_line) == one_line


# --- attachments from org.toml (issue 12 item 3) ------------------------------------------

_ORG_RULES = {
    "guard.rules": 'policy guard "Root guardrails" for control-policy attach [r-1]\n'
    "deny ResourceManager RemoveCloudAccount\n",
    "prod.rules": 'policy prod-only "Production" for control-policy\nallow ECS *\nallow RAM *\n',
    "keys.rules": "policy keys for control-policy\ndeny RAM CreateAccessKey unless mfa = true\n",
    "seed.rules": "policy seed\ndeny ECS DeleteInstance\n",
}
_ORG_TOML = """[root]
id = "r-1"

[[folder]]
id = "fd-prod"
parent = "r-1"
full_aliyun_access = false
policies = ["prod-only", "keys"]

[[folder]]
id = "fd-dev"
parent = "r-1"
policies = ["keys"]

[[account]]
id = "1234567890123456"
parent = "fd-prod"
policies = ["guard"]
"""


def _org_project(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    for name, text in _ORG_RULES.items():
        (rules / name).write_text(text, encoding="utf-8")
    (rules / "org.toml").write_text(_ORG_TOML, encoding="utf-8")
    return rules


def _org_attachments(org_toml: str) -> set[tuple[str, str]]:
    """(policy, node) as org.toml and the headers say, read with tomllib: the oracle."""
    import tomllib

    data = tomllib.loads(org_toml)
    nodes = [data["root"], *data.get("folder", []), *data.get("account", [])]
    pairs = {(name, n["id"]) for n in nodes for name in n.get("policies", [])}
    return pairs | {("guard", "r-1")}  # guard.rules' header: attach [r-1]


def test_terraform_attachments_follow_org_toml(tmp_path, run_cli):
    rules = _org_project(tmp_path)
    out = tmp_path / "tf"
    result = run_cli("compile", rules, "--target", "terraform", "--out", out)
    assert result.exit_code == 0, result.stderr
    labels: dict[str, str] = {}  # Terraform label of each control policy → its name
    found: set[tuple[str, str]] = set()
    for tf in sorted(out.glob("*.tf")):
        for block in _hcl(tf.read_text(encoding="utf-8"))["resource"]:
            for label, body in block.get("alicloud_resource_manager_control_policy", {}).items():
                labels[label] = body["control_policy_name"]
    for tf in sorted(out.glob("*.tf")):
        for block in _hcl(tf.read_text(encoding="utf-8"))["resource"]:
            kind = "alicloud_resource_manager_control_policy_attachment"
            for body in block.get(kind, {}).values():
                ref = body["policy_id"]  # ${alicloud_resource_manager_control_policy.L.id}
                label = ref.removeprefix("${").removesuffix("}").split(".")[1]
                found.add((labels[label], body["target_id"]))
    assert found == _org_attachments(_ORG_TOML)
    # The RAM policy is deployed, attached nowhere (RAM policies go to principals).
    (seed,) = _hcl((out / "seed.tf").read_text(encoding="utf-8"))["resource"]
    assert list(seed) == ["alicloud_ram_policy"]
    # Attachments follow org.toml: a node that stops listing a policy makes its file stale.
    org = rules / "org.toml"
    org.write_text(_ORG_TOML.replace('policies = ["keys"]\n', ""), encoding="utf-8")
    check = run_cli("compile", rules, "--target", "terraform", "--out", out, "--check")
    assert check.exit_code == 1 and "keys.tf: stale" in check.stderr
    assert "guard.tf" not in check.stderr and "prod-only.tf" not in check.stderr


def test_ros_attachments_follow_org_toml(tmp_path, run_cli):
    rules = _org_project(tmp_path)
    out = tmp_path / "ros"
    result = run_cli("compile", rules, "--target", "ros", "--out", out)
    assert result.exit_code == 0, result.stderr
    # FullAliyunAccess is detached from fd-prod in org.toml, which no ROS resource does: said.
    assert "detaches FullAliyunAccess from fd-prod: the ros output" in result.stderr
    assert "detach" not in run_cli("compile", rules, "--target", "ros", "--out", out, "-q").stderr
    found: set[tuple[str, str]] = set()
    for path in sorted(out.glob("*.ros.json")):
        resources = json.loads(path.read_text(encoding="utf-8"))["Resources"]
        for resource in resources.values():
            if resource["Type"] != "ALIYUN::ResourceManager::ControlPolicyAttachment":
                continue
            logical_id, attribute = resource["Properties"]["PolicyId"]["Fn::GetAtt"]
            assert attribute == "PolicyId"
            policy = resources[logical_id]
            assert policy["Type"] == "ALIYUN::ResourceManager::ControlPolicy"
            found.add(
                (policy["Properties"]["ControlPolicyName"], resource["Properties"]["TargetId"])
            )
    assert found == _org_attachments(_ORG_TOML)


def test_org_option_and_the_headers_alone(tmp_path, run_cli):
    rules = _org_project(tmp_path)
    org = tmp_path / "elsewhere.toml"
    (rules / "org.toml").rename(org)
    # Without an org only the header's `attach [r-1]` is deployed.
    out = tmp_path / "headers"
    assert run_cli("compile", rules, "--target", "terraform", "--out", out).exit_code == 0
    text = "".join(p.read_text(encoding="utf-8") for p in sorted(out.glob("*.tf")))
    assert text.count("_attachment") == 1 and '"r-1"' in text
    out = tmp_path / "org"
    result = run_cli("compile", rules, "--target", "terraform", "--org", org, "--out", out)
    assert result.exit_code == 0, result.stderr
    text = "".join(p.read_text(encoding="utf-8") for p in sorted(out.glob("*.tf")))
    assert text.count("alicloud_resource_manager_control_policy_attachment") == 5
    # --org decides nothing for the JSON targets: a usage error, not silently ignored.
    result = run_cli("compile", rules, "--org", org, "--out", tmp_path / "ram")
    assert result.exit_code == 2 and "--target terraform" in result.stderr
    # A policy org.toml names that the rules lack is the org's error, and nothing is written.
    org.write_text(_ORG_TOML.replace('["guard"]', '["gaurd"]'), encoding="utf-8")
    out = tmp_path / "bad"
    result = run_cli("compile", rules, "--target", "ros", "--org", org, "--out", out)
    assert result.exit_code == 1 and "no policy `gaurd` in the compiled rules" in result.stderr
    assert not out.exists()


# --- ROS measures the PolicyDocument it writes (issue 12 item 4) ----------------------------


def _between(compact_max: int, indented_min: int, compile_text):
    """A control policy whose compact JSON fits in ``compact_max`` characters but whose
    indented JSON is over ``indented_min``."""
    for n in range(1, 200):
        text = "policy mid for control-policy attach [r-1]\n" + "".join(
            f"deny ECS DeleteInstance when vpc in [vpc-{i:04d}aaaaaaaaaaaa]\n" for i in range(n)
        )
        policy = compile_text(text)
        (ir,) = policy.policies
        (whole,) = documents_for(ir, "control-policy")
        compact = json.dumps(whole.as_dict(), separators=(",", ":"))
        if len(compact) <= compact_max and len(whole.text) > indented_min:
            return policy
    raise AssertionError("no such policy")


def test_ros_counts_the_compact_string_it_writes(compile_text):
    # Indented, this policy is over ROS's 2,048 characters; as ROS holds it (the compact
    # string) it fits: one ControlPolicy and one attachment, not two parts taking two of a
    # node's 10 slots.
    policy = _between(2048, 2048, compile_text)
    (ir,) = policy.policies
    (doc,) = documents_for(ir, "ros")
    (ros,) = ros_files(policy.policies, documents_for(ir, "ros"))
    resources = json.loads(ros.text)["Resources"]
    kinds = sorted(r["Type"] for r in resources.values())
    assert kinds == [
        "ALIYUN::ResourceManager::ControlPolicy",
        "ALIYUN::ResourceManager::ControlPolicyAttachment",
    ]
    (cp,) = [r for r in resources.values() if r["Type"].endswith("ControlPolicy")]
    emitted = cp["Properties"]["PolicyDocument"]
    assert emitted == doc.text and document_size(emitted) <= 2048  # what is measured is written
    assert "\n" not in emitted and ", " not in emitted
    assert json.loads(emitted) == json.loads(documents_for(ir)[0].text)  # the same statements


def test_ros_parts_are_packed_full_on_the_compact_measure(compile_text):
    (ir,) = compile_text(
        "policy big for control-policy\n"
        + "".join(
            f"deny ECS DeleteInstance when vpc in [vpc-{n:04d}aaaaaaaaaaaa]\n" for n in range(60)
        )
    ).policies
    parts = documents_for(ir, "ros")
    assert len(parts) >= 2
    assert all(document_size(p.text) <= 2048 for p in parts)
    assert all(document_size(p.text) > 2048 - 120 for p in parts[:-1])  # nearly full
    # The same statements, in the same order, as the documents of the other targets.
    whole = [s for d in documents_for(ir) for s in json.loads(d.text)["Statement"]]
    assert [s for p in parts for s in json.loads(p.text)["Statement"]] == whole
