"""Decodes OTLP trace exports with the official schema (opentelemetry-proto), for the
OpenTelemetry tests: `otlp_decode.py FILE http|grpc` prints the ExportTraceServiceRequest as
JSON (protobuf's JSON mapping), with trace and span ids as hex, as `traceparent` writes them.
A gRPC body is one uncompressed length-prefixed message."""
import base64
import json
import sys

from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

data = open(sys.argv[1], "rb").read()
if sys.argv[2] == "grpc":
    assert data[0] == 0, "compressed gRPC frame"
    n = int.from_bytes(data[1:5], "big")
    assert len(data) == 5 + n, "one length-prefixed message"
    data = data[5:]
m = ExportTraceServiceRequest()
m.ParseFromString(data)
d = MessageToDict(m)
for rs in d.get("resourceSpans", []):
    for ss in rs.get("scopeSpans", []):
        for s in ss.get("spans", []):
            for k in ("traceId", "spanId", "parentSpanId"):
                if k in s:
                    s[k] = base64.b64decode(s[k]).hex()
print(json.dumps(d))
