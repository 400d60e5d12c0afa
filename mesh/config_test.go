package mesh

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
)

var labServers = []netip.Addr{
	netip.MustParseAddr("198.18.0.10"),
	netip.MustParseAddr("198.18.0.11"),
	netip.MustParseAddr("198.18.0.12"),
}

const testGossipKey = "zV2G8i7kDuqWyQp2o6JQ0hTpQ0T1yqN3n+3f6b9Cj2E="

// Secrets of the tokens in the golden files: fixed, so the files are.
const (
	testManagement = "0b0a1f5e-6d7c-4e8b-9a3f-2c1d0e9f8a7b"
	testAgentToken = "5f4e3d2c-1b0a-4987-8654-3210fedcba98"
	// testConnectCAKey stands for a PEM key: the config carries it as is.
	testConnectCAKey = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIG1hZGUtdXAtZm9yLXRoZS1nb2xkZW4tZmlsZQ==\n-----END EC PRIVATE KEY-----\n"
)

func TestAgentConfigGolden(t *testing.T) {
	tests := []struct {
		golden string
		spec   AgentSpec
	}{
		{"server-consul01.json", AgentSpec{Node: "consul01", Addr: labServers[1], Server: true, Servers: labServers,
			Datacenter: "dc1", GossipKey: testGossipKey, Dir: "/run/zt-lab/lab1/consul01", ManagementToken: testManagement, AgentToken: testAgentToken, ConnectCAKey: testConnectCAKey}},
		{"client-fcs00.json", AgentSpec{Node: "fcs00", Addr: netip.MustParseAddr("198.18.0.20"), Servers: labServers,
			Datacenter: "dc1", GossipKey: testGossipKey, Dir: "/run/zt-lab/lab1/fcs00", AgentToken: testAgentToken}},
		{"client-fcc00.json", AgentSpec{Node: "fcc00", Addr: netip.MustParseAddr("198.18.0.30"), Servers: labServers,
			Datacenter: "dc1", GossipKey: testGossipKey, Dir: "/run/zt-lab/lab1/fcc00", AgentToken: testAgentToken}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			got, err := tt.spec.Config()
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tt.golden, got)
		})
	}
}

// TestAgentConfigShape checks the claims the configuration makes, so a
// golden file rewritten by mistake cannot quietly drop one.
func TestAgentConfigShape(t *testing.T) {
	for _, server := range []bool{true, false} {
		addr := labServers[0]
		if !server {
			addr = netip.MustParseAddr("198.18.0.30")
		}
		spec := AgentSpec{Node: "n", Addr: addr, Server: server, Servers: labServers, Datacenter: "dc1", GossipKey: testGossipKey, Dir: "/d", AgentToken: testAgentToken}
		if server {
			spec.ManagementToken, spec.ConnectCAKey = testManagement, testConnectCAKey
		}
		b, err := spec.Config()
		if err != nil {
			t.Fatal(err)
		}
		var c map[string]any
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatal(err)
		}
		get := func(path string) any {
			var v any = c
			for _, k := range strings.Split(path, ".") {
				m, _ := v.(map[string]any)
				v = m[k]
			}
			return v
		}
		want := map[string]any{
			"bind_addr": addr.String(),
			// The HTTP API on loopback only: nothing on the wire reaches it.
			"client_addr":                             "127.0.0.1",
			"acl.enabled":                             true,
			"acl.default_policy":                      "deny",
			"acl.down_policy":                         "extend-cache",
			"acl.tokens.agent":                        testAgentToken,
			"retry_interval":                          "200ms",
			"encrypt":                                 testGossipKey,
			"connect.enabled":                         true,
			"ports.http":                              float64(8500),
			"ports.grpc":                              float64(8502),
			"tls.defaults.verify_incoming":            true,
			"tls.defaults.verify_outgoing":            true,
			"tls.defaults.ca_file":                    "/d/consul/tls/ca.pem",
			"tls.internal_rpc.verify_server_hostname": true,
			"data_dir":                                "/d/consul/data",
		}
		if server {
			want["bootstrap_expect"] = float64(3)
			want["performance.raft_multiplier"] = float64(1)
			want["auto_encrypt.allow_tls"] = true
			want["tls.defaults.cert_file"] = "/d/consul/tls/server.pem"
			want["ports.grpc"] = float64(-1)
			want["ports.grpc_tls"] = float64(-1)
			want["acl.tokens.initial_management"] = testManagement
			want["connect.ca_provider"] = "consul"
			want["connect.ca_config.private_key"] = testConnectCAKey
		} else {
			want["auto_encrypt.tls"] = true
			want["ports.grpc"] = float64(8502)
			want["tls.defaults.cert_file"] = nil        // clients get theirs from the servers
			want["acl.tokens.initial_management"] = nil // only servers hold it
			want["connect.ca_config"] = nil
		}
		for k, v := range want {
			if got := get(k); got != v {
				t.Errorf("server=%v: %s = %#v, want %#v", server, k, got, v)
			}
		}
		join, _ := c["retry_join"].([]any)
		wantJoin := 3
		if server {
			wantJoin = 2 // the other servers
		}
		if len(join) != wantJoin {
			t.Errorf("server=%v: retry_join %v, want %d servers", server, join, wantJoin)
		}
		for _, j := range join {
			if j == addr.String() {
				t.Errorf("server=%v: joins itself", server)
			}
		}
	}
}

func TestAgentConfigRefusesBadSpecs(t *testing.T) {
	good := AgentSpec{Node: "fcs00", Addr: netip.MustParseAddr("198.18.0.20"), Servers: labServers, Datacenter: "dc1", GossipKey: testGossipKey, Dir: "/d", AgentToken: testAgentToken}
	tests := []struct {
		name   string
		change func(*AgentSpec)
		says   string
	}{
		{"no node", func(a *AgentSpec) { a.Node = "" }, "no node name"},
		{"IPv6", func(a *AgentSpec) { a.Addr = netip.MustParseAddr("fd00::1") }, "not IPv4"},
		{"no address", func(a *AgentSpec) { a.Addr = netip.Addr{} }, "not IPv4"},
		{"no servers", func(a *AgentSpec) { a.Servers = nil }, "no servers"},
		{"no key", func(a *AgentSpec) { a.GossipKey = "" }, "no gossip key"},
		{"no dir", func(a *AgentSpec) { a.Dir = "" }, "no directory"},
		{"no dc", func(a *AgentSpec) { a.Datacenter = "" }, "no datacenter"},
		{"no agent token", func(a *AgentSpec) { a.AgentToken = "" }, "no agent token"},
		{"server without management", func(a *AgentSpec) { a.Server = true }, "needs the management token"},
		{"client with management", func(a *AgentSpec) { a.ManagementToken = testManagement }, "only servers hold the management token"},
		{"client with the CA key", func(a *AgentSpec) { a.ConnectCAKey = testConnectCAKey }, "only servers hold the Connect CA's key"},
	}
	for _, tt := range tests {
		spec := good
		tt.change(&spec)
		_, err := spec.Config()
		if err == nil || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("%s: err = %v, want one saying %q", tt.name, err, tt.says)
		}
	}
}
