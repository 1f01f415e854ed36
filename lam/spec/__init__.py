"""OpenAPI specs: loading (:mod:`.loader`), the operation index (:mod:`.operations`), ``$ref``
bundling (:mod:`.refs`), schema validators (:mod:`.schema`), the content-hash cache
(:mod:`.cache`), the full spec check (:mod:`.check`) and the ``$ref`` fan-out guard
(:mod:`.fanout`). The rest of lam imports from here."""

from lam.spec.loader import (
    METHODS,
    Operation,
    Parameter,
    SchemaValidator,
    Spec,
    SpecProblem,
    check_spec,
    load_spec,
)
from lam.spec.schema import SchemaProblem

__all__ = [
    "METHODS",
    "Operation",
    "Parameter",
    "SchemaProblem",
    "SchemaValidator",
    "Spec",
    "SpecProblem",
    "check_spec",
    "load_spec",
]
