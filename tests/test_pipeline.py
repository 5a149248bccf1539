"""Dagster pipeline end to end on a temp storage root with the tiny bundle.

Synthetic data only. Worker runs are real subprocesses (Dagster Pipes) with real forward passes
of the tiny random model; every test gets its own storage root and env vars.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from deid_pipeline.definitions import defs as pipeline_defs
from deid_pipeline.leakcheck import find_known_phi
from deid_pipeline.pipeline import delta_io, stages, tables
from deid_pipeline.pipeline.jobs import JOB_NAME, STAGES, materialize_partitions
from deid_pipeline.pipeline.resources import DeidSettings, K8sInferenceLauncher
from deid_pipeline.settings import PipelineSettings

DAY1 = "2026-01-05"
DAY2 = "2026-01-06"

SOURCE_SCHEMA = pa.schema(
    [
        pa.field("note_id", pa.string()),
        pa.field("patient_id", pa.string()),
        pa.field("note_date", pa.date32()),
        pa.field("text", pa.string()),
        pa.field("metadata", pa.string()),
    ]
)

# Invented people and values; every string here is synthetic.
PEOPLE = [
    ("Jorinde", "Kwakkelstein", "0687341290", "Zwaluwhof 17"),
    ("Bartholomeus", "Vlierboom", "0612093847", "Reigerstraat 4"),
    ("Wendelien", "Okkerse", "0645120987", "Kievitlaan 88"),
    ("Gijsbrecht", "Hoogerwerf", "0698761234", "Meeuwenpad 2"),
]
CAREGIVER = ("Theodora", "Brinkhuis")


def _note(index: int, day: str) -> dict[str, Any]:
    given, surname, phone, street = PEOPLE[index % len(PEOPLE)]
    text = (
        f"Dhr. {given} {surname} werd gezien op de polikliniek. Tel. {phone}. "
        f"Woont aan de {street}. Beleid besproken met dr. {CAREGIVER[0]} {CAREGIVER[1]}. "
        + "Patiënt meldt klachten van vermoeidheid en hoofdpijn sinds een week. "
        * (1 + index % 3)
    )
    metadata = {
        "patient": {"given_names": given, "surname": surname, "birth_date": "1961-03-14"},
        "caregivers": [{"given_names": CAREGIVER[0], "surname": CAREGIVER[1]}],
        "known_values": [
            {"value": phone, "label": "Contactdetails"},
            {"value": street, "label": "Address_Location:Patient"},
        ],
    }
    return {
        "note_id": f"n-{day}-{index:03d}",
        "patient_id": f"p-{index % len(PEOPLE)}",
        "note_date": dt.date.fromisoformat(day),
        "text": text,
        "metadata": json.dumps(metadata),
    }


def _write_source(uri: str, rows: list[dict[str, Any]]) -> None:
    write_deltalake(uri, pa.Table.from_pylist(rows, schema=SOURCE_SCHEMA), mode="overwrite")


def _rows(root: Path, name: str, day: str) -> list[dict[str, Any]]:
    return list(delta_io.iter_rows(delta_io.read_partition(str(root / name), day)))


@pytest.fixture
def env(tmp_path: Path, tiny_bundle_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh storage root with env vars pointing the pipeline at it and the tiny bundle."""
    root = tmp_path / "lake"
    monkeypatch.setenv("DEID_STORAGE_ROOT", str(root))
    monkeypatch.setenv("DEID_SOURCE_URI", str(tmp_path / "source"))
    monkeypatch.setenv("DEID_BUNDLE_DIR", str(tiny_bundle_dir))
    monkeypatch.setenv("DEID_DEMO_MODE", "1")
    monkeypatch.setenv("DEID_DEVICE", "cpu")
    monkeypatch.setenv("DEID_BACKEND", "torch")
    # Keep the worker subprocess small on a shared 2-core machine.
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("DEID_MAX_RECORDS_PER_SHARD", "4")
    return root


