"""What the review forms share: field shapes Prefect's default UI shows well, initial values that
keep each field's help text, links into the UI, and a run's end under a name of its own."""

from datetime import datetime
from typing import Annotated, Any, TypeVar, cast

import pydantic
from prefect.input import RunInput
from prefect.settings import PREFECT_UI_URL
from prefect.states import Completed
from pydantic import Field, WithJsonSchema
from pydantic.fields import FieldInfo

Form = TypeVar("Form", bound=RunInput)
Result = TypeVar("Result")


def _no_null_default(schema: dict[str, Any]) -> None:
    """The default UI sends a default of null back, and its own check then refuses null for a
    date-time: leave the default out when it is None (the model still uses None)."""
    if "default" in schema and schema["default"] is None:
        del schema["default"]


OptionalDateTime = Annotated[
    datetime | None,
    WithJsonSchema({"type": "string", "format": "date-time"}),
    Field(json_schema_extra=_no_null_default),
]
"""One plain date-time picker with its help text; left empty, the value is None."""

LongText = Annotated[str, WithJsonSchema({"type": "string", "format": "json-string"})]
"""A box as tall as the text (the default UI's code editor; it takes any text, Markdown too),
where a plain string would get a one-line box."""


def with_initial_data(
    form: type[Form], description: str | None = None, lead: str | None = None, **values: Any
) -> type[Form]:
    """The form with these initial values, each field keeping its help text and its shape.

    Prefect's own `with_initial_data` rebuilds a field from its value alone and so drops both.
    lead (Markdown) goes before the first field's help text: the default UI squeezes the
    description above a long form to nothing, while the first field's help stays in sight.
    """
    descriptions: dict[str, str] = {}
    if lead is not None:
        first, first_field = next(iter(form.model_fields.items()))
        descriptions[first] = f"{lead}\n\n{first_field.description or ''}".strip()
    fields: dict[str, Any] = {}
    for name in values.keys() | descriptions.keys():
        original = form.model_fields[name]
        overrides: dict[str, Any] = {}
        if name in values:
            overrides["default"] = values[name]
        if name in descriptions:
            overrides["description"] = descriptions[name]
        field = FieldInfo.merge_field_infos(original, **overrides)
        if name in values:
            field.default_factory = None
        fields[name] = (original.annotation, field)
    model = pydantic.create_model(form.__name__, __base__=form, **fields)
    if description is not None:
        model._description = description
    return model


def ui_link(path: str) -> str | None:
    """The address of a page of the Prefect UI: PREFECT_UI_URL, else the API's address less
    `/api`; None on the temporary server, which serves no UI that outlives the run."""
    base = PREFECT_UI_URL.value()
    return f"{base.rstrip('/')}{path}" if base else None


def artifact_link(key: str, label: str) -> str:
    """Markdown for the history page of a keyed artifact: a link where the UI has an address."""
    address = ui_link(f"/artifacts/key/{key}")
    return f"[{label}]({address})" if address else f"{label} (Artifacts, key `{key}`)"


def ended_as(name: str, message: str, result: Result) -> Result:
    """End the run Completed under this name, so that the runs list tells the outcome apart.

    Prefect hands the data of a state a flow returns to whoever called the flow, so a call
    from Python or the command line still gets the result itself.
    """
    return cast(Result, Completed(name=name, message=message, data=result))
