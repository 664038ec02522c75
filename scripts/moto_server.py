"""moto's server, with DynamoDB requests taken one at a time.

Real DynamoDB applies each write (a conditional put, an ADD, a transaction) atomically; moto's
threaded server does not lock its tables, so two concurrent `ADD value :1` can both read 0 and
both answer 1. The storage contract tests concurrent writes, so the emulator must be atomic
where DynamoDB is. Other services (SQS long polls above all) stay concurrent.

    python scripts/moto_server.py HOST PORT
"""

import os
import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple

DYNAMODB_LOCK = threading.Lock()


def dynamodb_one_at_a_time(app):
    def wrapped(environ, start_response):
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            with DYNAMODB_LOCK:
                # The body is produced inside the lock: moto's responses are lists, not streams.
                return list(app(environ, start_response))
        return app(environ, start_response)

    return wrapped


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    # What moto's own `main` sets up before serving.
    os.environ.setdefault("MOTO_PORT", str(port))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, dynamodb_one_at_a_time(app), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
