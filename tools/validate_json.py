#!/usr/bin/env python3
"""Validate a JSON document (a file, or stdin with -) against one of the schemas in Schemas/.

    python tools/validate_json.py Schemas/inspect.schema.json FILE|-
"""
import json
import os
import sys

import jsonschema
from referencing import Registry, Resource


def main():
    schema_path, doc_path = sys.argv[1], sys.argv[2]
    folder = os.path.dirname(os.path.abspath(schema_path))
    resources = []
    for name in os.listdir(folder):
        if name.endswith(".schema.json"):
            s = json.load(open(os.path.join(folder, name)))
            resources.append((name, Resource.from_contents(s)))
            resources.append((s.get("$id", name), Resource.from_contents(s)))
    registry = Registry().with_resources(resources)
    schema = json.load(open(schema_path))
    doc = json.load(sys.stdin if doc_path == "-" else open(doc_path))
    jsonschema.Draft202012Validator(schema, registry=registry).validate(doc)
    print(f"{doc_path}: valid against {os.path.basename(schema_path)}")


if __name__ == "__main__":
    try:
        main()
    except jsonschema.ValidationError as e:
        print(f"{sys.argv[2]}: INVALID: {e.message} at {list(e.absolute_path)}")
        sys.exit(1)
