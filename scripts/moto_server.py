"""moto's server, with DynamoDB requests taken one at a time and transactions that cost what
their items cost.

Real DynamoDB applies each write (a conditional put, an ADD, a transaction) atomically; moto's
threaded server does not lock its tables, so two concurrent `ADD value :1` can both read 0 and
both answer 1. The storage contract tests concurrent writes, so the emulator must be atomic
where DynamoDB is. Other services (SQS long polls above all) stay concurrent.

moto makes each transaction atomic by deep-copying the whole table once per item of the
transaction, so a transaction's time grows with the table: past a few thousand items one takes
longer than the SDK's attempt timeout, and the SDK's retry of a transaction that did commit
fails its own conditions. Here a transaction checks every condition against the state before
it (as DynamoDB does: its items are distinct), then applies its writes, keeping copies of just
the items it touches to undo a write that fails half-way.

moto also answers a Query on the table's own key by looking at every item of the table; here it
looks at the one partition asked for, as DynamoDB does. (Index queries still look at all.)

moto's SES v2 keeps no configuration-set event destinations and publishes no sending events.
SES publishes each email's Send event, with the email's message tags, to the SNS topic of its
configuration set's event destination; the delivery worker reads those to learn that an email
went out when the worker that sent it died before recording it. Here SES v2 keeps SNS event
destinations and publishes Send events to them as SES does.

    python scripts/moto_server.py HOST PORT [--exit-with-parent]

With --exit-with-parent it stops when the process that started it is gone (a test binary that
was killed, say by a closed pipe, never runs the code that would stop its emulator).
"""

import os
import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple

DYNAMODB_LOCK = threading.Lock()


def dynamodb_one_at_a_time(app):
    def wrapped(environ, start_response):
        # The state dump reads the tables too: taken mid-write, it fails on a table changing size.
        reads_tables = environ.get("PATH_INFO", "").startswith("/moto-api/")
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_") or reads_tables:
            with DYNAMODB_LOCK:
                # The body is produced inside the lock: moto's responses are lists, not streams.
                return list(app(environ, start_response))
        return app(environ, start_response)

    return wrapped