@pytest.fixture
def defs() -> dg.Definitions:
    """The code location's definitions; their resources read the env vars at run time."""
    return pipeline_defs


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    """A temporary Dagster instance (SQLite storage, compute logs) under tmp_path."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as test_instance:
        yield test_instance


def test_definitions_load_and_graph_is_the_five_stages(env: Path, defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert keys == {
        "source_notes",
        "raw_notes",
        "request_shards",
        "logits",
        "spans",
        "deidentified_notes",
    }
    chain = ["source_notes", "raw_notes", "request_shards", "logits", "spans", "deidentified_notes"]
    # Every table a stage reads is a declared dependency: lineage and staleness are true.
    reads = {
        "raw_notes": {"source_notes"},
        "request_shards": {"raw_notes"},
        "logits": {"request_shards"},
        "spans": {"logits", "request_shards", "raw_notes"},
        "deidentified_notes": {"spans", "request_shards", "raw_notes"},
    }
    for name, upstream in reads.items():
        parents = {k.to_user_string() for k in graph.get(dg.AssetKey(name)).parent_keys}
        assert parents == upstream
    logits_node = graph.get(dg.AssetKey("logits"))
    assert logits_node.pools == {"gpu"}
    for name in chain[1:]:
        node = graph.get(dg.AssetKey(name))
        assert node.backfill_policy == dg.BackfillPolicy.single_run()
        assert node.partitions_def is not None
    bundle_code = graph.get(dg.AssetKey("request_shards")).code_version
    assert bundle_code is not None and "+" in bundle_code
    check_names = {key.name for key in graph.asset_check_keys}
    assert check_names == {
        "no_known_phi_in_output",
        "spans_valid",
        "quarantine_rate_below_threshold",
        "source_partition_not_empty",
        "rows_accounted_for",
        "source_rows_have_a_note_date",
        "note_ids_unique_across_partitions",
    }
    job = defs.resolve_job_def(JOB_NAME)
    # The job is the asset group: the five stages, not the external source table.
    assert {key.to_user_string() for key in job.asset_layer.executable_asset_keys} == set(STAGES)
    schedule = defs.resolve_schedule_def("deid_daily_schedule")
    assert schedule.cron_schedule == "0 2 * * *"


def test_materialize_rerun_and_phi_canary(
    env: Path,
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    rows = [_note(i, DAY1) for i in range(10)]
    _write_source(os.environ["DEID_SOURCE_URI"], rows)

    result = materialize_partitions(defs, [DAY1], instance=instance)
    assert result.success
    out = _rows(env, "deidentified_notes", DAY1)
    quarantined = _rows(env, "quarantine", DAY1)
    assert len(out) + len(quarantined) == len(rows)
    assert len(out) >= 1
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["no_known_phi_in_output"] is True
    assert checks["spans_valid"] is True
    # Every stage reports the peak RSS of its process; logits also its worker subprocess's.
    peaks = {
        event.asset_key.to_user_string(): event.materialization.metadata
        for event in result.get_asset_materialization_events()
    }
    assert set(peaks) == set(STAGES)
    for name in STAGES:
        assert peaks[name]["peak_rss_mib"].value > 10
    assert peaks["logits"]["worker_peak_rss_mib"].value > 10
    # Provenance and pseudonyms on every row; no real patient id in the output.
    for row in out:
        assert row["bundle_sha256"] and row["model_version"] and row["run_id"] == result.run_id
        assert row["patient_pseudonym"] and not row["patient_pseudonym"].startswith("p-")
        assert row["note_date_shifted"] is not None
    shard_index = _rows(env, "request_shards", DAY1)
    assert len(shard_index) >= 2  # max 4 records per shard
    assert len(_rows(env, "logits", DAY1)) == len(shard_index)

    # Re-running the partition leaves the same rows, no duplicates, one run folder of files.
    first_folder = Path(shard_index[0]["path"]).parent
    second = materialize_partitions(defs, [DAY1], instance=instance)
    assert second.success
    again = _rows(env, "deidentified_notes", DAY1)
    assert sorted(r["note_id"] for r in again) == sorted(r["note_id"] for r in out)
    assert len(_rows(env, "quarantine", DAY1)) == len(quarantined)
    assert len(_rows(env, "spans", DAY1)) == len(_rows(env, "raw_notes", DAY1))
    assert not first_folder.exists()
    for asset in ("request_shards", "logits"):
        folders = list((env / "files" / asset / DAY1).iterdir())
        assert [f.name for f in folders] == [f"run-{second.run_id}"]

    # PHI canary: no synthetic PHI string of the input anywhere in the instance or output.
    canaries = {p for person in PEOPLE for p in person} | set(CAREGIVER)
    home = Path(instance.root_directory)
    blobs: list[str] = []
    for path in home.rglob("*"):
        if path.is_file():
            blobs.append(path.read_bytes().decode("utf-8", errors="ignore"))
            if path.suffix == ".db":
                with sqlite3.connect(path) as connection:
                    for (table,) in connection.execute(
                        "SELECT name FROM sqlite_master WHERE type='table'"
                    ):
                        for record in connection.execute(f'SELECT * FROM "{table}"'):
                            blobs.append(repr(record))
    captured = capfd.readouterr()
    blobs += [captured.out, captured.err]
    assert len(blobs) > 3
    leaked = [canary for canary in canaries if any(canary in blob for blob in blobs)]
    assert leaked == []
    # ...and the canaries are really in the source (the scan looks for something real).
    assert all(any(c in r["text"] for r in rows) for c in canaries)


def test_two_partitions_in_one_backfill_shaped_run(env: Path, defs: dg.Definitions) -> None:
    rows = [_note(i, DAY1) for i in range(5)] + [_note(i, DAY2) for i in range(3)]
    rows.append(_note(9, "2026-01-07"))  # another day: not part of the run
    _write_source(os.environ["DEID_SOURCE_URI"], rows)
    result = materialize_partitions(defs, [DAY1, DAY2])
    assert result.success
    figures = {
        (event.asset_key.to_user_string(), event.partition): {
            name: value.value for name, value in event.materialization.metadata.items()
        }
        for event in result.get_asset_materialization_events()
    }
    assert {day for (name, day) in figures if name == "deidentified_notes"} == {DAY1, DAY2}
    for day, expected in ((DAY1, 5), (DAY2, 3)):
        out = _rows(env, "deidentified_notes", day)
        held = _rows(env, "quarantine", day)
        assert len(out) + len(held) == expected
        assert all(row["partition_date"] == day for row in out)
        # Each partition's materialization shows that partition's own figures.
        assert figures[("raw_notes", day)]["rows"] == expected
        assert figures[("raw_notes", day)]["source_rows"] == expected
        released = figures[("deidentified_notes", day)]
        assert released["rows"] == len(out)
        assert released["rows"] + released["withheld"] == expected
        assert figures[("spans", day)]["rows"] == expected
        assert figures[("logits", day)]["shards"] == len(_rows(env, "request_shards", day))
        assert released["partitions_in_run"] == 2  # what the run shares is said as such
    assert _rows(env, "raw_notes", "2026-01-07") == []


def test_bad_records_go_to_quarantine_and_good_ones_come_through(
    env: Path, defs: dg.Definitions, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEID_MAX_CHARS_PER_RECORD", "2000")
    monkeypatch.setenv("DEID_MAX_WINDOWS_PER_RECORD", "4")
    good = [_note(i, DAY1) for i in range(4)]
    # Under the character limit but over the window limit: rejected after tokenization.
    many_windows = {**_note(5, DAY1), "note_id": "bad-windows", "text": "Vervolg gepland. " * 110}
    bad = [
        {**_note(10, DAY1), "note_id": "bad-empty", "text": "   "},
        {**_note(11, DAY1), "note_id": "bad-nul", "text": "Controle\x00 gepland."},
        {**_note(12, DAY1), "note_id": "bad-long", "text": "Lange notitie. " * 300},
        {**_note(13, DAY1), "note_id": "bad-meta", "metadata": "{not json"},
        {**_note(0, DAY1), "text": "Tweede notitie met hetzelfde id."},  # duplicate id
    ]
    _write_source(os.environ["DEID_SOURCE_URI"], [*good, many_windows, *bad])
    result = materialize_partitions(defs, [DAY1])
    assert result.success
    reasons = {
        (row["note_id"], row["reason"], row["stage"]) for row in _rows(env, "quarantine", DAY1)
    }
    assert ("bad-empty", "empty_text", "raw_notes") in reasons
    assert ("bad-nul", "invalid_text", "raw_notes") in reasons
    assert ("bad-long", "too_long", "raw_notes") in reasons
    assert ("bad-meta", "bad_metadata", "raw_notes") in reasons
    assert (good[0]["note_id"], "duplicate_id", "raw_notes") in reasons
    assert ("bad-windows", "too_long", "request_shards") in reasons
    raw_ids = {row["note_id"] for row in _rows(env, "raw_notes", DAY1)}
    assert raw_ids == {row["note_id"] for row in good} | {"bad-windows"}
    assert "bad-windows" not in {row["note_id"] for row in _rows(env, "spans", DAY1)}
    out = _rows(env, "deidentified_notes", DAY1)
    withheld = {r[0] for r in reasons if r[1] == "leak_check_failed"}
    assert {row["note_id"] for row in out} | withheld == raw_ids - {"bad-windows"}
    # Quarantine rows carry codes and figures only, never the text.
    for row in _rows(env, "quarantine", DAY1):
        assert "Lange notitie" not in (row["message"] or "")
        assert "Controle" not in (row["message"] or "")
    rate = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert rate["quarantine_rate_below_threshold"].passed is False  # 6 of 10 > 5%


def test_leak_check_withholds_note_the_model_and_recognizers_miss(
    env: Path, defs: dg.Definitions, monkeypatch: pytest.MonkeyPatch
) -> None:
    import deid_pipeline.core as core

    # Force a miss: no span survives post-processing, so the planted name stays in the text.
    monkeypatch.setattr(core, "postprocess", lambda note, model_spans, **options: [])
    rows = [
        {**_note(0, DAY1), "text": "Controle zonder bijzonderheden, beleid ongewijzigd."},
        _note(1, DAY1),  # its text holds the metadata name
    ]
    _write_source(os.environ["DEID_SOURCE_URI"], rows)
    result = materialize_partitions(defs, [DAY1])
    assert result.success
    out_ids = {row["note_id"] for row in _rows(env, "deidentified_notes", DAY1)}
    assert out_ids == {rows[0]["note_id"]}
    held = [r for r in _rows(env, "quarantine", DAY1) if r["stage"] == "deidentified_notes"]
    assert [(r["note_id"], r["reason"]) for r in held] == [
        (rows[1]["note_id"], "leak_check_failed")
    ]
    assert "patient_name" in held[0]["message"] and "Bartholomeus" not in held[0]["message"]
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["no_known_phi_in_output"] is True

    # Plant the withheld note's raw text in the output table: the check's scan must fail it.
    from deid_pipeline.pipeline.checks import scan_output_partition

    settings = PipelineSettings()
    (good_row,) = _rows(env, "deidentified_notes", DAY1)
    planted = {**good_row, "note_id": rows[1]["note_id"], "deid_text": rows[1]["text"]}
    delta_io.replace_partition(
        str(env / "deidentified_notes"),
        pa.Table.from_pylist([good_row, planted], schema=tables.DEID_SCHEMA),
        DAY1,
    )
    scan = scan_output_partition(settings, DAY1)
    assert scan["scanned"] == 2
    assert scan["leaking"] == [rows[1]["note_id"]]
    assert scan["withheld_present"] == [rows[1]["note_id"]]


def test_find_known_phi_is_case_and_separator_tolerant() -> None:
    from deid_pipeline.notes import NoteMetadata

    metadata = NoteMetadata.model_validate(
        {
            "patient": {"given_names": "Anne Marie", "surname": "van der Wiel"},
            "known_values": [{"value": "06-1234 5678", "label": "Contactdetails"}],
        }
    )
    assert find_known_phi("Gezien: [Name:Patient], tel [Contactdetails].", metadata) == []
    assert find_known_phi("mevr. VAN DER  WIEL kwam", metadata) == ["patient_name"]
    assert find_known_phi("Wiel-van der", metadata) == ["patient_name"]  # surname core
    assert find_known_phi("bel 0612345678", metadata) == ["known_value:Contactdetails"]
    assert find_known_phi("bel 06.12.34.56.78", metadata) == ["known_value:Contactdetails"]
    assert find_known_phi("annemarie", metadata) == []  # whole words only
    assert find_known_phi("wieltje", metadata) == []


def test_replace_partition_is_atomic_and_scoped(tmp_path: Path) -> None:
    uri = str(tmp_path / "t")
    schema = delta_io.QUARANTINE_SCHEMA

    def rows(day: str, stage: str, n: int) -> pa.Table:
        return pa.Table.from_pylist(
            [
                {"note_id": f"{stage}-{i}", "partition_date": day, "stage": stage, "reason": "x"}
                for i in range(n)
            ],
            schema=schema,
        )

    delta_io.replace_partition(uri, rows(DAY1, "a", 3), DAY1, equals={"stage": "a"})
    delta_io.replace_partition(uri, rows(DAY1, "b", 2), DAY1, equals={"stage": "b"})
    delta_io.replace_partition(uri, rows(DAY2, "a", 1), DAY2, equals={"stage": "a"})
    delta_io.replace_partition(uri, rows(DAY1, "a", 1), DAY1, equals={"stage": "a"})
    assert delta_io.count_partition(uri, DAY1) == 3
    assert delta_io.count_partition(uri, DAY2) == 1
    version = DeltaTable(uri).version()

    def failing() -> Iterator[pa.RecordBatch]:
        yield rows(DAY1, "a", 5).to_batches()[0]
        raise RuntimeError("Dhr. Canarius")

    with pytest.raises(delta_io.DeltaWriteError) as error:
        delta_io.replace_partition(uri, delta_io.stream(schema, failing()), DAY1)
    assert "Canarius" not in str(error.value) and error.value.__cause__ is None
    assert DeltaTable(uri).version() == version  # nothing committed, old rows visible
    assert delta_io.count_partition(uri, DAY1) == 3
    with pytest.raises(delta_io.DeltaWriteError):  # a row outside the partition is refused
        delta_io.replace_partition(uri, rows(DAY2, "a", 1), DAY1)
    delta_io.replace_partition(uri, rows(DAY1, "a", 0), DAY1, equals={"stage": "a"})
    assert delta_io.count_partition(uri, DAY1, equals={"stage": "a"}) == 0


def test_k8s_launcher_builds_gpu_pod_body() -> None:
    from dagster_k8s.pipes import build_pod_body

    launcher = K8sInferenceLauncher(
        image="registry.example/deid:1.0",
        namespace="deid",
        gpu_count=1,
        node_selector={"nvidia.com/gpu.product": "Tesla-T4"},
        tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
        volume_claim="deid-lake",
    )
    body = build_pod_body(
        pod_name="deid-worker-test",
        image=launcher.image,
        command=launcher.command(),
        env_vars={"DAGSTER_PIPES_CONTEXT": "x"},
        base_pod_meta=launcher.base_pod_meta(),
        base_pod_spec=launcher.base_pod_spec(),
    )
    container = body.spec.containers[0]
    assert container.image == "registry.example/deid:1.0"
    assert container.command == ["python", "-m", "deid_pipeline.worker"]
    assert container.resources.limits["nvidia.com/gpu"] == "1"
    assert body.spec.node_selector == {"nvidia.com/gpu.product": "Tesla-T4"}
    assert body.spec.tolerations[0].key == "nvidia.com/gpu"
    assert body.spec.volumes[0].persistent_volume_claim.claim_name == "deid-lake"
    assert container.volume_mounts[0].mount_path == "/data"
    assert body.spec.restart_policy == "Never"
    assert {env.name for env in container.env} >= {"DAGSTER_PIPES_CONTEXT"}


def test_settings_read_env_at_run_time(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    resource = DeidSettings()
    monkeypatch.setenv("DEID_STORAGE_ROOT", str(tmp_path))
    monkeypatch.setenv("DEID_MAX_WINDOWS_PER_RECORD", "7")
    monkeypatch.setenv("DEID_KEEP_SHAPELESS_SPANS", "1")
    settings = resource.resolve()
    assert settings.storage_root == str(tmp_path)
    assert settings.limits().max_windows_per_record == 7
    assert settings.keep_shapeless_spans is True
    # A value set on the resource wins over the environment.
    assert (
        DeidSettings(storage_root="s3://bucket/lake").resolve().storage_root == "s3://bucket/lake"
    )
    assert DeidSettings(keep_shapeless_spans=False).resolve().keep_shapeless_spans is False
    # A bad value is refused with the variable's name.
    monkeypatch.setenv("DEID_REPLACEMENT_MODE", "erase")
    with pytest.raises(ValueError, match="replacement_mode"):
        resource.resolve()


def test_instance_config_is_valid() -> None:
    import yaml
    from dagster._core.instance.config import dagster_instance_config

    home = Path(__file__).resolve().parents[1] / "dagster_home"
    config, _ = dagster_instance_config(str(home))
    assert config["concurrency"]["pools"]["default_limit"] == 1
    assert config["nux"]["enabled"] is False  # the UI opens without the sign-up dialog
    assert (
        yaml.safe_load((home / "dagster.yaml").read_text())["concurrency"]["runs"][
            "max_concurrent_runs"
        ]
        >= 1
    )


@hypothesis_settings(max_examples=60, deadline=None)
@given(st.permutations(list(range(30))), st.sets(st.integers(0, 29)))
def test_keyed_buffer_joins_any_order(order: list[int], missing: set[int]) -> None:
    rows = [{"note_id": f"n{i}", "value": i} for i in order]
    take = delta_io.KeyedBuffer.from_rows(rows, "note_id")
    for i in sorted(set(range(30)) - missing):
        row = take(f"n{i}")
        assert row is not None and row["value"] == i
    assert take("absent") is None


def test_worker_refuses_a_shard_whose_content_changed(env: Path, tiny_bundle_dir: Path) -> None:
    from deid_pipeline.shards import ShardIntegrityError
    from deid_pipeline.worker import ShardRef, WorkerParams, run_worker

    _write_source(os.environ["DEID_SOURCE_URI"], [_note(0, DAY1)])
    settings = PipelineSettings()
    stages.run_raw_notes(settings, DAY1, "r1")
    stages.run_request_shards(settings, DAY1, "r1")
    (shard,) = _rows(env, "request_shards", DAY1)
    params = WorkerParams(
        shards=[ShardRef(shard_id=shard["shard_id"], path=shard["path"], sha256="0" * 64)],
        out_dir=str(env / "out"),
        bundle_dir=str(tiny_bundle_dir),
        device="cpu",
    )
    with pytest.raises(ShardIntegrityError):
        run_worker(params)
    good = params.model_copy(
        update={
            "shards": [
                ShardRef(shard_id=shard["shard_id"], path=shard["path"], sha256=shard["sha256"])
            ]
        }
    )
    figures = run_worker(good)
    assert figures.windows == shard["n_windows"] and len(figures.logits) == 1
    assert 0 < figures.padding_efficiency <= 1
    assert figures.metadata()["model_version"] == "tiny-0"


def test_logits_commit_trusts_complete_files_when_pipes_messages_are_lost(
    env: Path, tiny_bundle_dir: Path
) -> None:
    from deid_pipeline.worker import WorkerParams, run_worker

    _write_source(os.environ["DEID_SOURCE_URI"], [_note(i, DAY1) for i in range(9)])
    settings = PipelineSettings()
    stages.run_raw_notes(settings, DAY1, "r1")
    stages.run_request_shards(settings, DAY1, "r1")
    params = stages.worker_params(settings, DAY1, env / "run-out")
    figures = run_worker(WorkerParams.model_validate(params))
    assert len(figures.logits) > 1
    # No message arrived at all: every file is found on disk, verified and committed.
    committed = stages.commit_logits(settings, DAY1, "r1", params, [], {})
    assert committed.shards == len(figures.logits)
    assert committed.extra["logits_files_found_on_disk"] == len(figures.logits)
    rows = {row["shard_id"]: row for row in _rows(env, "logits", DAY1)}
    assert {ref.shard_id: ref.sha256 for ref in figures.logits} == {
        shard_id: row["sha256"] for shard_id, row in rows.items()
    }
    # A file that is really missing still fails the stage, naming counts only.
    Path(figures.logits[0].path).unlink()
    with pytest.raises(stages.StageError, match="missing"):
        stages.commit_logits(settings, DAY1, "r2", params, [], {})


@pytest.mark.parametrize("key", [None, "too-short-key"])
def test_a_missing_or_short_secret_key_stops_the_run_before_anything_is_written(
    env: Path, defs: dg.Definitions, monkeypatch: pytest.MonkeyPatch, key: str | None
) -> None:
    _write_source(os.environ["DEID_SOURCE_URI"], [_note(i, DAY1) for i in range(3)])
    monkeypatch.delenv("DEID_DEMO_MODE")
    if key is None:
        monkeypatch.delenv("DEID_SECRET_KEY", raising=False)
    else:
        monkeypatch.setenv("DEID_SECRET_KEY", key)
    result = materialize_partitions(defs, [DAY1], raise_on_error=False)
    assert not result.success
    assert not env.exists()  # no table, no shard file: nothing was written
    assert result.get_asset_materialization_events() == []
    errors = [
        event.event_specific_data.error.to_string()
        for event in result.all_events
        if getattr(event.event_specific_data, "error", None) is not None
    ]
    assert errors and any("DEID_SECRET_KEY" in error for error in errors)


def test_a_day_without_source_notes_is_flagged_by_a_check(env: Path, defs: dg.Definitions) -> None:
    _write_source(os.environ["DEID_SOURCE_URI"], [_note(i, DAY2) for i in range(2)])
    result = materialize_partitions(defs, [DAY1, DAY2])
    assert result.success
    (check,) = [
        e
        for e in result.get_asset_check_evaluations()
        if e.check_name == "source_partition_not_empty"
    ]
    assert check.passed is False and check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["empty_partitions"].value == [DAY1]


def test_source_in_dutch_date_forms_comes_through_and_a_missing_column_is_named(
    env: Path, defs: dg.Definitions
) -> None:
    # note_date written as text, as some hospital exports do.
    schema = SOURCE_SCHEMA.set(2, pa.field("note_date", pa.string()))
    rows = []
    for i, written in enumerate(["05-01-2026", "5/1/2026", "2026-01-05", "05.01.2026"]):
        row = _note(i, DAY1)
        metadata = json.loads(row["metadata"])
        metadata["patient"]["birth_date"] = "14/03/1961"  # day first, as Dutch systems write it
        rows.append({**row, "note_date": written, "metadata": json.dumps(metadata)})
    rows.append({**_note(9, DAY2), "note_date": "06-01-2026"})  # another day
    source = os.environ["DEID_SOURCE_URI"]
    write_deltalake(source, pa.Table.from_pylist(rows, schema=schema), mode="overwrite")
    settings = PipelineSettings()
    figures = stages.run_raw_notes(settings, DAY1, "r1")
    assert (figures.rows, figures.quarantined) == (4, 0)
    raw = _rows(env, "raw_notes", DAY1)
    assert {row["note_date"] for row in raw} == {dt.date(2026, 1, 5)}
    assert all('"birth_date":"1961-03-14"' in row["metadata"] for row in raw)

    without_text = pa.Table.from_pylist(rows, schema=schema).drop_columns(["text"])
    write_deltalake(source, without_text, mode="overwrite", schema_mode="overwrite")
    with pytest.raises(stages.StageError) as error:
        stages.run_raw_notes(settings, DAY1, "r2")
    assert "no column text" in str(error.value)
    assert "required: note_id (string (or integer)), note_date" in str(error.value)


def _run_stages_through_logits(root: Path) -> dict[str, Any]:
    """raw_notes, request_shards and logits of DAY1 by their stage functions (the worker in
    this process); returns the worker request."""
    from deid_pipeline.worker import WorkerParams, run_worker

    settings = PipelineSettings()
    stages.run_raw_notes(settings, DAY1, "r1")
    stages.run_request_shards(settings, DAY1, "r1")
    params = stages.worker_params(settings, DAY1, root / "run-out")
    run_worker(WorkerParams.model_validate(params))
    stages.commit_logits(settings, DAY1, "r1", params, [], {})
    return params


def test_spans_refuses_logits_of_another_bundle(
    env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from deid_pipeline.core import ModelMismatchError
    from deid_pipeline.testing import make_tiny_bundle

    _write_source(os.environ["DEID_SOURCE_URI"], [_note(i, DAY1) for i in range(3)])
    params = _run_stages_through_logits(env)
    other = make_tiny_bundle(tmp_path / "other", window_length=64, window_overlap=16, seed=1)
    monkeypatch.setenv("DEID_BUNDLE_DIR", str(other.root))
    with pytest.raises(ModelMismatchError) as error:
        stages.run_spans(PipelineSettings(), DAY1, "r2")
    message = str(error.value)
    assert "made by model bundle" in message and "re-run" in message
    assert _rows(env, "spans", DAY1) == []
    # With the bundle that made them, the provenance names that bundle.
    monkeypatch.setenv("DEID_BUNDLE_DIR", params["bundle_dir"])
    stages.run_spans(PipelineSettings(), DAY1, "r3")
    made_by = {row["bundle_sha256"] for row in _rows(env, "spans", DAY1)}
    assert made_by == {PipelineSettings().load_bundle().sha256}


def test_a_stale_stage_says_which_stage_to_re_run(env: Path) -> None:
    rows = [_note(i, DAY1) for i in range(3)]
    _write_source(os.environ["DEID_SOURCE_URI"], rows)
    _run_stages_through_logits(env)
    settings = PipelineSettings()
    stages.run_spans(settings, DAY1, "r1")
    # The source changes a note and raw_notes is re-run, but spans is not.
    rows[1] = {**rows[1], "text": rows[1]["text"] + " Aanvulling."}
    _write_source(os.environ["DEID_SOURCE_URI"], rows)
    stages.run_raw_notes(settings, DAY1, "r2")
    with pytest.raises(stages.StageError, match="re-run spans"):
        stages.run_deidentified_notes(settings, DAY1, "r2")
    assert _rows(env, "deidentified_notes", DAY1) == []
