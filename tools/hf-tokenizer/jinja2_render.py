#!/usr/bin/env python3
# jinja2_render.py: renders chat-template cases with Python's Jinja2 set up as transformers' apply_chat_template sets it
# up (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols, its tojson filter and raise_exception;
# tools=None and documents=None when the case has none), the second reference beside @huggingface/jinja for
# make_real_golden.mjs. Reads {"template", "tokens", "cases": [{"variables"}]} as JSON on stdin, writes one
# {"rendered"} or {"error"} per case as JSON on stdout. Not here: the AssistantTracker {% generation %} extension and
# strftime_now (no template here uses them), choosing cases, writing golden files.
import json
import sys

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def main():
    request = json.load(sys.stdin)
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    template = env.from_string(request["template"])
    results = []
    for case in request["cases"]:
        variables = {"tools": None, "documents": None, **case["variables"], **request["tokens"]}
        try:
            results.append({"rendered": template.render(**variables)})
        except Exception as e:  # the reference's verdict is "fails"; the message is informational
            results.append({"error": f"{type(e).__name__}: {e}"})
    json.dump({"jinja2": jinja2.__version__, "results": results}, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
