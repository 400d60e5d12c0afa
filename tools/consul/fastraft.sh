#!/bin/sh
# fastraft.sh DIR writes DIR/go.mod: tools/consul's go.mod, with
# github.com/hashicorp/raft replaced by a copy in DIR/raft whose base
# timings are halved. Build with `go build -modfile DIR/go.mod`.
#
# Why: Consul sets raft's heartbeat and election timeouts only through
# performance.raft_multiplier, an integer of at least 1 times a 1 s base
# (its `consul.raft` block is internal and always overridden). At that
# floor a follower notices a crashed leader 1-3 s after its last heartbeat,
# and both survivors must notice before either is elected: over 33 leader
# crashes on a 2-core machine it took 1.1-2.9 s, so a busy machine misses
# the lab's 3 s target now and then. At a 500 ms base the same election
# takes 0.5-1.5 s. Consul's own dev mode goes much further (35 ms).
#
# Only raft.DefaultConfig's three timings change, and the binary says so:
# `consul version` prints v1.22.7+ztlab.fastraft.
set -eu
out=${1:?usage: fastraft.sh DIR}
here=$(cd "$(dirname "$0")" && pwd)
# `go list -m` names no directory on a cold module cache; download does.
src=$(cd "$here" && ${GO:-go} mod download -json github.com/hashicorp/raft |
	sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
if [ ! -f "$src/config.go" ]; then
	echo "fastraft.sh: could not download github.com/hashicorp/raft (got directory '$src')" >&2
	exit 1
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -rf "$out/raft"
cp -R "$src" "$out/raft"
chmod -R u+w "$out/raft"
sed -e 's/^\(\t\tHeartbeatTimeout: *\)1000 \* time\.Millisecond,$/\1500 * time.Millisecond,/' \
    -e 's/^\(\t\tElectionTimeout: *\)1000 \* time\.Millisecond,$/\1500 * time.Millisecond,/' \
    -e 's/^\(\t\tLeaderLeaseTimeout: *\)500 \* time\.Millisecond,$/\1250 * time.Millisecond,/' \
    "$src/config.go" > "$out/raft/config.go"
n=$(diff "$src/config.go" "$out/raft/config.go" | grep -c '^>' || true)
if [ "$n" != 3 ]; then
	echo "fastraft.sh: raft.DefaultConfig in $src is not what this script knows ($n of 3 lines changed); update it" >&2
	exit 1
fi
cp "$here/go.mod" "$out/go.mod"
cp "$here/go.sum" "$out/go.sum"
printf '\nreplace github.com/hashicorp/raft => %s/raft\n' "$out" >> "$out/go.mod"
