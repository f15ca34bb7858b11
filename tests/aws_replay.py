"""AWS HealthLake and S3 Tables as recorded: moto serves neither (it has no HealthLake, and its
S3 Tables fail in server mode), so their answers are replayed by a small HTTP server on a
loopback port speaking their protocols (HealthLake's JSON 1.0, ``X-Amz-Target:
HealthLake.<Operation>``; S3 Tables' REST JSON), which the provider reaches through
``AWS_ENDPOINT_URL_HEALTHLAKE`` and ``AWS_ENDPOINT_URL_S3TABLES``: the same boto3 clients, retries
and failure reports as against AWS. The region is the one the request is signed for.

HealthLake, as the botocore service model (``healthlake/2017-07-01``: ``ListFHIRDatastoresResponse``,
``DatastoreProperties``, ``ListTagsForResourceResponse``) and the AWS HealthLake Developer Guide
(https://docs.aws.amazon.com/healthlake/latest/devguide/managing-data-stores-describe.html, the
``describe-fhir-datastore`` output) give its answers:

- ``ListFHIRDatastores`` → ``{"DatastorePropertiesList": [{"DatastoreId", "DatastoreArn":
  "arn:aws:healthlake:R:A:datastore/fhir/ID", "DatastoreName", "DatastoreStatus": "ACTIVE" | …,
  "CreatedAt": 1603761064.881, "DatastoreTypeVersion": "R4", "DatastoreEndpoint":
  "https://healthlake.R.amazonaws.com/datastore/ID/r4/", "SseConfiguration": {"KmsEncryptionConfig":
  {"CmkType": "CUSTOMER_MANAGED_KMS_KEY" | "AWS_OWNED_KMS_KEY", "KmsKeyId"?}}, "PreloadDataConfig"?:
  {"PreloadDataType": "SYNTHEA"}, "IdentityProviderConfiguration": {"AuthorizationStrategy":
  "AWS_AUTH" | "SMART_ON_FHIR_V1" | "SMART_ON_FHIR", "FineGrainedAuthorizationEnabled", "Metadata"?,
  "IdpLambdaArn"?}}], "NextToken"?}``; answered two stores a page here, so paging is exercised;
- ``ListTagsForResource`` (``{"ResourceARN"}``) → ``{"Tags": [{"Key", "Value"}]}``.

S3 Tables, as the botocore service model (``s3tables/2018-05-10``) and the Amazon S3 API
reference (https://docs.aws.amazon.com/AmazonS3/latest/API/API_Operations_Amazon_S3_Tables.html)
give its answers (ARNs percent-encoded in the path):

- ``GET /buckets`` (ListTableBuckets) → ``{"tableBuckets": [{"arn":
  "arn:aws:s3tables:R:A:bucket/NAME", "name", "ownerAccountId", "createdAt": ISO 8601,
  "tableBucketId", "type": "customer"}], "continuationToken"?}``;
- ``GET /buckets/{arn}/policy`` (GetTableBucketPolicy) and ``GET /tables/{arn}/{namespace}/{name}/policy``
  (GetTablePolicy) → ``{"resourcePolicy": "<JSON>"}``, or 404 ``NotFoundException`` without one;
- ``GET /tables/{arn}`` (ListTables) → ``{"tables": [{"namespace": ["ns"], "name", "type":
  "customer", "tableARN": "arn:aws:s3tables:R:A:bucket/NAME/table/ID", "createdAt", "modifiedAt",
  "namespaceId", "tableBucketId"}], "continuationToken"?}``;
- ``GET /tables/{arn}/{namespace}/{name}/encryption`` (GetTableEncryption) →
  ``{"encryptionConfiguration": {"sseAlgorithm": "AES256" | "aws:kms", "kmsKeyArn"?}}``;
- ``GET /tag/{arn}`` (ListTagsForResource) → ``{"tags": {"KEY": "VALUE"}}``.

Listings are answered two items a page, so paging is exercised. The estate is empty unless a
test records stores; :func:`clear` empties it (the moto reset does).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

ACCOUNT = "123456789012"
PAGE = 2


@dataclass
class TableBucket:
    """A recorded table bucket: its summary, policy, tables (summary, encryption, policy)."""

    summary: dict[str, Any]
    policy: str | None = None
    tables: list[dict[str, Any]] = field(default_factory=list)
    encryption: dict[str, dict[str, Any]] = field(default_factory=dict)
    policies: dict[str, str] = field(default_factory=dict)


class Estate:
    """What the server answers: data stores and table buckets (with their region), tags by ARN."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stores: list[tuple[str, dict[str, Any]]] = []
        self.tags: dict[str, list[dict[str, str]]] = {}
        self.buckets: list[tuple[str, TableBucket]] = []


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


