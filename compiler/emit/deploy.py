"""Policy documents → what teams deploy with: Terraform (HCL) and ROS templates.

``ramguard compile --target terraform`` writes one ``<policy>.tf`` per policy and
``--target ros`` one ``<policy>.ros.json``. Python decides the content (which resource type,
names, labels, attachments); the templates ``terraform.tf.j2`` and ``ros.json.j2`` only lay it
out, and every value enters them through an encoding filter (``hcl`` or ``json``), never
pasted. The policy document inside is the RAM-language JSON that ``--target ram`` writes,
byte for byte (ROS's ``ALIYUN::RAM::ManagedPolicy`` takes it as a map: the same JSON, parsed).

Resource types and properties, as documented (checked 2026-12-03):

- Terraform ``alicloud_ram_policy`` (policy_name, policy_document, description):
  https://help.aliyun.com/zh/terraform/alicloud-ram-policy
- ``alicloud_resource_manager_control_policy`` (control_policy_name, description,
  effect_scope = "RAM", policy_document): https://help.aliyun.com/zh/terraform/kan-108
- ``alicloud_resource_manager_control_policy_attachment`` (policy_id, target_id):
  https://help.aliyun.com/zh/terraform/kan-111
- ROS ``ALIYUN::RAM::ManagedPolicy`` (PolicyName, Description, PolicyDocument: Map):
  https://alibabacloud.com/help/en/ros/developer-reference/aliyun-ram-managedpolicy
- ROS ``ALIYUN::ResourceManager::ControlPolicy`` (ControlPolicyName, Description,
  EffectScope "RAM", PolicyDocument: String; Fn::GetAtt PolicyId):
  https://alibabacloud.com/help/en/ros/developer-reference/aliyun-resourcemanager-controlpolicy
- ROS ``ALIYUN::ResourceManager::ControlPolicyAttachment`` (PolicyId, TargetId: the Root
  folder, a folder or a member account): https://www.alibabacloud.com/help/doc-detail/215756.htm
  (and the provider's ``website/docs/r/resource_manager_control_policy_attachment.html.markdown``,
  read 2026-12-03: ``policy_id``, ``target_id``, both ForceNew).

Where a control policy is attached: with an ``org.toml`` (beside the rules or ``--org``), at
every node whose attached policies name it (its ``policies = [...]`` list and the headers'
``attach [...]``, as ``model/org.bind_org`` completes them; the chain decisions rest on the
same list, so what is deployed is what ``test``, ``prove`` and ``decide --account`` decided);
without one, at the nodes of its header's ``attach [...]``. Nodes come in org.toml's order.

HCL strings: JSON's escapes are not HCL's (HCL has no ``\\b``, ``\\f`` or ``\\/``), so
``hcl_string`` writes its own: ``\\"``, ``\\\\``, ``\\n``, ``\\r``, ``\\t``, ``\\uXXXX`` or
``\\UXXXXXXXX`` for every other control or non-ASCII character, and doubles the template
introducers ``${`` → ``$${`` and ``%{`` → ``%%{`` so no value is ever interpolated.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from compiler.emit.ram import Document
from compiler.language.diagnostics import CompileError, Span, error
from compiler.model.ir import PolicyIR

if TYPE_CHECKING:
    import jinja2

    from compiler.model.org import Org

TF_SUFFIX = ".tf"
ROS_SUFFIX = ".ros.json"
ROS_FORMAT_VERSION = "2015-09-01"
_RAM_TF = "alicloud_ram_policy"
_CP_TF = "alicloud_resource_manager_control_policy"
_CP_ATTACH_TF = "alicloud_resource_manager_control_policy_attachment"
_RAM_ROS = "ALIYUN::RAM::ManagedPolicy"
_CP_ROS = "ALIYUN::ResourceManager::ControlPolicy"
_CP_ATTACH_ROS = "ALIYUN::ResourceManager::ControlPolicyAttachment"


@dataclass(frozen=True, slots=True)
class DeployFile:
    """One emitted Terraform or ROS file (``output.plan_output`` writes these)."""

    policy: str
    filename: str
    text: str


def hcl_string(value: str) -> str:
    """``value`` as an HCL quoted string literal that reads back as exactly ``value``."""
    out = ['"']
    for ch in value:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif code < 0x20 or code >= 0x7F:
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(ch)
    out.append('"')
    # Escaping leaves `$`, `%` and `{` as they were, so the introducers are doubled last.
    return "".join(out).replace("${", "$${").replace("%{", "%%{")


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=True, sort_keys=True)


def _json_block(value: object, indent: int) -> str:
    """Pretty JSON whose continuation lines sit ``indent`` spaces in."""
    text = json.dumps(value, ensure_ascii=True, sort_keys=True, indent=2)
    return text.replace("\n", "\n" + " " * indent)


@cache
def _env() -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("compiler.emit", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
    )
    env.filters["hcl"] = hcl_string
    env.filters["json"] = _json
    env.filters["json_block"] = _json_block
    return env


_LABEL_BAD = re.compile(r"[^A-Za-z0-9_]")


def _tf_label(text: str) -> str:
    """A Terraform block label/identifier: letters, digits, ``_``; not starting with a digit
    (it is also the name in ``alicloud_….LABEL.id`` references, which cannot be quoted)."""
    label = _LABEL_BAD.sub("_", text)
    return label if label[:1].isalpha() or label[:1] == "_" else "p_" + label


def _ros_id(text: str) -> str:
    """A ROS logical id: letters and digits (``org-baseline`` → ``OrgBaseline``)."""
    parts = re.split(r"[^A-Za-z0-9]+", text)
    ident = "".join(p[:1].upper() + p[1:] for p in parts if p)
    return ident if ident[:1].isalpha() else "P" + ident


@dataclass(frozen=True, slots=True)
class _Part:
    """One deployed policy: a document of the policy (several when it was split)."""

    name: str
    label: str
    ros_id: str
    document: Document


def _parts(policy: PolicyIR, documents: list[Document]) -> list[_Part]:
    # A split policy deploys as `<name>-1`, `<name>-2`…, one resource per document, in the
    # same order as `<name>.1.json`, `<name>.2.json`.
    mine = [d for d in documents if d.policy == policy.name]
    if len(mine) == 1:
        return [_Part(policy.name, _tf_label(policy.name), _ros_id(policy.name), mine[0])]
    return [
        _Part(
            f"{policy.name}-{n}", _tf_label(f"{policy.name}_{n}"), _ros_id(f"{policy.name}-{n}"), d
        )
        for n, d in enumerate(mine, start=1)
    ]


Attachments = Mapping[str, tuple[str, ...]]
"""Policy name → the node ids (Root, folder or account) it is attached to."""


def attachments_from(policies: tuple[PolicyIR, ...], org: Org | None = None) -> dict:
    """Where each control policy is attached: the bound ``org``'s nodes listing it (in file
    order), or without an org its header's ``attach [...]``."""
    if org is None:
        return {p.name: p.attach for p in policies if p.deploy == "control-policy"}
    return {
        p.name: tuple(n.id for n in org.nodes if p.name in n.policies)
        for p in policies
        if p.deploy == "control-policy"
    }


