"""Step 2: may this key make this request now? (Model permission today; limits and balance later.)"""

from __future__ import annotations

from onegate import errors
from onegate.apikeys import KeyRecord
from onegate.errors import GatewayError


def admit(key: KeyRecord, model: str) -> None:
    if not key.allows(model):
        allowed = ", ".join(key.models or ())
        raise GatewayError(
            errors.MODEL_NOT_ALLOWED,
            f"The key {key.mask} may not use the model '{model}'. It may use: {allowed}.",
            param="model",
        )
