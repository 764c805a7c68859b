"""Constrained field types shared by the service layer's inputs: what the API accepts is what the database
can hold (ids fit a 32-bit integer, times a plausible epoch, names a column)."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

Id = Annotated[int, Meta(ge=1, le=2**31 - 1)]
Epoch = Annotated[float, Meta(ge=0, le=1e11)]
Limit = Annotated[int, Meta(ge=1, le=2**31 - 1)]  # rpm, tpm, concurrent
Name = Annotated[str, Meta(min_length=1, max_length=200)]
Text = Annotated[str, Meta(max_length=200)]
Note = Annotated[str, Meta(max_length=2000)]
Amount = Annotated[str, Meta(min_length=1, max_length=40)]  # currency units, e.g. "12.5"
Status = Annotated[int, Meta(ge=100, le=599)]
