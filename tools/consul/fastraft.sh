#!/bin/sh
# fastraft.sh DIR writes DIR/go.mod: tools/consul's go.mod, with
# github.com/hashicorp/raft replaced by a copy in DIR/raft whose base
# timings are halved, and github.com/hashicorp/consul replaced by a copy in
# DIR/consul whose leaf re-issue jitter after a CA rotation is 1 s instead
# of 30 s and whose built-in proxy finds its upstream's instances in the
# agent's cache. Build with `go build -modfile DIR/go.mod`.
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
# Why the jitter: after a CA root change every agent re-signs each of its
# leaves at a random moment within agent/leafcert's caChangeJitterWindow
# (30 s), so that ten thousand sidecars do not hit the servers in the same
# second. A lab has a handful of leaves, and its rotation scene waited up
# to 30 s for them; with a 1 s window it waits about a second, and the
# leaves still come one at a time at random moments.
#
# Why the cached upstream: the built-in proxy looks its upstream's
# instances up for every connection it opens (connect/resolver.go), an
# uncached /v1/health/connect that the agent forwards to a server as an
# RPC. When that server crashes, the agent's next dial to it is refused,
# and Consul's client retries a read only after EOF or "no leader", not
# after a refused dial: the lookup fails with a 500, and so does the
# consumer's fetch ("consumer at 10/s while leaderless: 8 ok, 2 failed";
# the fcc00 agent's log says "RPC failed to server ... connection
# refused", its sidecar's "failed to dial"). With UseCache the lookup is
# answered by the agent's streaming view of fcs's health, which the
# servers push to it and which it keeps serving while it resubscribes to
# another server: no RPC per connection, nothing lost when a server dies.
#
# Only raft.DefaultConfig's three timings, that one constant and that one
# query option change, and the binary says so: `consul version` prints
# v1.22.7+ztlab.fast.
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

csrc=$(cd "$here" && ${GO:-go} mod download -json github.com/hashicorp/consul |
	sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
jitter=agent/leafcert/generate.go
if [ ! -f "$csrc/$jitter" ]; then
	echo "fastraft.sh: could not download github.com/hashicorp/consul (got directory '$csrc')" >&2
	exit 1
fi
rm -rf "$out/consul"
cp -R "$csrc" "$out/consul"
chmod -R u+w "$out/consul"
sed -e 's/^const caChangeJitterWindow = 30 \* time\.Second$/const caChangeJitterWindow = 1 * time.Second/' \
    "$csrc/$jitter" > "$out/consul/$jitter"
n=$(diff "$csrc/$jitter" "$out/consul/$jitter" | grep -c '^>' || true)
if [ "$n" != 1 ]; then
	echo "fastraft.sh: caChangeJitterWindow in $csrc/$jitter is not what this script knows ($n of 1 lines changed); update it" >&2
	exit 1
fi
resolver=connect/resolver.go
sed -e 's/^\(\t\t\)AllowStale: true,$/&\n\1UseCache:   true,/' \
    "$csrc/$resolver" > "$out/consul/$resolver"
n=$(diff "$csrc/$resolver" "$out/consul/$resolver" | grep -c '^>' || true)
if [ "$n" != 1 ]; then
	echo "fastraft.sh: ConsulResolver.queryOptions in $csrc/$resolver is not what this script knows ($n of 1 lines added); update it" >&2
	exit 1
fi

cp "$here/go.mod" "$out/go.mod"
cp "$here/go.sum" "$out/go.sum"
printf '\nreplace github.com/hashicorp/raft => %s/raft\n' "$out" >> "$out/go.mod"
printf 'replace github.com/hashicorp/consul => %s/consul\n' "$out" >> "$out/go.mod"
