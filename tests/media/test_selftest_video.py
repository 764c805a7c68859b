"""`onegate-selftest-video` serves a real video: the MP4's boxes are read (ftyp, moov with an H.264 video
track, mdat), ranges of it come through onegate as from an upstream, the thumbnail and spritesheet are the
image formats OpenAI's Videos API gives those variants, and Chromium plays the video from onegate."""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator

import openai
import pytest

from onegate.media.byte_range import Unsatisfiable, byte_range
from tests.conftest import raw_request
from tests.media.test_videos import FAST, wait_done
from tests.services import _absent

pytestmark = pytest.mark.filterwarnings("ignore:The Sora API:DeprecationWarning")
CHROMIUM = "/usr/bin/chromium"


def boxes(data: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[bytes, bytes]]:
    """(type, payload) of each ISO base media box in data[start:end] (ISO/IEC 14496-12 §4.2)."""
    end = len(data) if end is None else end
    at = start
    while at < end:
        size, kind = struct.unpack(">I4s", data[at : at + 8])
        header = 8
        if size == 1:  # a 64-bit size follows
            (size,) = struct.unpack(">Q", data[at + 8 : at + 16])
            header = 16
        elif size == 0:  # to the end
            size = end - at
        assert size >= header and at + size <= end, f"box {kind!r} at {at} overruns its parent"
        yield kind, data[at + header : at + size]
        at += size


def child(payload: bytes, kind: bytes, skip: int = 0) -> bytes:
    found = [p for k, p in boxes(payload, skip) if k == kind]
    assert found, f"no {kind!r} box"
    return found[0]


@pytest.fixture
def video(start_gateway) -> tuple[object, str]:
    gw = start_gateway({"media": FAST})
    client = gw.client()
    task = client.videos.create(model="onegate-selftest-video", prompt="a lighthouse", seconds="4")
    done, _ = wait_done(client, task.id)
    assert done.status == "completed"
    return gw, task.id


def test_the_mp4_has_a_file_type_a_movie_with_an_h264_video_track_and_media_data(video):
    gw, task_id = video
    client: openai.OpenAI = gw.client()
    response = client.videos.with_raw_response.download_content(task_id)
    assert response.headers["content-type"] == "video/mp4" and response.headers["accept-ranges"] == "bytes"
    data = response.content
    assert 1_000 < len(data) < 20_000  # small, and more than headers
    top = list(boxes(data))
    kinds = [k for k, _ in top]
    assert kinds[0] == b"ftyp" and b"moov" in kinds and b"mdat" in kinds
    assert kinds.index(b"moov") < kinds.index(b"mdat")  # faststart: playable while it downloads
    ftyp = dict(top)[b"ftyp"]
    brands = {ftyp[i : i + 4] for i in range(0, len(ftyp), 4)} - {ftyp[4:8]}
    assert {b"isom", b"avc1"} & brands
    moov = dict(top)[b"moov"]
    mvhd = child(moov, b"mvhd")
    timescale, duration = struct.unpack(">II", mvhd[12:20]) if mvhd[0] == 0 else struct.unpack(">IQ", mvhd[20:32])
    assert duration / timescale == pytest.approx(4.0, abs=0.3)
    traks = [p for k, p in boxes(moov) if k == b"trak"]
    handlers = {}
    for trak in traks:
        mdia = child(trak, b"mdia")
        handlers[child(mdia, b"hdlr")[8:12]] = mdia
    assert b"vide" in handlers, handlers.keys()
    stbl = child(child(handlers[b"vide"], b"minf"), b"stbl")
    stsd = child(stbl, b"stsd")
    [(codec, sample_entry)] = list(boxes(stsd, 8))  # version, flags, entry count, then the entries
    assert codec == b"avc1"
    width, height = struct.unpack(">HH", sample_entry[24:28])
    assert (width, height) == (128, 72)
    assert child(sample_entry, b"avcC", 78)[0] == 1  # an AVC decoder configuration record
    sizes = child(stbl, b"stsz")
    sample_count = struct.unpack(">I", sizes[8:12])[0]
    assert sample_count == 16  # 4 s at 4 frames a second
    mdat = dict(top)[b"mdat"]
    assert len(mdat) > 500