def table_bucket(region: str, name: str, *, policy: str | None = None, tags: dict[str, str] | None = None
                 ) -> TableBucket:
    """Record a table bucket (tables are added with :func:`table`)."""
    arn = f"arn:aws:s3tables:{region}:{ACCOUNT}:bucket/{name}"
    bucket = TableBucket({"arn": arn, "name": name, "ownerAccountId": ACCOUNT,
                          "createdAt": "2025-01-15T09:30:00.000Z", "tableBucketId": f"id-{name}",
                          "type": "customer"}, policy)
    with ESTATE.lock:
        ESTATE.buckets.append((region, bucket))
        ESTATE.tags[arn] = [{"Key": k, "Value": v} for k, v in (tags or {}).items()]
    return bucket


def table(bucket: TableBucket, namespace: str, name: str, *, key: str | None = None, policy: str | None = None,
          tags: dict[str, str] | None = None) -> str:
    """Record a table of ``bucket`` (under ``key``, else S3-managed keys); its ARN."""
    arn = f"{bucket.summary['arn']}/table/{namespace}-{name}"
    with ESTATE.lock:
        bucket.tables.append({"namespace": [namespace], "name": name, "type": "customer", "tableARN": arn,
                              "createdAt": "2025-01-15T09:31:00.000Z", "modifiedAt": "2025-01-15T09:31:00.000Z",
                              "namespaceId": f"ns-{namespace}", "tableBucketId": bucket.summary["tableBucketId"]})
        bucket.encryption[f"{namespace}/{name}"] = ({"sseAlgorithm": "aws:kms", "kmsKeyArn": key} if key
                                                    else {"sseAlgorithm": "AES256"})
        if policy:
            bucket.policies[f"{namespace}/{name}"] = policy
        ESTATE.tags[arn] = [{"Key": k, "Value": v} for k, v in (tags or {}).items()]
    return arn


def clear() -> None:
    with ESTATE.lock:
        ESTATE.stores.clear()
        ESTATE.tags.clear()
        ESTATE.buckets.clear()


def _page(items: list[Any], token: str | None, key: str, token_key: str) -> dict[str, Any]:
    start = int(token or 0)
    answer: dict[str, Any] = {key: items[start:start + PAGE]}
    if start + PAGE < len(items):
        answer[token_key] = str(start + PAGE)
    return answer


class _Handler(BaseHTTPRequestHandler):
    def region(self) -> str:
        """The signed scope names the region: ``Credential=KEY/DATE/REGION/SERVICE/aws4_request``."""
        parts = str(self.headers.get("Authorization", "")).split("/")
        return parts[2] if len(parts) > 2 else ""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        operation = str(self.headers.get("X-Amz-Target", "")).rpartition(".")[2]
        with ESTATE.lock:
            if operation == "ListFHIRDatastores":
                stores = [s for r, s in ESTATE.stores if r == self.region()]
                self._answer(200, _page(stores, body.get("NextToken"), "DatastorePropertiesList", "NextToken"))
            elif operation == "ListTagsForResource" and body.get("ResourceARN") in ESTATE.tags:
                self._answer(200, {"Tags": ESTATE.tags[body["ResourceARN"]]})
            elif operation == "ListTagsForResource":
                self._answer(400, {"__type": "ResourceNotFoundException", "message": "no such data store"})
            else:
                self._answer(400, {"__type": "UnknownOperationException", "message": operation})

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        parts = [unquote(p) for p in url.path.strip("/").split("/")]
        token = (parse_qs(url.query).get("continuationToken") or [None])[0]
        with ESTATE.lock:
            buckets = {b.summary["arn"]: b for r, b in ESTATE.buckets if r == self.region()}
            answer = self._s3tables(parts, token, buckets)
        if answer is None:
            self._answer(404, {"__type": "NotFoundException", "message": "not found"})
        else:
            self._answer(200, answer)

    @staticmethod
    def _s3tables(parts: list[str], token: str | None, buckets: dict[str, TableBucket]) -> dict[str, Any] | None:
        """The answer to an S3 Tables read, or None for a 404 (no such resource or policy)."""
        if parts == ["buckets"]:
            return _page([b.summary for b in buckets.values()], token, "tableBuckets", "continuationToken")
        if parts[0] == "tag" and len(parts) == 2:
            tags = ESTATE.tags.get(parts[1])
            return None if tags is None else {"tags": {t["Key"]: t["Value"] for t in tags}}
        bucket = buckets.get(parts[1]) if len(parts) > 1 else None
        if bucket is None:
            return None
        if parts[0] == "buckets" and parts[2:] == ["policy"]:
            return {"resourcePolicy": bucket.policy} if bucket.policy else None
        if parts[0] == "tables" and len(parts) == 2:
            return _page(bucket.tables, token, "tables", "continuationToken")
        if parts[0] == "tables" and len(parts) == 5:
            table_key = f"{parts[2]}/{parts[3]}"
            if parts[4] == "encryption" and table_key in bucket.encryption:
                return {"encryptionConfiguration": bucket.encryption[table_key]}
            if parts[4] == "policy" and table_key in bucket.policies:
                return {"resourcePolicy": bucket.policies[table_key]}
        return None

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
