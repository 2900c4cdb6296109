#!/bin/sh
# Regenerate sparkplug_b_pb2.py and sparkplug_b_pb2.pyi from sparkplug_b.proto.
# protoc comes from grpcio-tools 1.75 (protoc 31.x), whose output runs on protobuf >= 6.31 < 7;
# install it in a throwaway environment, not in the project's:
#   python3 -m venv /tmp/protoc && /tmp/protoc/bin/pip install 'grpcio-tools==1.75.1' 'protobuf<7'
# then run this script from any folder: PROTOC_PYTHON=/tmp/protoc/bin/python sh generate.sh
set -e
here=$(cd "$(dirname "$0")" && pwd)
"${PROTOC_PYTHON:-python3}" -m grpc_tools.protoc -I"$here" --python_out="$here" --pyi_out="$here" \
    "$here/sparkplug_b.proto"
for file in "$here/sparkplug_b_pb2.py" "$here/sparkplug_b_pb2.pyi"; do
    { echo "# ruff: noqa"; echo "# mypy: ignore-errors"; cat "$file"; } > "$file.tmp" && mv "$file.tmp" "$file"
done
