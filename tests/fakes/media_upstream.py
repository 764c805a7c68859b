"""A fake media vendor on loopback: OpenAI's Images API, OpenAI's Videos API (the shape aggregators expose)
and Google's Veo through the Gemini API's long-running operations, each in its real wire format.

- Images: `POST /v1/images/generations` (JSON) and `/v1/images/edits` (multipart/form-data), answers with
  `b64_json` PNGs and `usage` in the shape the `image_usage` knob picks ("full", "no_output_details" as
  LiteLLM #31142 saw, "chat" as #26876 saw, or None); `stream` sends `image_generation.*` / `image_edit.*`.
- Videos: `POST /v1/videos` (multipart or JSON), `GET /v1/videos/{id}` (queued → in_progress → completed
  over `video_polls` polls; `openai-poll-after-ms` when `poll_after_ms` is set), `GET …/content?variant=`
  (Range works), `DELETE`, `POST …/remix`.
- Veo: `POST /v1beta/models/{model}:predictLongRunning` → `{name: "models/{model}/operations/{id}"}`,
  `GET /v1beta/{name}` → `{name, done, metadata?, response: {generateVideoResponse: {generatedSamples:
  [{video: {uri}}]}}}` or `{done: true, error: {code, message}}`; the uri downloads with `x-goog-api-key`.
"""

from __future__ import annotations

import base64
import time
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

import orjson

from tests.fakes.vendor import FakeVendor, Handler, raw_body

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC")
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00\x00\x00\x08free" + bytes(range(256)) * 8
THUMBNAIL = PNG


def parse_form(body: bytes, content_type: str) -> list[tuple[str, str | None, bytes]]:
    """(name, filename, data) of each part, read with the standard library's MIME parser."""
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    parts = []
    for part in message.iter_parts():
        payload = part.get_payload(decode=True) or b""
        parts.append((part.get_param("name", header="content-disposition"), part.get_filename(), payload))
    return parts


