"""`onegate doctor`: check a base URL, key and model the way support would, and print shareable evidence."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import Annotated

import typer

from onegate import __version__
from onegate.diagnosis.profiles import PROFILES
from onegate.doctor.evidence import STEP_MARK, as_markdown
from onegate.doctor.media_steps import MediaInput, image_step, video_step
from onegate.doctor.report import from_doctor
from onegate.doctor.steps import DoctorInput, Step, run_steps
from onegate.i18n.catalog import normalise_lang, text

CLIENT_NAMES = ", ".join(sorted(PROFILES))


def doctor(
    base_url: Annotated[str, typer.Option("--base-url", help="The base URL as typed into the client.")],
    key: Annotated[str, typer.Option("--key", envvar="ONEGATE_API_KEY", help="The key (or set ONEGATE_API_KEY).")],
    model: Annotated[str, typer.Option("--model", help="The model name as typed into the client.")],
    client: Annotated[str, typer.Option("--client", help=f"The client it is for: {CLIENT_NAMES}.")] = "unknown",
    client_version: Annotated[str, typer.Option("--client-version", help="The client's version, for evidence.")] = "",
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the evidence as JSON (step lines go to stderr).")
    ] = False,
    lang: Annotated[str, typer.Option("--lang", help="en or zh.")] = "en",
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for each request.")] = 300.0,
    image: Annotated[bool, typer.Option("--image", help="Also generate one image (the seed's image check).")] = False,
    video: Annotated[bool, typer.Option("--video", help="Also run one video task to its content.")] = False,
    image_model: Annotated[str, typer.Option("--image-model", help="Model for --image.")] = "onegate-selftest-image",
    video_model: Annotated[str, typer.Option("--video-model", help="Model for --video.")] = "onegate-selftest-video",
    callback_url: Annotated[
        str | None, typer.Option("--callback-url", help="With --video: a receiver for the task's signed callback.")
    ] = None,
) -> None:
    """Run URL shape, GET /models, a plain request, a stream and a long reply (then an image and a video task
    with --image/--video); exit 1 when a step fails."""
    if client != "unknown" and client not in PROFILES:
        typer.secho(f"unknown client {client!r}; one of: {CLIENT_NAMES}", fg="red", err=True)
        raise typer.Exit(2)
    lang = normalise_lang(lang)
    d = DoctorInput(base_url, key.strip(), model, client, lang, timeout, f"onegate-doctor/{__version__}")
    started, t0 = time.time(), time.monotonic()
    media = MediaInput(image_model, video_model, callback_url)
    extra: tuple[tuple[str, Callable[[DoctorInput], Step]], ...] = ()
    if image:
        extra += (("image", partial(image_step, m=media)),)
    if video:
        extra += (("video", partial(video_step, m=media)),)
    steps = run_steps(d, report=lambda s: _print_step(s, lang, as_json), extra=extra)
    evidence = from_doctor(d, steps, client_version, started, (time.monotonic() - t0) * 1000)
    typer.echo(evidence.as_json() if as_json else "\n" + as_markdown(evidence, lang))
    if evidence.result == "fail":
        raise typer.Exit(1)


def _print_step(step: Step, lang: str, to_stderr: bool) -> None:
    typer.echo(f"{STEP_MARK[step.status]}  {step.name:<7} {step.summary}", err=to_stderr)
    if step.error_text:
        typer.echo(f"         {text('evidence.errors', lang)}: {step.error_text}", err=to_stderr)
    if step.fix:
        typer.echo(f"         {text('evidence.fix', lang)}: {step.fix}", err=to_stderr)
