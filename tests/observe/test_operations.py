"""`gen_ai.operation.name` for every surface, images and video included: OpenTelemetry registers no image or
video operation, so onegate names them `generate_image` and `generate_video`; a request that calls no
model (a video's content, cancelling it) carries none, in the metrics and in the traces alike."""

from __future__ import annotations

import time

import pytest

from onegate.observe.operations import OPERATIONS, operation_of
from onegate.surfaces import SURFACES
from tests.media.test_videos import FAST, wait_done
from tests.observe.otlp_receiver import OTLPReceiver, ReceivedSpan
from tests.observe.scrape import moved, scrape

pytestmark = pytest.mark.filterwarnings("ignore:The Sora API:DeprecationWarning")
# OpenTelemetry's registered values (gen-ai attribute registry), and onegate's own beyond them
REGISTERED = {
    "chat",
    "create_agent",
    "embeddings",
    "execute_tool",
    "generate_content",
    "invoke_agent",
    "text_completion",
}
OWN = {"count_tokens", "generate_image", "generate_video"}
IMAGE, VIDEO = "onegate-selftest-image", "onegate-selftest-video"


def test_every_model_surface_has_an_operation_and_only_model_calls_carry_it():
    for surface in SURFACES.values():
        answered_by_a_model = surface.codec is not None or surface.id == "openai_videos"
        assert bool(surface.operation) == answered_by_a_model, surface.id
    assert set(OPERATIONS.values()) <= REGISTERED | OWN
    assert OPERATIONS["openai_images"] == "generate_image" and OPERATIONS["openai_videos"] == "generate_video"
    assert operation_of("openai_videos", "POST") == "generate_video"
    assert operation_of("openai_videos", "GET") == operation_of("openai_videos", "DELETE") == ""
    assert operation_of("openai_models", "GET") == operation_of("admin", "POST") == ""


def media_calls(gw) -> None:
    """An image, a video task to its end, its content and its deletion."""
    client = gw.client()
    client.images.generate(model=IMAGE, prompt="a lighthouse")
    video = client.videos.create(model=VIDEO, prompt="a lighthouse", seconds="4")
    wait_done(client, video.id)
    assert client.videos.download_content(video.id).read()[4:8] == b"ftyp"
    client.videos.delete(video.id)


def test_metrics_name_the_image_and_video_operations(start_gateway):
    gw = start_gateway({"media": FAST, "metrics": {"enabled": True}})
    before = scrape(gw)
    media_calls(gw)
    after = scrape(gw)
    for surface, operation, count in (("openai_images", "generate_image", 1), ("openai_videos", "generate_video", 1)):
        labels = {"surface": surface, "gen_ai_operation_name": operation, "status_class": "2xx"}
        assert moved(before, after, "onegate_requests_total", **labels) == count, surface
        assert moved(before, after, "gen_ai_server_request_duration_seconds_count", **labels) == count, surface
    # the content download and the delete are requests on the surface, but no GenAI operation
    reads = {"surface": "openai_videos", "gen_ai_operation_name": "", "status_class": "2xx"}
    assert moved(before, after, "onegate_requests_total", **reads) == 2
    assert moved(before, after, "gen_ai_server_request_duration_seconds_count", **reads) == 0


def spans(receiver: OTLPReceiver, count: int) -> list[ReceivedSpan]:
    deadline = time.monotonic() + 10
    while len(receiver.spans) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return list(receiver.spans)


def test_traces_name_the_image_and_video_operations(start_gateway, monkeypatch):
    with OTLPReceiver() as receiver:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
        gw = start_gateway({"media": FAST})
        media_calls(gw)
        tracing = gw.gateway.observer.tracing
        assert tracing is not None and tracing.flush()
        found = {s.name: s for s in spans(receiver, 4) if s.kind == 2}  # SERVER spans
    assert found[f"generate_image {IMAGE}"].attributes["gen_ai.operation.name"] == "generate_image"
    created = found[f"generate_video {VIDEO}"]
    assert created.attributes["gen_ai.operation.name"] == "generate_video"
    assert created.attributes["gen_ai.request.model"] == VIDEO
    others = [s for s in found.values() if s.attributes.get("onegate.surface") == "openai_videos" and s is not created]
    assert {s.attributes["http.request.method"] for s in others} == {"GET", "DELETE"}
    assert all("gen_ai.operation.name" not in s.attributes for s in others)
    assert all(s.name in ("GET openai_videos", "DELETE openai_videos") for s in others)
