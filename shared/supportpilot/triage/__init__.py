"""Triage: category, language and emotional load of an inbound message, behind a model-agnostic interface."""

from supportpilot.triage.interface import (
    CATEGORIES,
    OUT_OF_SCOPE,
    SUPPORTED_LANGUAGES,
    TriageInput,
    Triager,
    load_triager,
)

__all__ = ["CATEGORIES", "OUT_OF_SCOPE", "SUPPORTED_LANGUAGES", "TriageInput", "Triager", "load_triager"]
