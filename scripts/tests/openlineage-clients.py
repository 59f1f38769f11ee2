#!/usr/bin/env python3
"""OpenLineage clients (openlineage-python) against a running Duckling, for the lineage tests.

  openlineage-clients.py SCENARIO --url http://127.0.0.1:PORT --key ADMIN_KEY

Scenarios print one JSON object with what they saw; a failed expectation raises (exit status 1).
  client   openlineage-python's HTTP transport posts START and COMPLETE; Duckling stores them, lists
           the job and answers the lineage graph; malformed events get 400 naming the field.
  jobs     the seed's job endpoints write events; every stored event has the spec's required fields
           and loads into openlineage-python's event classes.
  duckling every run of Duckling's own jobs (namespace duckling): each event validated against the
           spec's RunEvent schema and loaded by openlineage-python; prints the runs and the
           job_status events /events/jobs replays, for the test to check.
"""
import argparse
import json
import uuid
from datetime import datetime, timezone

import os
import time

import httpx
import jsonschema
from httpx_sse import connect_sse
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import schema_dataset
from openlineage.client.serde import Serde
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpConfig, HttpTransport

parser = argparse.ArgumentParser()
parser.add_argument("scenario")
parser.add_argument("--url", required=True)
parser.add_argument("--key", required=True)
parser.add_argument("--expect-jobs", default="", help="comma-separated job names the duckling scenario waits for")
args = parser.parse_args()
SPEC = json.load(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "openlineage", "OpenLineage.json")))
# The root is oneOf RunEvent, DatasetEvent, JobEvent, and a RunEvent is also a valid JobEvent: check RunEvent itself.
RUN_EVENT = jsonschema.Draft202012Validator(dict(SPEC, oneOf=[{"$ref": "#/$defs/RunEvent"}]),
                                            format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
HEADERS = {"Authorization": f"Bearer {args.key}"}
PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/client/python"

# The fields OpenLineage 2-0-2 requires of a RunEvent (BaseEvent, RunEvent, Run, Job, Dataset, BaseFacet).
REQUIRED = {"": ["eventTime", "producer", "schemaURL", "run", "job"], "run": ["runId"], "job": ["namespace", "name"]}
FACET_REQUIRED = ["_producer", "_schemaURL"]


def check_required(event):
    errors = sorted(RUN_EVENT.iter_errors(event), key=lambda e: list(e.path))
    assert not errors, f"not a RunEvent of the spec: {[(list(e.path), e.message) for e in errors]} in {event}"
    for path, fields in REQUIRED.items():
        node = event if not path else event[path]
        for field in fields:
            assert node.get(field) not in (None, ""), f"{path}.{field} missing in {event}"
    uuid.UUID(event["run"]["runId"])
    assert event.get("eventType") in ("START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"), event
    assert event["schemaURL"].startswith("https://openlineage.io/spec/"), event["schemaURL"]
    facet_groups = [event["run"].get("facets"), event["job"].get("facets")]
    for dataset in event.get("inputs", []) + event.get("outputs", []):
        assert dataset["namespace"] and dataset["name"], dataset
        facet_groups += [dataset.get("facets"), dataset.get("inputFacets"), dataset.get("outputFacets")]
    for group in facet_groups:
        for name, facet in (group or {}).items():
            for field in FACET_REQUIRED:
                assert facet.get(field), f"facet {name} lacks {field}: {event}"


def load(event):
    """Builds openlineage-python's RunEvent from a stored event (its validators run)."""
    def datasets(kind, items):
        return [kind(namespace=d["namespace"], name=d["name"]) for d in items]
    loaded = RunEvent(
        eventType=RunState(event["eventType"]), eventTime=event["eventTime"],
        run=Run(runId=event["run"]["runId"]), job=Job(namespace=event["job"]["namespace"], name=event["job"]["name"]),
        producer=event["producer"], inputs=datasets(InputDataset, event.get("inputs", [])),
        outputs=datasets(OutputDataset, event.get("outputs", [])))
    again = Serde.to_dict(loaded)
    for key in ("eventType", "eventTime", "producer"):
        assert again[key] == event[key], (key, again[key], event[key])
    assert again["run"]["runId"] == event["run"]["runId"], (again["run"], event["run"])
    assert [again["job"][k] for k in ("namespace", "name")] == [event["job"][k] for k in ("namespace", "name")], again["job"]
    return loaded


def client_scenario():
    client = OpenLineageClient(transport=HttpTransport(HttpConfig(
        url=args.url, endpoint="api/v1/lineage", timeout=10, auth=ApiKeyTokenProvider({"apiKey": args.key}))))
    run = Run(runId=str(uuid.uuid4()))
    job = Job(namespace="etl", name="orders_daily")
    fields = [schema_dataset.SchemaDatasetFacetFields(name="id", type="BIGINT")]
    inputs = [InputDataset(namespace="postgres://db:5432/shop", name="public.orders",
                           facets={"schema": schema_dataset.SchemaDatasetFacet(fields=fields)})]
    outputs = [OutputDataset(namespace="duckling://default", name="main.orders_daily")]
    now = lambda: datetime.now(timezone.utc).isoformat()
    client.emit(RunEvent(eventType=RunState.START, eventTime=now(), run=run, job=job, producer=PRODUCER, inputs=inputs, outputs=outputs))
    client.emit(RunEvent(eventType=RunState.COMPLETE, eventTime=now(), run=run, job=job, producer=PRODUCER, inputs=inputs, outputs=outputs))

    with httpx.Client(base_url=args.url, headers=HEADERS, timeout=30) as http:
        jobs = http.get("/jobs").json()["jobs"]
        listed = next(j for j in jobs if j["name"] == "orders_daily")
        assert listed["namespace"] == "etl" and listed["latest_run"]["state"] == "COMPLETE", listed
        assert listed["latest_run"]["run_id"] == run.runId, listed
        detail = http.get(f"/jobs/orders_daily/runs/{run.runId}").json()
        assert [e["eventType"] for e in detail["events"]] == ["START", "COMPLETE"], detail
        for event in detail["events"]:
            check_required(event)
            load(event)
        graph = http.get("/api/v1/lineage", params={"nodeId": "dataset:postgres://db:5432/shop:public.orders", "depth": 2}).json()["graph"]
        ids = {node["id"] for node in graph}
        assert ids == {"dataset:postgres://db:5432/shop:public.orders", "job:etl:orders_daily",
                       "dataset:duckling://default:main.orders_daily"}, ids
        job_node = next(node for node in graph if node["type"] == "JOB")
        assert {e["origin"] for e in job_node["inEdges"]} == {"dataset:postgres://db:5432/shop:public.orders"}, job_node
        assert {e["destination"] for e in job_node["outEdges"]} == {"dataset:duckling://default:main.orders_daily"}, job_node

        good = json.loads(json.dumps(detail["events"][0]))
        problems = []
        for field, change in [("run.runId", lambda e: e["run"].pop("runId")),
                              ("run.runId", lambda e: e["run"].update(runId="not-a-uuid")),
                              ("eventType", lambda e: e.update(eventType="FINISHED")),
                              ("eventTime", lambda e: e.pop("eventTime")),
                              ("job.name", lambda e: e["job"].pop("name")),
                              ("inputs[0].name", lambda e: e["inputs"][0].pop("name"))]:
            bad = json.loads(json.dumps(good))
            change(bad)
            reply = http.post("/api/v1/lineage", json=bad)
            assert reply.status_code == 400, (field, reply.status_code, reply.text)
            error = reply.json()["error"]
            assert error["field"] == field and field in error["message"], (field, error)
            problems.append([field, error["message"]])
        runs_after = http.get("/jobs/orders_daily/runs").json()
        assert runs_after["total"] == 1, runs_after
    print(json.dumps({"graph_nodes": sorted(ids), "refused": problems}))


def jobs_scenario():
    with httpx.Client(base_url=args.url, headers=HEADERS, timeout=30) as http:
        created = http.post("/jobs", json={"name": "nightly_export", "namespace": "reports", "description": "exports orders",
                                           "inputs": [{"namespace": "duckling://default", "name": "main.orders"}],
                                           "outputs": [{"namespace": "s3://exports", "name": "orders.parquet"}]})
        assert created.status_code == 201, created.text
        started = http.post("/jobs/nightly_export/runs")
        assert started.status_code == 201, started.text
        ok_run = started.json()["run_id"]
        done = http.put(f"/jobs/nightly_export/runs/{ok_run}/complete", json={"success": True})
        assert done.status_code == 200 and done.json()["state"] == "COMPLETE", done.text
        again = http.put(f"/jobs/nightly_export/runs/{ok_run}/complete", json={"success": True})
        assert again.status_code == 409, again.text
        failing = http.post("/jobs/nightly_export/runs").json()["run_id"]
        failed = http.put(f"/jobs/nightly_export/runs/{failing}/complete", json={"success": False, "error": "disk full"})
        assert failed.json()["state"] == "FAIL", failed.text
        fail_event = failed.json()["events"][-1]
        assert fail_event["run"]["facets"]["errorMessage"]["message"] == "disk full", fail_event
        missing = http.put(f"/jobs/nightly_export/runs/{uuid.uuid4()}/complete", json={})
        assert missing.status_code == 404, missing.text
        unknown = http.post("/jobs/nobody/runs")
        assert unknown.status_code == 404, unknown.text
        job = http.get("/jobs/nightly_export").json()
        assert job["run_count"] == 2 and job["latest_run"]["state"] == "FAIL" and job["description"] == "exports orders", job
        page = http.get("/jobs/nightly_export/runs", params={"limit": 1}).json()
        assert page["total"] == 2 and [r["run_id"] for r in page["runs"]] == [failing], page
        page2 = http.get("/jobs/nightly_export/runs", params={"limit": 1, "offset": 1}).json()
        assert [r["run_id"] for r in page2["runs"]] == [ok_run], page2
        # A job of the same name in another namespace does not capture this job's runs.
        assert http.post("/jobs", json={"name": "twin", "namespace": "etl"}).status_code == 201
        assert http.post("/jobs", json={"name": "twin", "namespace": "zzz"}).status_code == 201
        twin_run = http.post("/jobs/twin/runs", params={"namespace": "zzz"}).json()["run_id"]
        ended = http.put(f"/jobs/twin/runs/{twin_run}/complete")  # no body at all
        assert ended.status_code == 200 and ended.json()["state"] == "COMPLETE", ended.text
        assert ended.json()["job"]["namespace"] == "zzz", ended.text
        assert http.post("/jobs/twin/runs", params={"namespace": "nowhere"}).status_code == 404
        # Names with spaces work through their percent-encoded path.
        assert http.post("/jobs", json={"name": "daily report"}).status_code == 201
        spaced = http.post("/jobs/daily%20report/runs")
        assert spaced.status_code == 201 and spaced.json()["namespace"] == "duckling", spaced.text
        assert http.get(f"/jobs/daily%20report/runs/{spaced.json()['run_id']}").json()["state"] == "START"
        assert "T" in job["created_at"] and job["created_at"].endswith("Z"), job
        checked = 0
        for run_id in (ok_run, failing):
            for event in http.get(f"/jobs/nightly_export/runs/{run_id}").json()["events"]:
                check_required(event)
                load(event)
                assert event["producer"].startswith("urn:duckling:server:"), event
                assert event["inputs"][0]["name"] == "main.orders" and event["outputs"][0]["namespace"] == "s3://exports", event
                checked += 1
        assert checked == 4
    print(json.dumps({"events_checked": checked, "runs": page["total"]}))


def duckling_scenario():
    expected = [name for name in args.expect_jobs.split(",") if name]
    with httpx.Client(base_url=args.url, headers=HEADERS, timeout=30) as http:
        jobs = {j["name"]: j for j in http.get("/jobs").json()["jobs"] if j["namespace"] == "duckling"}
        assert set(expected) <= set(jobs), (expected, sorted(jobs))
        runs, checked = {}, 0
        for name in sorted(jobs):
            listed = http.get(f"/jobs/{name}/runs", params={"namespace": "duckling", "limit": 100}).json()["runs"]
            runs[name] = []
            for summary in listed:
                run = http.get(f"/jobs/{name}/runs/{summary['run_id']}").json()
                for event in run["events"]:
                    check_required(event)
                    load(event)
                    checked += 1
                runs[name].append(run)
        # The job_status events of the same runs, replayed from the bus's history: an id older than
        # the history gets a history_gap naming the oldest kept, and resuming just before it replays all.
        with connect_sse(http, "GET", "/events/jobs", params={"last_event_id": "1"}, timeout=httpx.Timeout(30, read=5)) as source:
            gap = next(sse for sse in source.iter_sse() if sse.event == "history_gap")
        oldest = int(json.loads(gap.data)["data"]["oldest_available"])
        statuses = []
        deadline = time.time() + 20
        with connect_sse(http, "GET", "/events/jobs", params={"last_event_id": str(oldest - 1)}, timeout=httpx.Timeout(30, read=5)) as source:
            try:
                for sse in source.iter_sse():
                    if sse.event == "job_status":
                        statuses.append(json.loads(sse.data)["data"])
                    ended = {(s["name"]) for s in statuses if s["state"] in ("succeeded", "failed", "cancelled")}
                    if set(expected) <= ended or time.time() > deadline:
                        break
            except httpx.ReadTimeout:
                pass
    print(json.dumps({"events_checked": checked, "runs": runs, "job_status": statuses}))


{"client": client_scenario, "jobs": jobs_scenario, "duckling": duckling_scenario}[args.scenario]()