class FakeMediaUpstream(FakeVendor):
    thread_name = "fake-media"
    image_usage: str | None
    video_polls: int
    poll_after_ms: int | None
    fail_videos: bool
    veo_api_key: str

    def reset(self) -> None:
        super().reset()
        self.image_usage = "full"
        self.video_polls = 2  # GETs in progress before a video completes
        self.poll_after_ms = None
        self.fail_videos = False
        self.video_error = "Blocked by moderation."
        self.videos: dict[str, dict[str, Any]] = {}
        self.forms: list[list[tuple[str, str | None, bytes]]] = []  # multipart forms received
        self.veo_api_key = "veo-secret"
        self.cancelled: list[str] = []

    @property
    def root(self) -> str:
        return f"http://{self.host}:{self.port}"

    def route(self, method: str, path: str) -> Handler | None:
        if method == "POST" and path == "/v1/images/generations":
            return self._generate
        return None

    def error_body(self, message: str) -> dict:
        return {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}}

    def auth_error(self, headers: dict[str, str]) -> dict | None:
        return None

    # ---- images ----------------------------------------------------------------------------------

    def usage(self, n: int) -> dict | None:
        out = 4160 * n
        if self.image_usage == "full":
            return {
                "input_tokens": 50,
                "input_tokens_details": {"text_tokens": 40, "image_tokens": 10},
                "output_tokens": out,
                "output_tokens_details": {"text_tokens": 0, "image_tokens": out},
                "total_tokens": 50 + out,
            }
        if self.image_usage == "no_output_details":
            return {
                "input_tokens": 50,
                "input_tokens_details": {"text_tokens": 40, "image_tokens": 10},
                "output_tokens": out,
                "total_tokens": 50 + out,
            }
        if self.image_usage == "chat":
            return {
                "prompt_tokens": 50,
                "completion_tokens": out,
                "total_tokens": 50 + out,
                "prompt_tokens_details": {"cached_tokens": 0, "text_tokens": 40, "image_tokens": 10},
                "completion_tokens_details": {"image_tokens": out, "text_tokens": 0},
            }
        return None

    async def _images(self, send: Any, n: int, stream: bool, kind: str, size: str | None) -> None:
        image = base64.b64encode(PNG).decode()
        usage = self.usage(n)
        if not stream:
            body: dict[str, Any] = {"created": int(time.time()), "data": [{"b64_json": image} for _ in range(n)]}
            body.update(background="opaque", output_format="png", quality="high", size=size or "1024x1024")
            if usage is not None:
                body["usage"] = usage
            return await self.send_json(send, 200, body)
        events = []
        for _ in range(n):
            partial = {"type": f"{kind}.partial_image", "b64_json": image, "partial_image_index": 0}
            done = {"type": f"{kind}.completed", "b64_json": image, "output_format": "png", "size": "1024x1024"}
            if usage is not None:
                done["usage"] = self.usage(1)
            for event in (partial, done):
                events.append(b"event: " + event["type"].encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n")
        await self.send_stream(send, events)

    async def _generate(self, send: Any, body: dict) -> None:
        if not body.get("prompt"):
            return await self.send_json(send, 400, self.error_body("Missing required parameter: 'prompt'."))
        await self._images(
            send, int(body.get("n") or 1), body.get("stream") is True, "image_generation", body.get("size")
        )

    def _form(self, headers: dict[str, str]) -> dict[str, Any]:
        parts = parse_form(raw_body(), headers.get("content-type", ""))
        self.forms.append(parts)
        return {name: data.decode() for name, filename, data in parts if filename is None}

    # ---- everything that is not a JSON POST --------------------------------------------------------

    async def serve_other(self, send: Any, method: str, path: str, headers: dict[str, str]) -> bool:
        if method == "POST" and path == "/v1/images/edits":
            fields = self._form(headers)
            await self._images(
                send, int(fields.get("n") or 1), fields.get("stream") == "true", "image_edit", fields.get("size")
            )
            return True
        if path.startswith("/v1/videos"):
            return await self._videos(send, method, path, headers)
        if path.startswith("/v1beta/"):
            return await self._veo(send, method, path, headers)
        return False

    # ---- OpenAI videos -----------------------------------------------------------------------------

    def _video(self, video_id: str) -> dict[str, Any]:
        state = self.videos[video_id]
        video = {
            "id": video_id,
            "object": "video",
            "model": state["model"],
            "status": state["status"],
            "progress": state["progress"],
            "created_at": state["created_at"],
            "completed_at": state.get("completed_at"),
            "expires_at": state["created_at"] + 3600 if state["status"] == "completed" else None,
            "prompt": state["prompt"],
            "seconds": state["seconds"],
            "size": state["size"],
            "remixed_from_video_id": state.get("remixed_from"),
            "error": state.get("error"),
        }
        return video

    def _new_video(self, fields: dict[str, Any], remixed_from: str | None = None) -> str:
        video_id = f"video_up{self.next_id():08d}"
        self.videos[video_id] = {
            "model": fields.get("model") or "sora-2",
            "status": "queued",
            "progress": 0,
            "created_at": int(time.time()),
            "prompt": fields.get("prompt"),
            "seconds": str(fields.get("seconds") or "4"),
            "size": fields.get("size") or "720x1280",
            "polls": 0,
            "remixed_from": remixed_from,
        }
        return video_id

    async def _send_video(self, send: Any, video_id: str) -> None:
        headers = [(b"content-type", b"application/json")]
        if self.poll_after_ms is not None:
            headers.append((b"openai-poll-after-ms", str(self.poll_after_ms).encode()))
        await self.send_raw(send, 200, orjson.dumps(self._video(video_id)), headers)

    async def _videos(self, send: Any, method: str, path: str, headers: dict[str, str]) -> bool:
        parts = path.rstrip("/").split("/")  # "", v1, videos, {id}, {action}
        if method == "POST" and len(parts) == 3:
            if headers.get("content-type", "").startswith("multipart/form-data"):
                fields = self._form(headers)
            else:
                fields = orjson.loads(raw_body() or b"{}")
            if not fields.get("prompt"):
                await self.send_json(send, 400, self.error_body("Missing required parameter: 'prompt'."))
                return True
            await self._send_video(send, self._new_video(fields))
            return True
        video_id = parts[3] if len(parts) > 3 else ""
        if video_id not in self.videos:
            await self.send_json(send, 404, self.error_body(f"Video with id '{video_id}' not found."))
            return True
        state = self.videos[video_id]
        action = parts[4] if len(parts) > 4 else ""
        if method == "GET" and not action:
            self._advance(state)
            await self._send_video(send, video_id)
        elif method == "GET" and action == "content":
            await self._content(send, headers)
        elif method == "DELETE" and not action:
            self.cancelled.append(video_id)
            await self.send_json(send, 200, {"id": video_id, "object": "video.deleted", "deleted": True})
        elif method == "POST" and action == "remix":
            body = orjson.loads(raw_body() or b"{}")
            fields = {**state, "prompt": body.get("prompt")}
            await self._send_video(send, self._new_video(fields, remixed_from=video_id))
        else:
            return False
        return True

    def _advance(self, state: dict[str, Any]) -> None:
        if state["status"] in ("completed", "failed"):
            return
        state["polls"] += 1
        if state["polls"] > self.video_polls:
            if self.fail_videos:
                state.update(status="failed", error={"code": "moderation_blocked", "message": self.video_error})
            else:
                state.update(status="completed", progress=100, completed_at=int(time.time()))
        else:
            state.update(status="in_progress", progress=min(99, 100 * state["polls"] // (self.video_polls + 1)))

    async def _content(self, send: Any, headers: dict[str, str]) -> None:
        asked = headers.get("range", "")
        if asked.startswith("bytes="):
            first, _, last = asked[6:].partition("-")
            start, end = int(first), int(last) if last else len(MP4) - 1
            piece = MP4[start : end + 1]
            extra = [(b"content-range", f"bytes {start}-{end}/{len(MP4)}".encode())]
            await self.send_raw(
                send, 206, piece, [(b"content-type", b"video/mp4"), (b"accept-ranges", b"bytes"), *extra]
            )
            return
        await self.send_raw(send, 200, MP4, [(b"content-type", b"video/mp4"), (b"accept-ranges", b"bytes")])

    # ---- Veo (Gemini API long-running operations) ----------------------------------------------------

    async def _veo(self, send: Any, method: str, path: str, headers: dict[str, str]) -> bool:
        if headers.get("x-goog-api-key") != self.veo_api_key:
            body = {
                "error": {
                    "code": 403,
                    "message": "Method doesn't allow unregistered callers.",
                    "status": "PERMISSION_DENIED",
                }
            }
            await self.send_json(send, 403, body)
            return True
        if method == "POST" and path.endswith(":predictLongRunning"):
            model = path[len("/v1beta/models/") : -len(":predictLongRunning")]
            body = orjson.loads(raw_body() or b"{}")
            instances = body.get("instances") or [{}]
            if not instances[0].get("prompt"):
                error = {"error": {"code": 400, "message": "prompt is required", "status": "INVALID_ARGUMENT"}}
                await self.send_json(send, 400, error)
                return True
            op = f"op{self.next_id():06d}"
            params = body.get("parameters") or {}
            self.videos[op] = {
                "model": model,
                "polls": 0,
                "done": False,
                "parameters": params,
                "prompt": instances[0]["prompt"],
            }
            await self.send_json(send, 200, {"name": f"models/{model}/operations/{op}"})
            return True
        if method == "GET" and "/operations/" in path:
            op = path.rsplit("/", 1)[1]
            state = self.videos.get(op)
            if state is None:
                await self.send_json(send, 404, {"error": {"code": 404, "message": "not found", "status": "NOT_FOUND"}})
                return True
            state["polls"] += 1
            name = f"models/{state['model']}/operations/{op}"
            if state["polls"] <= self.video_polls:
                await self.send_json(send, 200, {"name": name})
            elif self.fail_videos:
                error = {"code": 3, "message": "The prompt was blocked by safety filters."}
                await self.send_json(send, 200, {"name": name, "done": True, "error": error})
            else:
                uri = f"{self.root}/v1beta/files/{op}:download?alt=media"
                response = {
                    "@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse",
                    "generateVideoResponse": {"generatedSamples": [{"video": {"uri": uri}}]},
                }
                await self.send_json(send, 200, {"name": name, "done": True, "response": response})
            return True
        if method == "GET" and path.endswith(":download"):
            await self._content(send, headers)
            return True
        return False
