package mesh

import (
	"encoding/json"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

func marshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// The registrations as the agent API receives them: what a learner would
// PUT to /v1/agent/service/register.
func TestRegistrationsGolden(t *testing.T) {
	fcs := netip.MustParseAddr("198.18.0.20")
	fcc := netip.MustParseAddr("198.18.0.30")
	rogue := netip.MustParseAddr("198.18.0.40")
	tests := []struct {
		golden string
		reg    *api.AgentServiceRegistration
	}{
		{"service-fcs-plaintext.json", PlaintextRegistration(fcs)},
		{"service-fcs.json", SecureRegistration(fcs, 10*time.Second)},
		{"service-fcc.json", ConsumerRegistration("fcc", fcc, MeshPort, 10*time.Second)},
		{"service-rogue.json", ConsumerRegistration("rogue", rogue, MeshPort, 10*time.Second)},
	}
	for _, tt := range tests {
		golden(t, tt.golden, marshal(t, tt.reg))
	}
}

func TestSecureRegistrationIsTheSeeds(t *testing.T) {
	addr := netip.MustParseAddr("198.18.0.20")
	r := SecureRegistration(addr, 10*time.Second)
	sc := r.Connect.SidecarService
	switch {
	case r.ID != "fcs" || r.Name != "fcs" || r.Port != 8181:
		t.Errorf("service %s/%s:%d, want fcs:8181", r.ID, r.Name, r.Port)
	case sc.Port != 9191 || sc.Address != "198.18.0.20":
		t.Errorf("sidecar listens on %s:%d, want 198.18.0.20:9191", sc.Address, sc.Port)
	case sc.Proxy.LocalServiceAddress != "127.0.0.1" || sc.Proxy.LocalServicePort != 8181:
		t.Errorf("sidecar hands to %s:%d, want 127.0.0.1:8181", sc.Proxy.LocalServiceAddress, sc.Proxy.LocalServicePort)
	case len(sc.Checks) != 2 || sc.Checks[0].TCP != "198.18.0.20:9191" || sc.Checks[0].Interval != "10s" || sc.Checks[1].AliasService != "fcs":
		t.Errorf("sidecar checks %+v, want TCP 198.18.0.20:9191 every 10s and an alias of fcs", sc.Checks)
	}

	c := ConsumerRegistration("fcc", netip.MustParseAddr("198.18.0.30"), 9191, time.Second)
	up := c.Connect.SidecarService.Proxy.Upstreams
	if len(up) != 1 || up[0].DestinationName != "fcs" || up[0].LocalBindAddress != "127.0.0.1" || up[0].LocalBindPort != 9191 {
		t.Errorf("fcc upstreams %+v, want fcs on 127.0.0.1:9191", up)
	}
}

func TestStartingCheckIsHandedOver(t *testing.T) {
	listener := netip.MustParseAddrPort("198.18.0.20:9191")
	defined := sidecarChecks("fcs", listener, 10*time.Second)
	live := listeningCheck("fcs", listener, 10*time.Second, api.HealthPassing)
	if live.CheckID != defined[0].CheckID || live.TCP != "198.18.0.20:9191" || live.Interval != "10s" || live.Status != "passing" {
		t.Errorf("the live TCP check %+v does not match the defined %+v", live, defined[0])
	}
	st := startingCheck("fcs")
	if st.CheckID == live.CheckID || st.Status != api.HealthCritical || st.TTL == "" {
		t.Errorf("starting check %+v: want a critical TTL check of its own ID", st)
	}
}

func TestSidecarArgv(t *testing.T) {
	got := SidecarArgv("/opt/consul", "fcs")
	want := []string{"/opt/consul", "connect", "proxy", "-sidecar-for", "fcs"}
	if len(got) != len(want) {
		t.Fatalf("%q", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("%q, want %q", got, want)
		}
	}
}

func TestIntentions(t *testing.T) {
	wantCommands := []string{
		"consul intention create -deny '*' '*'",
		"consul intention create -allow fcc fcs",
	}
	for i, in := range LabIntentions {
		if got := in.Command(); got != wantCommands[i] {
			t.Errorf("command %d = %q, want %q", i, got, wantCommands[i])
		}
	}
	golden(t, "intentions.json", marshal(t, IntentionEntries(LabIntentions)))

	entries := IntentionEntries(LabIntentions)
	if len(entries) != 2 || entries[0].Name != "*" || entries[1].Name != "fcs" {
		t.Fatalf("entries: %s", marshal(t, entries))
	}
	// fcs's entry holds its whole policy: fcc allowed, everyone else denied.
	if src := entries[1].Sources; len(src) != 2 || src[0].Name != "fcc" || src[0].Action != api.IntentionActionAllow ||
		src[1].Name != "*" || src[1].Action != api.IntentionActionDeny {
		t.Errorf("fcs entry: %s", marshal(t, entries[1]))
	}

	withRogue := IntentionEntries(append(slices.Clone(LabIntentions), Intention{Source: "rogue", Destination: "fcs"}))
	if src := withRogue[1].Sources; len(src) != 3 || src[1].Name != "rogue" || src[1].Action != api.IntentionActionDeny {
		t.Errorf("rogue → fcs grouped wrongly: %s", marshal(t, withRogue))
	}

	// "web → *" ranks between "* → fcs" and "* → *": no copy then.
	ranked := IntentionEntries(append(slices.Clone(LabIntentions), Intention{Source: "web", Destination: "*", Allow: true}))
	for _, e := range ranked {
		if e.Name == "fcs" && len(e.Sources) != 1 {
			t.Errorf("with web → *, fcs's entry should hold fcc only: %s", marshal(t, e))
		}
	}
}

func TestShellWord(t *testing.T) {
	for in, want := range map[string]string{
		"fcs": "fcs", "*": "'*'", "it's": `'it'\''s'`, "": "''", "web-1": "web-1",
	} {
		if got := shellWord(in); got != want {
			t.Errorf("shellWord(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestServiceURI(t *testing.T) {
	got := ServiceURI("11111111-2222-3333-4444-555555555555.consul", "dc1", "fcs")
	want := "spiffe://11111111-2222-3333-4444-555555555555.consul/ns/default/dc/dc1/svc/fcs"
	if got != want {
		t.Errorf("ServiceURI = %s, want %s", got, want)
	}
}