def _nodes(policy: PolicyIR, attach: Attachments | None) -> tuple[str, ...]:
    if policy.deploy != "control-policy":
        return ()
    return policy.attach if attach is None else attach.get(policy.name, ())


def _tf_attachments(
    policy: PolicyIR, parts: list[_Part], attach: Attachments | None = None
) -> list[tuple[str, str, str]]:
    """(label, policy label, node) of each attachment: one per (document, node)."""
    return [
        (f"{p.label}_{_tf_label(target)}", p.label, target)
        for p in parts
        for target in _nodes(policy, attach)
    ]


def _unique_labels(
    policies: tuple[PolicyIR, ...], documents: list[Document], attach: Attachments | None = None
) -> None:
    """Terraform reads every ``.tf`` of a directory as one module, so two policies whose
    labels coincide (``big`` split in two gives ``big_1``, as does a policy ``big-1``) would
    declare one resource twice: refuse, naming the second policy."""
    seen: dict[tuple[str, str], str] = {}
    for policy in policies:
        parts = _parts(policy, documents)
        # Keyed by namespace: a policy and an attachment may share a label (their resource
        # types differ), two attachments may not (`cp` on fd-p-1… and `cp-fd` on account 1…
        # are both `cp_fd_p_1…`).
        keys = [("resource", p.label) for p in parts]
        keys += [("attachment", label) for label, _, _ in _tf_attachments(policy, parts, attach)]
        keys += [("ros", p.ros_id) for p in parts]
        for key in keys:
            label = key[1]
            other = seen.setdefault(key, policy.name)
            if other != policy.name:
                raise CompileError(
                    [
                        error(
                            "E0310",
                            f"policy `{policy.name}` and policy `{other}` would both be "
                            f"`{label}` in Terraform/ROS",
                            policy.span or Span(policy.file, 1, 1, 1, 1),
                            help="rename one of them",
                        )
                    ]
                )


