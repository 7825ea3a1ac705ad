"""Where the sentence encoder lives and which one it is, without numpy: a cascade checks at load that its second
stage's encoder is there, before any message needs it (`linear_model.CascadeModel`)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

ENCODER_DIR_VARIABLE = "SUPPORTPILOT_ENCODER_DIR"
# A model's encoder spec key for its fine-tuned tensors (`sentence_encoder.SentenceEncoder.with_tuned`).
TUNED_KEY = "tuned"


def default_encoder_dir() -> Path:
    """Where the fetched encoder lives: `$SUPPORTPILOT_ENCODER_DIR`, else `.cache/encoder` in the source tree."""
    configured = os.environ.get(ENCODER_DIR_VARIABLE)
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[3] / ".cache" / "encoder"


def encoder_spec(directory: Path) -> dict[str, Any]:
    """How a model names the encoder in `directory` (model.json `encoder`); FileNotFoundError when there is none."""
    metadata = json.loads((Path(directory) / "encoder.json").read_text())
    return {
        "package": metadata["package"],
        "version": metadata["version"],
        "integrity": metadata["integrity"],
        "dimensions": int(metadata["embedding_size"]),
    }


def base_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """A model's encoder spec without its fine-tuned tensors: the installed encoder it builds on."""
    return {key: value for key, value in spec.items() if key != TUNED_KEY}
