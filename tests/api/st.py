"""schemathesis' `st`, with one work-around for this machine's Python (3.11.7).

CPython 3.11.7 can fail `ast.parse` of a large file deep in a call stack with "SystemError: AST
constructor recursion depth mismatch" (python/cpython#106905). Hypothesis parses schemathesis'
own source that way only to describe a filter function in a strategy's repr, which nothing here
reads; so the description is the function's name instead. The tests and checks are unchanged.
"""
import sys

import hypothesis.internal.lambda_sources as lambda_sources

lambda_sources.lambda_description = lambda f: getattr(f, "__name__", "<lambda>")

from schemathesis.cli import schemathesis  # noqa: E402

if __name__ == "__main__":
    sys.argv[0] = "st"
    sys.exit(schemathesis())
