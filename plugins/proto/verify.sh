#!/bin/sh
# Fails when extension.pb.go or extension_grpc.pb.go are not what
# extension.proto generates (make verify). Same tools as gen.sh.
set -eu
cd "$(dirname "$0")"
PATH="$(go env GOPATH)/bin:$PATH"
for tool in protoc protoc-gen-go protoc-gen-go-grpc; do
	command -v "$tool" >/dev/null 2>&1 || { echo "verify: $tool is not installed (see plugins/proto/gen.sh)" >&2; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
protoc --proto_path=. \
	--go_out="$tmp" --go_opt=paths=source_relative \
	--go-grpc_out="$tmp" --go-grpc_opt=paths=source_relative \
	extension.proto
status=0
for f in extension.pb.go extension_grpc.pb.go; do
	if ! diff -u "$f" "$tmp/$f"; then
		echo "verify: plugins/proto/$f is stale; run make generate" >&2
		status=1
	fi
done
exit $status
