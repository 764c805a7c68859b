"""The seed's last two checks, `--image` and `--video`: one image generation, and one video task followed
from submit to downloaded content (and, with `--callback-url`, to its callback's delivery). The default
models are onegate's zero-cost self-test models, so the path is proved before any money is spent."""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass

from onegate.doctor.http import Reply, request
from onegate.doctor.steps import DoctorInput, Step, _answered, _refused, flagged
from onegate.i18n.catalog import text

IMAGE_PROMPT = "A small green square on a white background."
VIDEO_PROMPT = "A slow pan over a calm sea at dawn."
IMAGE_MAGIC = {b"\x89PNG": "PNG", b"\xff\xd8\xff": "JPEG", b"RIFF": "WebP", b"GIF8": "GIF"}


@dataclass(frozen=True)
class MediaInput:
    image_model: str = "onegate-selftest-image"
    video_model: str = "onegate-selftest-video"
    callback_url: str | None = None


def image_step(d: DoctorInput, m: MediaInput) -> Step:
    body = {"model": m.image_model, "prompt": IMAGE_PROMPT, "n": 1}
    reply = request("POST", d.root + "/images/generations", d.headers(), body, d.timeout)
    if reply.status != 200 or reply.looks_like_html:
        return _refused("image", reply, d)
    data = reply.json()
    try:
        first = data["data"][0]
        picture = base64.b64decode(first["b64_json"]) if first.get("b64_json") else b""
    except (TypeError, KeyError, IndexError, ValueError):
        return _answered("image", "fail", reply, text("doctor.image.shape", d.lang), text("doctor.not_openai", d.lang))
    kind = next((name for magic, name in IMAGE_MAGIC.items() if picture.startswith(magic)), None)
    if kind is None and not first.get("url"):
        return _answered("image", "fail", reply, text("doctor.image.shape", d.lang), text("doctor.not_openai", d.lang))
    shown = f"{kind}, {len(picture)} bytes" if kind else "a URL"
    summary = text("doctor.image.ok", d.lang, ms=f"{reply.ms:.0f}", image=shown)
    return flagged(_answered("image", "pass", reply, summary), reply, d)


def video_step(d: DoctorInput, m: MediaInput) -> Step:
    body: dict[str, object] = {"model": m.video_model, "prompt": VIDEO_PROMPT, "seconds": "4"}
    if m.callback_url:
        body["callback_url"] = m.callback_url
    submitted = request("POST", d.root + "/videos", d.headers(), body, min(d.timeout, 120))
    video = submitted.json() if submitted.status == 200 else None
    if not isinstance(video, dict) or not isinstance(video.get("id"), str):
        return _refused("video", submitted, d)
    task_id, seen, started = video["id"], [str(video.get("status"))], time.monotonic()
    last: Reply = submitted
    while video.get("status") in ("queued", "in_progress") and time.monotonic() - started < d.timeout:
        hint = last.headers.get("openai-poll-after-ms")
        time.sleep(min(5.0, int(hint) / 1000) if hint and hint.isdigit() else 1.0)
        last = request("GET", f"{d.root}/videos/{task_id}", d.headers(), timeout=60)
        video = last.json() if last.status == 200 else video
        if str(video.get("status")) != seen[-1]:
            seen.append(str(video.get("status")))
    path = " → ".join(seen)
    seconds = f"{time.monotonic() - started:.1f}"
    step = Step("video", "fail", "", task_id=task_id, request_id=submitted.request_id, ms=submitted.ms)
    if video.get("status") != "completed":
        error = video.get("error") or {}
        step.summary = text("doctor.video.not_done", d.lang, task=task_id, path=path, seconds=seconds)
        step.error_text = str(error.get("message") or "") or None
        step.fix = text("doctor.video.not_done.fix", d.lang)
        return step
    content = request("GET", f"{d.root}/videos/{task_id}/content", d.headers(), timeout=d.timeout)
    if content.status != 200 or content.body[4:8] != b"ftyp":
        step.summary = text("doctor.video.content", d.lang, task=task_id, status=str(content.status))
        step.error_text, step.fix = content.error_text() or None, text("doctor.video.content.fix", d.lang)
        return step
    params = {"task": task_id, "path": path, "seconds": seconds, "bytes": str(len(content.body))}
    step.status, step.summary = "pass", text("doctor.video.ok", d.lang, **params)
    if m.callback_url:
        step.callback = _callback_result(d, task_id)
        if not step.callback.startswith("delivered"):
            step.status, step.fix = "warn", text("doctor.video.callback.fix", d.lang)
        step.summary += " " + text("doctor.video.callback", d.lang, result=step.callback)
    return step


def _callback_result(d: DoctorInput, task_id: str, wait: float = 15.0) -> str:
    """What onegate reports about the task's callback (its `callbacks` extra), once it settles or time runs out."""
    deadline = time.monotonic() + wait
    result = "not reported by the server"
    while time.monotonic() < deadline:
        video = request("GET", f"{d.root}/videos/{task_id}", d.headers(), timeout=30).json() or {}
        callbacks = video.get("callbacks") if isinstance(video, dict) else None
        if callbacks:
            last = callbacks[-1]
            result = f"{last.get('state')} (last answer {last.get('last_status')}, {last.get('attempts')} attempt(s))"
            if last.get("state") != "pending":
                return result
        time.sleep(0.5)
    return result
