"""The table of surfaces is the one place per-surface facts live, and everything that names a surface agrees."""

from __future__ import annotations

from typing import get_args

from onegate.dialects import render
from onegate.dialects.protocols import TranslatingCodec
from onegate.dialects.registry import CODECS
from onegate.providers.selftest import SelftestProvider
from onegate.server.routes import API_ROUTES, MODEL_ROUTE, OPS_ROUTES, PREFIX_ROUTES
from onegate.surfaces import SURFACE_OF_FAMILY, SURFACES, Family, SurfaceId, native_surfaces


def test_the_literal_and_the_table_list_the_same_surfaces():
    assert set(get_args(SurfaceId)) == set(SURFACES)
    assert all(surface.id == key for key, surface in SURFACES.items())


def test_every_codec_a_surface_names_is_registered_under_that_name():
    for surface in SURFACES.values():
        if surface.codec is not None:
            assert CODECS[surface.codec].name == surface.codec
    assert {s.codec for s in SURFACES.values() if s.codec} == set(CODECS)


def test_every_endpoint_answers_in_a_surface_of_the_table():
    endpoints = [*API_ROUTES.values(), *OPS_ROUTES.values(), MODEL_ROUTE, *(e for _, _, e in PREFIX_ROUTES)]
    assert {e.dialect for e in endpoints} <= set(SURFACES)


def test_every_family_has_a_renderer_and_a_surface_to_answer_in():
    assert set(get_args(Family)) == set(render._BY_FAMILY) == set(SURFACE_OF_FAMILY)
    assert all(SURFACES[surface].family == family for family, surface in SURFACE_OF_FAMILY.items())


def test_what_an_openai_upstream_serves_as_sent():
    openai = {"openai_chat", "openai_completions", "openai_embeddings", "openai_images", "openai_videos"}
    assert native_surfaces("openai") == openai
    assert native_surfaces("anthropic") == {"anthropic_messages", "anthropic_count_tokens"}
    assert SelftestProvider.native_dialects == native_surfaces("openai")
    # a surface served as sent needs a codec to patch the body and relay the answer (video tasks are served
    # by their own adapters, media/adapters/, not by the planner)
    served = native_surfaces("openai", "openai_responses", "anthropic") - {"openai_videos"}
    assert all(SURFACES[s].codec for s in served)


def test_only_token_counting_is_free_and_only_embeddings_have_no_output():
    assert {s.id for s in SURFACES.values() if not s.billed} == {"anthropic_count_tokens"}
    assert {s.id for s in SURFACES.values() if not s.has_output} == {"openai_embeddings"}
    assert {s.id for s in SURFACES.values() if not s.streams} == {"openai_embeddings", "openai_videos"}


def test_surfaces_translated_through_the_hub_have_a_translating_codec():
    translated = {"openai_chat", "openai_chat_responses_body", "openai_responses", "anthropic_messages"}
    assert {name for name, codec in CODECS.items() if isinstance(codec, TranslatingCodec)} == translated