def test_ranges_of_the_video_come_through_onegate(video):
    gw, task_id = video
    url = f"{gw.base_url}/videos/{task_id}/content"
    auth = {"authorization": f"Bearer {gw.key}"}
    whole = raw_request("GET", url, headers=auth)
    assert whole.status == 200
    size = len(whole.body)
    assert int(whole.headers["content-length"]) == size
    for header, first, last in (
        ("bytes=0-99", 0, 99),
        ("bytes=100-", 100, size - 1),
        ("bytes=-50", size - 50, size - 1),
        (f"bytes=10-{size + 500}", 10, size - 1),  # past the end: up to the end
    ):
        part = raw_request("GET", url, headers={**auth, "range": header})
        assert part.status == 206, header
        assert part.headers["content-range"] == f"bytes {first}-{last}/{size}", header
        assert part.body == whole.body[first : last + 1], header
    beyond = raw_request("GET", url, headers={**auth, "range": f"bytes={size}-"})
    assert beyond.status == 416 and beyond.headers["content-range"] == f"bytes */{size}"
    several = raw_request("GET", url, headers={**auth, "range": "bytes=0-1,5-6"})
    assert several.status == 200 and several.body == whole.body  # several ranges: the whole, as allowed
    thumb = raw_request("GET", url + "?variant=thumbnail", headers={**auth, "range": "bytes=0-11"})
    assert thumb.status == 206 and thumb.body[:4] == b"RIFF" and thumb.body[8:12] == b"WEBP"


def test_the_thumbnail_is_webp_and_the_spritesheet_jpeg(video):
    gw, task_id = video
    client: openai.OpenAI = gw.client()
    thumbnail = client.videos.with_raw_response.download_content(task_id, variant="thumbnail")
    assert thumbnail.headers["content-type"] == "image/webp"
    body = thumbnail.content
    assert body[:4] == b"RIFF" and body[8:12] == b"WEBP" and struct.unpack("<I", body[4:8])[0] == len(body) - 8
    sheet = client.videos.with_raw_response.download_content(task_id, variant="spritesheet")
    assert sheet.headers["content-type"] == "image/jpeg"
    jpeg = sheet.content
    assert jpeg[:3] == b"\xff\xd8\xff" and jpeg[-2:] == b"\xff\xd9"


def test_a_byte_range_is_read_as_the_rfc_says():
    assert byte_range(None, 100) is None and byte_range("", 100) is None
    assert byte_range("bytes=0-0", 100) == (0, 0)
    assert byte_range("bytes=-1", 100) == (99, 99) and byte_range("bytes=-500", 100) == (0, 99)
    assert byte_range("BYTES = 5-", 100) == (5, 99)
    for ignored in ("items=0-5", "bytes=5-2", "bytes=a-b", "bytes=-", "bytes=1-2,4-5", "bytes=--1", "bytes=0x1-"):
        assert byte_range(ignored, 100) is None, ignored
    for past in ("bytes=100-", "bytes=-0", "bytes=150-200"):
        with pytest.raises(Unsatisfiable):
            byte_range(past, 100)


def test_chromium_plays_the_video_from_onegate(video):
    """The real proof that the MP4 is playable: a browser decodes it and time moves."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _absent("playwright is not installed (pip install -e .[test])")
    if not os.access(CHROMIUM, os.X_OK):
        _absent(f"{CHROMIUM} is not installed")
    gw, task_id = video
    src = f"{gw.base_url}/videos/{task_id}/content"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--autoplay-policy=no-user-gesture-required"])
        try:
            context = browser.new_context(extra_http_headers={"authorization": f"Bearer {gw.key}"})
            page = context.new_page()
            page.set_content(f'<video id="v" muted playsinline preload="auto" src="{src}"></video>')
            played = page.evaluate(
                """() => new Promise((resolve) => {
                    const v = document.getElementById("v");
                    const fail = () => resolve({
                        error: v.error ? v.error.code + " " + v.error.message : "timeout",
                        readyState: v.readyState, networkState: v.networkState, time: v.currentTime,
                    });
                    v.addEventListener("error", fail);
                    setTimeout(fail, 15000);
                    const start = () => v.play().catch((e) => resolve({error: String(e)}));
                    if (v.readyState >= 1) start(); else v.addEventListener("loadedmetadata", start);
                    v.addEventListener("timeupdate", () => {
                        if (v.currentTime > 0.5) resolve({
                            duration: v.duration, width: v.videoWidth, height: v.videoHeight,
                            time: v.currentTime,
                            frames: v.getVideoPlaybackQuality().totalVideoFrames,
                        });
                    });
                })"""
            )
        finally:
            browser.close()
    assert "error" not in played, played
    assert played["duration"] == pytest.approx(4.0, abs=0.3)
    assert (played["width"], played["height"]) == (128, 72)
    assert played["time"] > 0.5 and played["frames"] > 0  # decoded and playing
