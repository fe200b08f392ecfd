"""What the model reads from the catalog beyond services and operations: condition keys per
service and ARN templates per operation.

The catalog grows these from OpenMeta (``ramActions``) while this code is written, so every
read goes through this small accessor: when the catalog offers nothing, the answer is None
("not known"), and the checker accepts any well-formed key or ARN for that service.
"""

from __future__ import annotations

from compiler.catalog import Service
from compiler.model.glob import PLACEHOLDER


def _call_or_value(obj: object, names: tuple[str, ...], *args: object) -> object | None:
    for name in names:
        found = getattr(obj, name, None)
        if found is None:
            continue
        if callable(found):
            try:
                return found(*args)
            except TypeError:
                continue
        if isinstance(found, dict):
            return found.get(args[0]) if args else found
        return found
    return None


def service_keys(service: Service) -> dict[str, str] | None:
    """The service's condition keys (RAM key → kind name, ``string`` when untyped), or None
    when the catalog lists none for it."""
    found = _call_or_value(service, ("condition_keys", "keys_", "ram_keys"))
    if not found:
        return None
    if isinstance(found, dict):
        return {str(k): kind_name(str(v or "string")) for k, v in found.items()}
    return {str(k): "string" for k in found}


def arn_templates(service: Service, operation: str) -> tuple[str, ...] | None:
    """ARN templates the catalog has for ``operation`` of ``service``
    (``acs:ecs:{#regionId}:{#accountId}:instance/{#instanceId}``), or None when it has none."""
    found = _call_or_value(service, ("arn_templates", "resource_arns", "resources_for"), operation)
    if not found:
        return None
    return tuple(str(t) for t in found)


def template_glob(template: str) -> str:
    """A template as a glob: each placeholder (``{#regionId}``, ``${InstanceId}``,
    ``<bucket>``) becomes ``PLACEHOLDER`` (one ID: any run without `:` or `/`), so that
    `acs:ecs:*:*:disk/*` matches no instance template even though its `*`s could span the
    separators."""
    out: list[str] = []
    closing = {"{": "}", "<": ">"}
    stack: list[str] = []
    for ch in template:
        if ch in closing:
            if not stack:
                if out and out[-1] == "$":
                    out.pop()  # `${…}`
                out.append(PLACEHOLDER)
            stack.append(closing[ch])
        elif stack and ch == stack[-1]:
            stack.pop()
        elif not stack:
            out.append(ch)
    return "".join(out)


def kind_name(catalog_type: str) -> str:
    """The catalog's key type (OpenMeta: ``String``, ``Boolean``, ``Numeric``, ``Date``,
    ``IPAddress``…) as a ``KeyKind`` value; anything unrecognised is a string."""
    low = catalog_type.lower()
    if low.startswith("bool"):
        return "bool"
    if low.startswith(("numer", "number", "int", "long", "float", "double")):
        return "number"
    if low.startswith(("date", "time")):
        return "time"
    if low.startswith("ip"):
        return "ip"
    return "string"
