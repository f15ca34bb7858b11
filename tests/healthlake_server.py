"""AWS HealthLake as recorded: no emulator serves it (moto has none), so its answers are replayed
by a small HTTP server on a loopback port speaking its JSON 1.0 protocol (``X-Amz-Target:
HealthLake.<Operation>``), which the provider reaches through ``AWS_ENDPOINT_URL_HEALTHLAKE``: the
same boto3 client, retries and failure reports as against AWS.

Shapes as the botocore service model (``healthlake/2017-07-01``: ``ListFHIRDatastoresResponse``,
``DatastoreProperties``, ``ListTagsForResourceResponse``) and the AWS HealthLake Developer Guide
(https://docs.aws.amazon.com/healthlake/latest/devguide/managing-data-stores-describe.html, the
``describe-fhir-datastore`` output) give them:

- ``ListFHIRDatastores`` → ``{"DatastorePropertiesList": [{"DatastoreId", "DatastoreArn":
  "arn:aws:healthlake:R:A:datastore/fhir/ID", "DatastoreName", "DatastoreStatus": "ACTIVE" | …,
  "CreatedAt": 1603761064.881, "DatastoreTypeVersion": "R4", "DatastoreEndpoint":
  "https://healthlake.R.amazonaws.com/datastore/ID/r4/", "SseConfiguration": {"KmsEncryptionConfig":
  {"CmkType": "CUSTOMER_MANAGED_KMS_KEY" | "AWS_OWNED_KMS_KEY", "KmsKeyId"?}}, "PreloadDataConfig"?:
  {"PreloadDataType": "SYNTHEA"}, "IdentityProviderConfiguration": {"AuthorizationStrategy":
  "AWS_AUTH" | "SMART_ON_FHIR_V1" | "SMART_ON_FHIR", "FineGrainedAuthorizationEnabled", "Metadata"?,
  "IdpLambdaArn"?}}], "NextToken"?}``; answered two stores a page here, so paging is exercised;
- ``ListTagsForResource`` (``{"ResourceARN"}``) → ``{"Tags": [{"Key", "Value"}]}``.

The estate is empty unless a test records stores; :func:`clear` empties it (the moto reset does).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ACCOUNT = "123456789012"
PAGE = 2


class Estate:
    """What the server answers: data stores (with their region) and tags by ARN."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stores: list[tuple[str, dict[str, Any]]] = []
        self.tags: dict[str, list[dict[str, str]]] = {}


ESTATE = Estate()
#: The process's server, once started.
_servers: list[ThreadingHTTPServer] = []
_started = threading.Lock()


def datastore(region: str, store_id: str, name: str, *, status: str = "ACTIVE", key: str | None = None,
              strategy: str = "AWS_AUTH", **extra: Any) -> dict[str, Any]:
    """One ``DatastoreProperties`` as ListFHIRDatastores answers it."""
    sse = ({"CmkType": "CUSTOMER_MANAGED_KMS_KEY", "KmsKeyId": key} if key
           else {"CmkType": "AWS_OWNED_KMS_KEY"})
    return {"DatastoreId": store_id, "DatastoreArn": arn(region, store_id), "DatastoreName": name,
            "DatastoreStatus": status, "CreatedAt": 1603761064.881, "DatastoreTypeVersion": "R4",
            "DatastoreEndpoint": f"https://healthlake.{region}.amazonaws.com/datastore/{store_id}/r4/",
            "SseConfiguration": {"KmsEncryptionConfig": sse},
            "IdentityProviderConfiguration": {"AuthorizationStrategy": strategy,
                                              "FineGrainedAuthorizationEnabled": False}, **extra}


def arn(region: str, store_id: str) -> str:
    return f"arn:aws:healthlake:{region}:{ACCOUNT}:datastore/fhir/{store_id}"


def record(region: str, store: dict[str, Any], tags: dict[str, str] | None = None) -> None:
    with ESTATE.lock:
        ESTATE.stores.append((region, store))
        ESTATE.tags[str(store["DatastoreArn"])] = [{"Key": k, "Value": v} for k, v in (tags or {}).items()]


def clear() -> None:
    with ESTATE.lock:
        ESTATE.stores.clear()
        ESTATE.tags.clear()


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        operation = str(self.headers.get("X-Amz-Target", "")).rpartition(".")[2]
        # The signed scope names the region: Credential=KEY/DATE/REGION/healthlake/aws4_request.
        region = str(self.headers.get("Authorization", "")).split("/")[2:3] or [""]
        with ESTATE.lock:
            if operation == "ListFHIRDatastores":
                stores = [s for r, s in ESTATE.stores if r == region[0]]
                start = int(body.get("NextToken") or 0)
                answer: dict[str, Any] = {"DatastorePropertiesList": stores[start:start + PAGE]}
                if start + PAGE < len(stores):
                    answer["NextToken"] = str(start + PAGE)
                self._answer(200, answer)
            elif operation == "ListTagsForResource" and body.get("ResourceARN") in ESTATE.tags:
                self._answer(200, {"Tags": ESTATE.tags[body["ResourceARN"]]})
            elif operation == "ListTagsForResource":
                self._answer(400, {"__type": "ResourceNotFoundException", "message": "no such data store"})
            else:
                self._answer(400, {"__type": "UnknownOperationException", "message": operation})

    def _answer(self, status: int, document: dict[str, Any]) -> None:
        data = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(data)))
        if status >= 400:
            self.send_header("x-amzn-ErrorType", str(document["__type"]))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_: Any) -> None:  # quiet
        return


def endpoint() -> str:
    """The server's URL, started on first use for the process (a daemon thread)."""
    with _started:
        if not _servers:
            server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, name="healthlake-replay", daemon=True).start()
            _servers.append(server)
        return f"http://127.0.0.1:{_servers[0].server_address[1]}"