def fast_transactions():
    import copy

    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )
    from moto.dynamodb.models import DynamoDBBackend

    def transact_write_items(self, transact_items):
        if len(transact_items) > 100:
            raise TooManyTransactionsException()
        ops, seen, errors = [], set(), []
        for element in transact_items:
            if len(element) > 1:
                raise TransactWriteSingleOpException
            op_type, op = next(iter(element.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")
            table = self.get_table(op["TableName"])
            if op_type == "Put":
                key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = op["Item"][table.range_key_attr]
            else:
                key = op["Key"]
            identity = (op["TableName"], str(dict(sorted(key.items()))))
            if identity in seen:
                raise MultipleTransactionsException()
            seen.add(identity)
            current = self.get_item(op["TableName"], key)
            condition = op.get("ConditionExpression")
            failed = False
            if condition is not None:
                check = get_filter_expression(
                    condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
                )
                failed = not check.expr(current)
            if failed:
                old = None
                if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                    old = current.to_json()["Attributes"]
                errors.append(("ConditionalCheckFailed", str(ConditionalCheckFailed(item=old).message), old))
            else:
                errors.append((None, None, None))
            ops.append((op_type, op, key, copy.deepcopy(current)))
        if any(code is not None for code, _, _ in errors):
            raise TransactionCanceledException(errors)
        applied = []
        try:
            for op_type, op, key, before in ops:
                names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
                if op_type == "Put":
                    self.put_item(op["TableName"], op["Item"])
                elif op_type == "Delete":
                    self.delete_item(op["TableName"], key)
                elif op_type == "Update":
                    self.update_item(
                        op["TableName"],
                        key,
                        update_expression=op["UpdateExpression"],
                        expression_attribute_names=names,
                        expression_attribute_values=values,
                    )
                applied.append((op["TableName"], key, before))
        except Exception:
            for table_name, key, before in reversed(applied):
                if before is None:
                    self.delete_item(table_name, key)
                else:
                    self.put_item(table_name, before.to_json()["Attributes"])
            raise

    DynamoDBBackend.transact_write_items = transact_write_items


def partition_queries():
    from moto.dynamodb.models.table import Table

    query_all = Table.query

    def query(self, hash_key, *args, **kwargs):
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        if index_name or self.range_key_attr is None:
            return query_all(self, hash_key, *args, **kwargs)
        partition = list(self.items.get(hash_key, {}).values())
        # moto's query filters `all_items()` by the hash key: hand it just the partition.
        self.all_items = lambda: iter(partition)
        try:
            return query_all(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items

    Table.query = query


def ses_event_publishing():
    import datetime
    import json
    from urllib.parse import unquote

    from moto.sesv2.responses import SESV2Response
    from moto.sns.models import sns_backends

    from moto.core.exceptions import JsonRESTError

    # (account, configuration set) -> {destination name: (event types, SNS topic ARN)}
    destinations = {}
    lock = threading.Lock()

    def create_configuration_set_event_destination(self):
        name = unquote(self.path.split("/configuration-sets/", 1)[1].split("/", 1)[0])
        # Fails as SES does when the configuration set does not exist.
        self.sesv2_backend.core_backend.describe_configuration_set(name)
        params = json.loads(self.body)
        destination = params["EventDestination"]
        with lock:
            named = destinations.setdefault((self.current_account, name), {})
            if params["EventDestinationName"] in named:
                raise JsonRESTError("AlreadyExistsException", f"Event destination {params['EventDestinationName']} already exists")
            if destination.get("Enabled") and "SnsDestination" in destination:
                types = {t.upper() for t in destination.get("MatchingEventTypes", [])}
                named[params["EventDestinationName"]] = (types, destination["SnsDestination"]["TopicArn"])
        return "{}"

    send_email = SESV2Response.send_email

    def send_email_publishing_events(self):
        answer = send_email(self)
        params = json.loads(self.body)
        name = params.get("ConfigurationSetName")
        with lock:
            named = destinations.get((self.current_account, name), {})
            targets = [topic for types, topic in named.values() if "SEND" in types]
        if not targets:
            return answer
        tags = {tag["Name"]: [tag["Value"]] for tag in params.get("EmailTags", [])}
        tags["ses:configuration-set"] = [name]
        event = {
            "eventType": "Send",
            "mail": {
                "timestamp": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds"),
                "messageId": json.loads(answer)["MessageId"],
                "source": params.get("FromEmailAddress"),
                "sendingAccountId": self.current_account,
                "destination": params.get("Destination", {}).get("ToAddresses", []),
                "tags": tags,
            },
            "send": {},
        }
        for topic in targets:
            region = topic.split(":")[3]
            sns_backends[self.current_account][region].publish(json.dumps(event), arn=topic)
        return answer

    SESV2Response.create_configuration_set_event_destination = create_configuration_set_event_destination
    SESV2Response.send_email = send_email_publishing_events
    # The route, read when the server makes SES v2's app on its first request.
    from moto.sesv2 import urls

    urls.url_paths["{0}/v2/email/configuration-sets/(?P<ConfigurationSetName>[^/]+)/event-destinations$"] = (
        SESV2Response.dispatch
    )


def exit_with_parent():
    """Stops this process once its parent has gone (it is then re-parented, so its parent id changes)."""
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            threading.Event().wait(1)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    if "--exit-with-parent" in sys.argv[3:]:
        exit_with_parent()
    fast_transactions()
    partition_queries()
    ses_event_publishing()
    # What moto's own `main` sets up before serving.
    os.environ.setdefault("MOTO_PORT", str(port))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, dynamodb_one_at_a_time(app), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
