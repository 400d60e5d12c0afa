package mesh

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ztlab/zt-lab/check"
	"github.com/ztlab/zt-lab/infra"
)

// TestUpShowsTheFailedAgentsLog starts servers that die at once, as a
// consul with a broken configuration does: Up must fail fast, name every
// server, show each one's log, and have written the files it promised.
func TestUpShowsTheFailedAgentsLog(t *testing.T) {
	lab := newFakeLab(t, func(host string) *fakeProc {
		p := newFakeProc("==> Starting Consul agent...", "==> "+host+": Error parsing config: unknown field")
		p.exit(errors.New("exit status 1"))
		return p
	})
	c, err := New(lab, Binary{Path: "/opt/consul", Version: Version{1, 22, 7, ""}}, Options{Self: "/opt/zt-lab"})
	if err != nil {
		t.Fatal(err)
	}
	c.portsFree = func(context.Context, infra.Host, bool) error { return nil }
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	err = c.Up(ctx)
	if err == nil {
		t.Fatal("Up succeeded with servers that exit")
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("Up took %s to notice dead servers", time.Since(start))
	}
	var ex exitedError
	if !errors.As(err, &ex) {
		t.Errorf("err does not unwrap to an exitedError: %v", err)
	}
	for _, h := range []string{"consul00", "consul01", "consul02"} {
		for _, want := range []string{"consul server on " + h, "consul on " + h + " exited: exit status 1", h + ": Error parsing config"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error does not say %q:\n%v", want, err)
			}
		}
	}
	if strings.Contains(err.Error(), "fcs00") {
		t.Errorf("clients were started although the servers failed:\n%v", err)
	}

	h, _ := lab.Host("consul01")
	fh := h.(*fakeHost)
	if len(fh.started) != 1 {
		t.Fatalf("consul01 started %d processes", len(fh.started))
	}
	argv := fh.started[0].Argv
	cfg := filepath.Join(fh.dir, "consul/consul.json")
	if strings.Join(argv, " ") != "/opt/consul agent -config-file "+cfg {
		t.Errorf("agent argv %q", argv)
	}
	for _, f := range []string{"consul/consul.json", "consul/tls/ca.pem", "consul/tls/server.pem", "consul/tls/server-key.pem"} {
		st, err := os.Stat(filepath.Join(fh.dir, f))
		if err != nil {
			t.Errorf("%s not written: %v", f, err)
			continue
		}
		if strings.HasSuffix(f, "key.pem") && st.Mode().Perm() != 0o600 {
			t.Errorf("%s is %v, want 0600", f, st.Mode().Perm())
		}
	}
}

func TestFlowsAndTheWireHook(t *testing.T) {
	lab := newFakeLab(t, nil)
	var judged []Flow
	c, err := New(lab, Binary{Path: "/opt/consul"}, Options{Self: "/opt/zt-lab", Wire: func(_ context.Context, f Flow) check.Check {
		judged = append(judged, f)
		return check.Check{Name: "encrypted: " + f.Name, Pass: true}
	}})
	if err != nil {
		t.Fatal(err)
	}
	fcc, _ := lab.Host("fcc00")
	c.consumers = []Consumer{{Host: fcc, Name: "fcc", Port: MeshPort}}
	flows := c.Flows()
	var names []string
	for _, f := range flows {
		names = append(names, f.Name)
	}
	want := []string{
		"mesh fcc fcc00 → fcs00:9191 (mTLS)",
		"consul RPC → consul00:8300 (TLS)", "consul RPC → consul01:8300 (TLS)", "consul RPC → consul02:8300 (TLS)",
		"gossip :8301/udp (encrypted)", "gossip :8301/tcp (encrypted)",
	}
	if strings.Join(names, "|") != strings.Join(want, "|") {
		t.Errorf("flows %q\nwant  %q", names, want)
	}
	if f := flows[0]; f.Src.String() != "198.18.0.30" || f.Dst.String() != "198.18.0.20" || f.Port != 9191 || f.Proto != "tcp" {
		t.Errorf("mesh flow %+v", f)
	}
	checks := c.CheckWire(context.Background())
	if len(checks) != len(flows) || len(judged) != len(flows) || !checks[0].Pass {
		t.Errorf("CheckWire gave %v for %d flows", checks, len(flows))
	}

	c.opts.Wire = nil
	if got := c.CheckWire(context.Background()); got != nil {
		t.Errorf("without a sniffer CheckWire says %v", got)
	}
}

func TestNewNeedsServers(t *testing.T) {
	lab := newFakeLab(t, nil)
	var kept []*fakeHost
	for _, h := range lab.hosts {
		if h.Role() != infra.RoleConsul {
			kept = append(kept, h)
		}
	}
	lab.hosts = kept
	if _, err := New(lab, Binary{Path: "/opt/consul"}, Options{Self: "/opt/zt-lab"}); err == nil || !strings.Contains(err.Error(), "no consul hosts") {
		t.Errorf("New without consul hosts: %v", err)
	}
}
