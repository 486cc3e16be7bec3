"""A sample consumer for the README tour: parses payments, fails on what it cannot handle.

* a schema-2 record makes it raise (a poison record: a function error for the whole batch);
* a payment the bank rejected is reported in batchItemFailures, which only counts when the ESM has
  FunctionResponseTypes ["ReportBatchItemFailures"] — otherwise the ESM reads success.
"""

import base64
import json


def handler(event, context):
    failures = []
    for record in event["Records"]:
        body = json.loads(base64.b64decode(record["kinesis"]["data"]))
        if body["schema"] != 1:
            raise ValueError(f"unsupported schema {body['schema']} in {body['payment_id']}")
        if body.get("status") == "rejected-by-bank":
            failures.append({"itemIdentifier": record["kinesis"]["sequenceNumber"]})
    return {"batchItemFailures": failures}
