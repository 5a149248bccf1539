"""The HTTP service over real HTTP (uvicorn on 127.0.0.1): answers, rejections, withheld notes,
limits, the same output as the file CLI, metrics, probes, and no note text in logs or errors.

Synthetic data only. Servers run in a thread of the test process (the real uvicorn server on a
free loopback port), so their log records reach one capture handler that the last test reads.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from deid_pipeline.replace import SecretKey
from deid_pipeline.service.app import create_app
from deid_pipeline.service.auth import Authenticator, hash_key
from deid_pipeline.service.local import build_runner, serve_in_thread, wait_ready
from deid_pipeline.service.settings import ServiceSettings

SECRET = "test-secret-key-with-at-least-32-characters!"
API_KEY = "svc-test-key-Zq8XwA3pLm2Rt7Yb"  # random-looking test key, never logged
AUTH = {"Authorization": f"Bearer {API_KEY}"}

# Synthetic PHI: none of these may appear in a log line, an error body or a metric.
SURNAME = "Bloemendaal"
GIVEN = "Annegien"
PHONE = "06-12345678"
CANARIES = (SURNAME, GIVEN, PHONE, "Kerkstraat 12", "Quirijnstok")

PATIENT = {"patient": {"given_names": GIVEN, "surname": SURNAME, "birth_date": "1965-10-29"}}
NOTES = [
    {
        "note_id": "n1",
        "text": f"Mevr. {GIVEN} {SURNAME} werd gezien op 03-02-2026. Tel {PHONE}.",
        "patient_id": "p1",
        "note_date": "2026-02-03",
        "metadata": PATIENT,
    },
    {"note_id": "n2", "text": "Geen bijzonderheden. Controle over 6 weken.", "patient_id": "p2"},
    {
        "note_id": "n3",
        "text": (
            f"Dhr. {SURNAME} belt terug over de uitslag. Woont Kerkstraat 12 te Quirijnstok. "
            "Anamnese: sinds drie dagen koorts, hoesten en vermoeidheid. Geen allergieën. "
            "Lichamelijk onderzoek: bloeddruk 135/85 mmHg, pols 88/min, temperatuur 38,4 °C. "
            "Beleid: start antibiotica, controle over twee weken op de polikliniek. "
            "Medicatie: metoprolol 50 mg 1dd, paracetamol 1000 mg zo nodig. "
        )
        * 3,
        "patient_id": "p1",
        "note_date": "05-02-2026",
        "metadata": PATIENT,
    },
]

LOG_LINES: list[str] = []


class _Capture(logging.Handler):
    # httpx/httpcore are this test's own HTTP client (it logs the URLs it calls), not the server.
    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith(("httpx", "httpcore")):
            LOG_LINES.append(self.format(record))


@pytest.fixture(scope="module", autouse=True)
def _capture_logs() -> Iterator[None]:
    """Every log record of the module's servers (all loggers, DEBUG and up)."""
    handler = _Capture(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield
    root.removeHandler(handler)
    root.setLevel(old_level)


@pytest.fixture(scope="module")
def keys_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A keys file holding only the hash of :data:`API_KEY` (client ``etl``)."""
    path = tmp_path_factory.mktemp("keys") / "api_keys"
    path.write_text(f"# test clients\netl:{hash_key(API_KEY)}\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def start(tiny_bundle_dir: Path, keys_file: Path) -> Iterator[Callable[..., str]]:
    """Start a server with settings overrides; returns its base URL (stopped with the module)."""
    with contextlib.ExitStack() as stack:

        def _start(**overrides: Any) -> str:
            settings = ServiceSettings(api_keys_file=str(keys_file), **overrides)
            runner = build_runner(tiny_bundle_dir, settings, SecretKey(SECRET.encode()))
            app = create_app(runner, Authenticator.from_settings(settings))
            url = stack.enter_context(serve_in_thread(app))
            wait_ready(url)
            return url

        yield _start


@pytest.fixture(scope="module")
def url(start: Callable[..., str]) -> str:
    """A server with the default limits (those of the file CLI)."""
    return start()


@pytest.fixture(scope="module")
def small_url(start: Callable[..., str]) -> str:
    """A server with small limits, to hit each one."""
    return start(
        max_records_per_request=4,
        max_chars_per_request=1_000,
        max_request_bytes=4_000,
        max_windows_per_request=3,
        max_chars_per_record=400,
        max_windows_per_record=2,
    )


def _post(url: str, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(f"{url}/v1/deidentify", json=body, headers=headers or AUTH, timeout=60)


def _assert_no_phi(text: str) -> None:
    for canary in CANARIES:
        assert canary not in text


def test_probes_answer_without_credentials_and_metrics_need_them(url: str) -> None:
    assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{url}/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {
        "bundle_verified": True,
        "runtime_warmed_up": True,
        "queue_not_saturated": True,
    }
    assert ready.json()["model_version"] == "tiny-0"
    assert httpx.get(f"{url}/metrics").status_code == 401


def test_results_in_input_order_and_record_level_rejections(url: str) -> None:
    records = [
        NOTES[0],
        {"note_id": "e1", "text": "   "},
        NOTES[1],
        {"note_id": "n1", "text": "dezelfde id nog eens"},
        {"note_id": "m1", "text": "ok", "metadata": {"patient": {"birth_date": "1965/13/45"}}},
        "not an object",
        {"text": f"zonder id, {SURNAME}"},
        {"note_id": "x1", "text": "a\u0000b"},
        NOTES[2],
    ]
    response = _post(url, {"records": records})
    assert response.status_code == 200
    body = response.json()
    assert [result["note_id"] for result in body["results"]] == ["n1", "n2", "n3"]
    assert [(r["index"], r["note_id"], r["reason"]) for r in body["rejected"]] == [
        (1, "e1", "empty_text"),
        (3, "n1", "duplicate_id"),
        (4, "m1", "bad_metadata"),
        (5, None, "malformed"),
        (6, None, "malformed"),
        (7, "x1", "invalid_text"),
    ]
    assert "DD-MM-YYYY" in body["rejected"][2]["message"]
    for result in body["results"]:
        assert SURNAME not in result["deid_text"] and GIVEN not in result["deid_text"]
    assert body["model_version"] == "tiny-0" and len(body["bundle_sha256"]) == 64
    assert body["demo_key"] is False
    _assert_no_phi(json.dumps(body["rejected"]))
    assert response.headers["x-request-id"]


def test_a_note_with_known_phi_left_is_withheld(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import deid_pipeline.core as core

    # Force a miss: no span survives detection, so the metadata name stays in the text.
    monkeypatch.setattr(core, "postprocess", lambda note, model_spans, **options: [])
    response = _post(url, {"records": [NOTES[1], NOTES[0]]})
    assert response.status_code == 200
    body = response.json()
    assert [result["note_id"] for result in body["results"]] == ["n2"]
    assert [(r["index"], r["note_id"], r["reason"]) for r in body["rejected"]] == [
        (1, "n1", "leak_check_failed")
    ]
    assert "patient_name" in body["rejected"][0]["message"]
    _assert_no_phi(response.text)


def _cli_lines(
    tmp_path: Path, bundle: Path, records: list[dict[str, Any]], *flags: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    from deid_pipeline.cli import main

    source, output = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    assert (
        main(["deidentify", str(source), "-o", str(output), "--bundle", str(bundle), *flags]) == 0
    )
    rejected_path = tmp_path / "out.rejected.jsonl"
    out = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    rejected = [json.loads(line) for line in rejected_path.read_text(encoding="utf-8").splitlines()]
    return out, rejected


def _more_records() -> list[dict[str, Any]]:
    """Notes with caregivers, known values, day-first dates and a long multi-window text."""
    caregiver = {"given_names": "Pieter", "surname": "Quirijnstok"}
    return [
        {
            "note_id": 1001,  # integer ids come back as strings through both doors
            "text": "Brief aan dr. Quirijnstok, huisarts. Patiëntnummer 123456782, "
            "telefoon 020-5551234. Opname 12 maart 2026 op de afdeling cardiologie.",
            "patient_id": "p3",
            "note_date": "12.03.2026",
            "metadata": {
                "caregivers": [caregiver],
                "known_values": [{"value": "123456782", "label": "ID:Patient"}],
            },
        },
        {
            "note_id": "long",
            "text": " ".join(
                f"Dag {day}: mevr. {SURNAME} stabiel, saturatie 9{day % 10}%, CRP {day * 7} mg/l, "
                f"gesproken met dochter op {day:02d}-03-2026."
                for day in range(1, 41)
            ),
            "patient_id": "p1",
            "note_date": "2026-03-01",
            "metadata": PATIENT,
        },
    ]


@pytest.mark.parametrize(
    ("options", "flags"),
    [
        ({}, ()),
        (
            {"replace": "surrogates", "number_tags": True},
            ("--replace", "surrogates", "--number-tags"),
        ),
    ],
)
def test_same_output_as_the_file_cli(
    url: str,
    tiny_bundle_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    options: dict[str, Any],
    flags: tuple[str, ...],
) -> None:
    monkeypatch.setenv("DEID_SECRET_KEY", SECRET)
    records = [*NOTES, {"note_id": "e1", "text": ""}, *_more_records()]
    cli_out, cli_rejected = _cli_lines(tmp_path, tiny_bundle_dir, records, *flags)
    assert len(records[-1]["text"]) > 3000  # a note of many windows is in the set

    # One request with every record ...
    body = _post(url, {"records": records, "options": options}).json()
    assert body["results"] == cli_out
    assert [{k: r[k] for k in ("note_id", "reason", "message")} for r in body["rejected"]] == [
        {k: r[k] for k in ("note_id", "reason", "message")} for r in cli_rejected
    ]

    # ... and one request per record, sent at once, so windows of many requests share batches.
    answers: dict[int, dict[str, Any]] = {}

    def send(index: int) -> None:
        answers[index] = _post(url, {"records": [records[index]], "options": options}).json()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(records))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    one_by_one = [result for i in range(len(records)) for result in answers[i]["results"]]
    assert one_by_one == cli_out


def test_request_limits_answer_413_naming_the_limit(small_url: str) -> None:
    note = {"note_id": "a", "text": f"Kort bericht voor {SURNAME}."}
    cases = {
        "max_records_per_request": {"records": [{**note, "note_id": str(i)} for i in range(5)]},
        "max_chars_per_request": {
            "records": [{**note, "note_id": str(i), "text": "x " * 150} for i in range(4)]
        },
        "max_request_bytes": {
            "records": [
                {**note, "metadata": {"known_values": [{"value": "v" * 5000, "label": "ID"}]}}
            ]
        },
        "max_windows_per_request": {
            "records": [{**note, "note_id": str(i), "text": "bloeddruk " * 25} for i in range(3)]
        },
    }
    for limit, body in cases.items():
        response = _post(small_url, body)
        assert response.status_code == 413, limit
        answer = response.json()
        assert answer["error"] == "request_too_large"
        assert answer["limit"] == limit
        assert f"DEID_{limit.upper()}" in answer["message"]
        assert answer["actual"] > answer["maximum"]
        _assert_no_phi(response.text)
    metrics = httpx.get(f"{small_url}/metrics", headers=AUTH).text
    for limit in cases:
        assert f'deid_request_limit_hits_total{{limit="{limit}"}} 1.0' in metrics


def test_record_limits_reject_the_record_not_the_request(small_url: str) -> None:
    records = [
        {"note_id": "long", "text": "a " * 250},  # 500 characters > 400
        {"note_id": "windows", "text": "bloeddruk stabiel " * 20},  # < 400 chars, > 2 windows
        {"note_id": "ok", "text": "Geen bijzonderheden."},
    ]
    response = _post(small_url, {"records": records})
    assert response.status_code == 200
    body = response.json()
    assert [r["note_id"] for r in body["results"]] == ["ok"]
    rejected = {r["note_id"]: r for r in body["rejected"]}
    assert rejected["long"]["reason"] == rejected["windows"]["reason"] == "too_long"
    assert "limit of 400" in rejected["long"]["message"]
    assert "windows, exceeds limit of 2" in rejected["windows"]["message"]


def test_bad_bodies_are_4xx_without_note_text(url: str) -> None:
    raw = '{"records": [{"note_id": "a", "text": "' + SURNAME + '"}'  # cut short
    bad_json = httpx.post(
        f"{url}/v1/deidentify", content=raw, headers={**AUTH, "Content-Type": "application/json"}
    )
    assert bad_json.status_code == 400 and bad_json.json()["error"] == "invalid_json"
    wrong_shape = _post(url, {"notes": [{"note_id": "a", "text": SURNAME}]})
    assert wrong_shape.status_code == 422
    assert "records" in wrong_shape.json()["message"]
    bad_option = _post(url, {"records": [], "options": {"replace": SURNAME}})
    assert bad_option.status_code == 422 and "options.replace" in bad_option.json()["message"]
    unknown_option = _post(url, {"records": [], "options": {"shift": True}})
    assert unknown_option.status_code == 422
    form = httpx.post(
        f"{url}/v1/deidentify",
        content=f"text={SURNAME}",
        headers={**AUTH, "Content-Type": "text/plain"},
    )
    assert form.status_code == 415
    assert httpx.get(f"{url}/v1/deidentify", headers=AUTH).status_code == 405
    missing = httpx.get(f"{url}/v1/{SURNAME}", headers=AUTH)
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    for response in (bad_json, wrong_shape, bad_option, unknown_option, form, missing):
        _assert_no_phi(response.text)
        assert response.json()["request_id"]
    assert _post(url, {"records": []}).json()["results"] == []


def test_metrics_are_prometheus_text_without_phi(url: str) -> None:
    _post(url, {"records": [NOTES[0], {"note_id": "e", "text": ""}]})
    response = httpx.get(f"{url}/metrics", headers=AUTH)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    for name in (
        "deid_request_duration_seconds_bucket",
        "deid_queue_wait_seconds_bucket",
        "deid_batch_windows_bucket",
        "deid_batch_padded_tokens_bucket",
        "deid_inference_seconds_bucket",
        "deid_windows_total",
        "deid_windows_per_second",
        "deid_queued_windows",
        "deid_pending_requests",
        'deid_rejected_records_total{reason="empty_text"}',
        "deid_released_records_total",
        'deid_model_info{backend="onnx"',
    ):
        assert name in text, name
    assert 'deid_batches_total{reason="' in text
    _assert_no_phi(text)
    assert API_KEY not in text


def test_no_note_text_or_key_in_logs() -> None:
    """Runs last in this module: every log line of the servers above."""
    text = "\n".join(LOG_LINES)
    assert "client=etl" in text and "route=/v1/deidentify status=200" in text
    _assert_no_phi(text)
    assert API_KEY not in text
    assert hash_key(API_KEY) not in text
