"""Function settings: one small pydantic model per function, validated at cold start."""

import os
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

SettingsT = TypeVar("SettingsT", bound="FunctionSettings")


class SettingsError(RuntimeError):
    pass


class FunctionSettings(BaseModel):
    """Fields map to upper-case environment variables of the same name."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    @classmethod
    def from_environment(cls: type[SettingsT], environ: dict[str, str] | None = None) -> SettingsT:
        source = os.environ if environ is None else environ
        values = {name: source[name.upper()] for name in cls.model_fields if name.upper() in source}
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = ", ".join(f"{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
            raise SettingsError(f"{cls.__name__} is misconfigured: {problems}") from None


class TableSettings(FunctionSettings):
    """Settings of a function that reads or writes the ticket table."""

    table_name: str
    ticket_retention_days: int = 730
