"""Strict FHIR R4 validation of a Bundle's resources (fhir.resources, R4B
models), asked for with ``POST /v1/match?fhir=strict``.

The default reader (``matcher.fhir_in``) is lenient: it reads the elements it
needs and names any of those that are broken.  Strict mode also refuses a
Bundle holding any resource that is not valid FHIR (two ``value[x]`` on one
Observation, a code outside its value set, a malformed date), every problem
named by its JSON pointer.  Messages are pydantic's rule texts, never the
values sent.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from matcher.service.problems import pointer_of_loc, problem


def _model(resource_type: str) -> Any:
    from fhir.resources.R4B import get_fhir_model_class

    try:
        return get_fhir_model_class(resource_type)
    except (KeyError, ValueError, ImportError, AttributeError):
        return None


def bundle_problems(bundle: dict[str, Any]) -> list[dict[str, str]]:
    """Every FHIR rule a Bundle's resources break, by JSON pointer."""
    out: list[dict[str, str]] = []
    entries = bundle.get("entry")
    if not isinstance(entries, list):
        return out  # the lenient reader names a missing or broken entry list
    for i, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            continue
        where = ["entry", i, "resource"]
        model = _model(str(resource.get("resourceType", "")))
        if model is None:
            out.append(problem(pointer_of_loc([*where, "resourceType"]),
                               "not a FHIR R4 resource type"))
            continue
        try:
            model.model_validate(resource)
        except ValidationError as err:
            for e in err.errors(include_input=False, include_url=False):
                loc = [p for p in e["loc"] if p != "__root__"]
                message = str(e["msg"]).removeprefix("Value error, ")
                out.append(problem(pointer_of_loc([*where, *loc]), message))
        except (ValueError, TypeError) as err:
            out.append(problem(pointer_of_loc(where), f"invalid ({type(err).__name__})"))
    return out
