#!/usr/bin/env python3
"""Checks proto/mediator.proto against the reference protobuf bytes.

Encodes every `grpc_wire` sample and every gRPC request recorded in the
vectors (`calls[*].request_pb_hex`) with `protoc --encode` from our .proto
and compares the bytes. Needs only protoc.
    python3 crates/emop/tools/check_proto.py [vectors.json]
"""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = "simt_emlite.mediator.grpc."


def text_bytes(hex_text):
    return '"' + "".join("\\x%02x" % b for b in bytes.fromhex(hex_text)) + '"'


def encode(message, text):
    out = subprocess.run(
        ["protoc", f"--proto_path={ROOT / 'proto'}", f"--encode={message}", "mediator.proto"],
        input=text.encode(), capture_output=True, check=True)
    return out.stdout.hex()


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else ROOT / "crates/emop/tests/data/vectors.json"
    vectors = json.load(open(path))
    checked, failed = 0, []
    for w in vectors["grpc_wire"]:
        lines = []
        for k, v in w["fields"].items():
            if k in ("payload", "dataField", "response"):
                lines.append(f"{k}: {text_bytes(v)}")
            elif isinstance(v, str):
                lines.append(f'{k}: "{v}"')
            else:
                lines.append(f"{k}: {v}")
        checked += 1
        if encode(w["message"], "\n".join(lines)) != w["encoded_hex"]:
            failed.append(w)
    for section in ("read_vectors", "composite_read_vectors", "write_vectors", "raw_message_vectors"):
        for v in vectors[section]:
            for c in v.get("calls", []):
                if "request_pb_hex" not in c:
                    continue
                head = f'serial: "{c["serial"]}"\n'
                if c["rpc"] == "readElement":
                    msg, text = "ReadElementRequest", head + f"objectId: {int(c['object_id'], 16)}"
                elif c["rpc"] == "writeElement":
                    msg = "WriteElementRequest"
                    text = head + f"objectId: {int(c['object_id'], 16)}\npayload: {text_bytes(c['payload_hex'])}"
                else:
                    msg, text = "SendRawMessageRequest", head + f"dataField: {text_bytes(c['data_field_hex'])}"
                checked += 1
                if encode(PACKAGE + msg, text) != c["request_pb_hex"]:
                    failed.append(c)
    print(f"{checked} protobuf encodings checked, {len(failed)} mismatches")
    for f in failed:
        print("MISMATCH", json.dumps(f))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