def terraform_files(
    policies: tuple[PolicyIR, ...], documents: list[Document], attach: Attachments | None = None
) -> list[DeployFile]:
    """One ``<policy>.tf`` per policy: its resource(s) and, for a control policy, one
    attachment per (document, node) it is attached to (``attach``: ``attachments_from``;
    None: the headers' ``attach [...]``)."""
    _unique_labels(policies, documents, attach)
    template = _env().get_template("terraform.tf.j2")
    out = []
    for policy in policies:
        control = policy.deploy == "control-policy"
        parts = _parts(policy, documents)
        attachments = _tf_attachments(policy, parts, attach)
        text = template.render(
            source=policy.file,
            control=control,
            resource_type=_CP_TF if control else _RAM_TF,
            attach_type=_CP_ATTACH_TF,
            parts=parts,
            description=policy.description,
            attachments=attachments,
        )
        out.append(DeployFile(policy.name, policy.name + TF_SUFFIX, text))
    return out


def ros_files(
    policies: tuple[PolicyIR, ...], documents: list[Document], attach: Attachments | None = None
) -> list[DeployFile]:
    """One ROS template (JSON) per policy, ``<policy>.ros.json``; a control policy's
    attachments as ``terraform_files``'."""
    _unique_labels(policies, documents, attach)
    template = _env().get_template("ros.json.j2")
    out = []
    for policy in policies:
        control = policy.deploy == "control-policy"
        parts = _parts(policy, documents)
        resources: list[tuple[str, str, dict]] = []
        for part in parts:
            if control:
                props: dict[str, object] = {
                    "ControlPolicyName": part.name,
                    "EffectScope": "RAM",
                    "PolicyDocument": part.document.text,
                }
                if policy.description is not None:
                    props["Description"] = policy.description
                resources.append((part.ros_id, _CP_ROS, props))
                for n, target in enumerate(_nodes(policy, attach), start=1):
                    ref = {"Fn::GetAtt": [part.ros_id, "PolicyId"]}
                    link = {"PolicyId": ref, "TargetId": target}
                    resources.append((f"{part.ros_id}Attachment{n}", _CP_ATTACH_ROS, link))
            else:
                props = {"PolicyName": part.name, "PolicyDocument": part.document.as_dict()}
                if policy.description is not None:
                    props["Description"] = policy.description
                resources.append((part.ros_id, _RAM_ROS, props))
        text = template.render(
            version=ROS_FORMAT_VERSION,
            description=f"ramguard policy {policy.name} ({policy.deploy})",
            resources=resources,
        )
        out.append(DeployFile(policy.name, policy.name + ROS_SUFFIX, text))
    return out
