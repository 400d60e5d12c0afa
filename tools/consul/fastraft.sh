#!/bin/sh
# fastraft.sh DIR writes DIR/go.mod: tools/consul's go.mod, with
# github.com/hashicorp/raft replaced by a copy in DIR/raft whose base
# timings are halved, and github.com/hashicorp/consul replaced by a copy in
# DIR/consul whose leaf re-issue jitter after a CA rotation is 1 s instead
# of 30 s and whose built-in proxy finds its upstream's instances in the
# agent's cache; and github.com/hashicorp/go-discover by a copy in
# DIR/go-discover without its cloud providers, so that the binary carries
# no code the lab never runs (the lean cut, below). Build with
# `go build -modfile DIR/go.mod`.
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
# query option change what the lab's consul does, and the binary says so:
# `consul version` prints v1.22.7+ztlab.fast. The cuts below (features the
# lab never uses: cloud auto-join, the Kubernetes and AWS ACL auth methods,
# the AWS Private CA provider and Vault's AWS and GCP logins) change what
# it carries: `GODEBUG=inittrace=1 consul version` shows the init bytes
# each package allocates in every consul process.
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

# The lean cut: cloud auto-join and the auth methods the lab never uses.
# Go runs every package's init at start, whether the binary calls it or
# not, and consul's cloud auto-join (go-discover's providers: the AWS,
# Azure, GCE, vSphere, Kubernetes... SDKs) and its Kubernetes and AWS ACL
# auth methods hold most of the ~11 MB each consul process allocates
# before main (GODEBUG=inittrace=1 consul version). The lab runs seven
# consul processes, so that was ~80 MB of its PSS. Its retry_join holds
# plain addresses (mesh/config.go) and it defines no auth method, so the
# providers map keeps mdns only, retry_join and auto-config add no k8s
# provider, and the kubernetes and aws auth methods are not registered
# (creating one fails with "unknown auth method type"). Every line here
# must match or the build stops.
dsrc=$(cd "$here" && ${GO:-go} mod download -json github.com/hashicorp/go-discover |
	sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
if [ ! -f "$dsrc/discover.go" ]; then
	echo "fastraft.sh: could not download github.com/hashicorp/go-discover (got directory '$dsrc')" >&2
	exit 1
fi
rm -rf "$out/go-discover"
cp -R "$dsrc" "$out/go-discover"
chmod -R u+w "$out/go-discover"
clouds='aliyun\|aws\|azure\|digitalocean\|gce\|linode\|os\|packet\|scaleway\|softlayer\|tencentcloud\|triton\|vsphere'
sed -e "/^\t\"github\.com\/hashicorp\/go-discover\/provider\/\($clouds\)\"\$/d" \
    -e "/^\t\"\($clouds\)\": *&\($clouds\)\.Provider{},\$/d" \
    "$dsrc/discover.go" > "$out/go-discover/discover.go"
n=$(diff "$dsrc/discover.go" "$out/go-discover/discover.go" | grep -c '^<' || true)
if [ "$n" != 26 ]; then
	echo "fastraft.sh: go-discover's Providers in $dsrc/discover.go is not what this script knows ($n of 26 lines removed); update it" >&2
	exit 1
fi
for f in agent/retry_join.go agent/auto-config/server_addr.go; do
	sed -e '/^\tdiscoverk8s "github\.com\/hashicorp\/go-discover\/provider\/k8s"$/d' \
	    -e '/^\tproviders\["k8s"\] = &discoverk8s\.Provider{}$/d' \
	    "$csrc/$f" > "$out/consul/$f"
	n=$(diff "$csrc/$f" "$out/consul/$f" | grep -c '^<' || true)
	if [ "$n" != 2 ]; then
		echo "fastraft.sh: the k8s discovery provider in $csrc/$f is not what this script knows ($n of 2 lines removed); update it" >&2
		exit 1
	fi
done
authmethods=agent/consul/acl_authmethod.go
sed -e '/^\t_ "github\.com\/hashicorp\/consul\/agent\/consul\/authmethod\/\(awsauth\|kubeauth\)"$/d' \
    "$csrc/$authmethods" > "$out/consul/$authmethods"
n=$(diff "$csrc/$authmethods" "$out/consul/$authmethods" | grep -c '^<' || true)
if [ "$n" != 2 ]; then
	echo "fastraft.sh: the builtin auth methods in $csrc/$authmethods are not what this script knows ($n of 2 lines removed); update it" >&2
	exit 1
fi

# The same for the Connect CA's AWS Private CA provider and the Vault
# provider's AWS and GCP logins: they pull in the AWS SDK and Google's API
# clients with OpenCensus, whose inits compile regular expressions and
# build endpoint tables in every consul process. The lab's CA is consul's
# built-in one (mesh/config.go). Their files go, and the one line of each
# switch that named them (and the config check of the AWS provider)
# returns an error that says so instead.
ca=agent/connect/ca
rm "$out/consul/$ca/provider_aws.go" "$out/consul/$ca/provider_vault_auth_aws.go" "$out/consul/$ca/provider_vault_auth_gcp.go"
sed -e 's#^\t\treturn NewAWSAuthClient(authMethod), nil$#\t\treturn nil, fmt.Errorf("the %s Vault auth method is not built into this consul (see zt-lab tools/consul/fastraft.sh)", authMethod.Type)#' \
    -e 's#^\t\treturn NewGCPAuthClient(authMethod)$#\t\treturn nil, fmt.Errorf("the %s Vault auth method is not built into this consul (see zt-lab tools/consul/fastraft.sh)", authMethod.Type)#' \
    "$csrc/$ca/provider_vault.go" > "$out/consul/$ca/provider_vault.go"
n=$(diff "$csrc/$ca/provider_vault.go" "$out/consul/$ca/provider_vault.go" | grep -c '^>' || true)
if [ "$n" != 2 ]; then
	echo "fastraft.sh: configureVaultAuthMethod in $csrc/$ca/provider_vault.go is not what this script knows ($n of 2 lines changed); update it" >&2
	exit 1
fi
builder=agent/config/builder.go
sed -e 's#^\t\t\tif _, err := ca\.ParseAWSCAConfig(rt\.ConnectCAConfig); err != nil {$#\t\t\tif err := fmt.Errorf("the %q CA provider is not built into this consul (see zt-lab tools/consul/fastraft.sh)", rt.ConnectCAProvider); err != nil {#' \
    "$csrc/$builder" > "$out/consul/$builder"
n=$(diff "$csrc/$builder" "$out/consul/$builder" | grep -c '^>' || true)
if [ "$n" != 1 ]; then
	echo "fastraft.sh: the CA provider check in $csrc/$builder is not what this script knows ($n of 1 lines changed); update it" >&2
	exit 1
fi
leader=agent/consul/leader_connect_ca.go
sed -e 's#^\t\treturn ca\.NewAWSProvider(logger), nil$#\t\treturn nil, fmt.Errorf("the %q CA provider is not built into this consul (see zt-lab tools/consul/fastraft.sh)", conf.Provider)#' \
    "$csrc/$leader" > "$out/consul/$leader"
n=$(diff "$csrc/$leader" "$out/consul/$leader" | grep -c '^>' || true)
if [ "$n" != 1 ]; then
	echo "fastraft.sh: CAManager.newProvider in $csrc/$leader is not what this script knows ($n of 1 lines changed); update it" >&2
	exit 1
fi

cp "$here/go.mod" "$out/go.mod"
cp "$here/go.sum" "$out/go.sum"
printf '\nreplace github.com/hashicorp/raft => %s/raft\n' "$out" >> "$out/go.mod"
printf 'replace github.com/hashicorp/consul => %s/consul\n' "$out" >> "$out/go.mod"
printf 'replace github.com/hashicorp/go-discover => %s/go-discover\n' "$out" >> "$out/go.mod"
