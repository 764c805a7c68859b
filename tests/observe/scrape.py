"""Reading a gateway's `/metrics` the way Prometheus does (the client library's own text parser); plain requests."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import RawResponse, RunningGateway, raw_request

Samples = list[tuple[str, dict[str, str], float]]


def scrape(gw: RunningGateway, headers: dict[str, str] | None = None) -> Samples:
    response = raw_request("GET", gw.root + "/metrics", headers=headers)
    assert response.status == 200, response.body[:300]
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return [
        (sample.name, sample.labels, sample.value)
        for family in text_string_to_metric_families(response.body.decode())
        for sample in family.samples
    ]


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of `name`'s samples whose labels include `labels`."""
    return sum(v for n, have, v in samples if n == name and all(have.get(k) == w for k, w in labels.items()))


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def post_chat(gw: RunningGateway, model: str = "gpt-4.1-mini", key: str | None = None) -> RawResponse:
    """A plain Chat request (no SDK: its retries and exceptions would hide the status)."""
    headers = {"Authorization": f"Bearer {key or gw.key}"}
    body = {"model": model, "messages": [{"role": "user", "content": "hello there"}]}
    return raw_request("POST", gw.base_url + "/chat/completions", body, headers)
