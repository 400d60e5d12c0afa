package sshlab

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ztlab/zt-lab/infra"
)

func TestOpenAsksAboutANewHostOnceThenKnowsIt(t *testing.T) {
	dir := t.TempDir()
	keyFile, clientKey := writeKey(t, dir, "id")
	s := newSSHServer(t, clientKey)
	known := filepath.Join(dir, "known_hosts")
	path := filepath.Join(dir, "hosts.yaml")
	body := "key: " + keyFile + "\nknown_hosts: " + known + "\nhosts:\n  - {name: consul00, role: consul, address: \"" + s.Addr + "\"}\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	if _, err := Open(ctx, path, infra.Topology{}, nil); err == nil || !strings.Contains(err.Error(), "consul00") {
		t.Fatalf("a new host key with nobody to ask: %v, want an error naming consul00", err)
	}
	ask, asked := askCounter(true)
	p, err := Open(ctx, path, infra.Topology{}, ask)
	if err != nil {
		t.Fatalf("a new host key, trusted when asked: %v", err)
	}
	if asked.Load() != 1 {
		t.Errorf("asked %d times about one new host, want once", asked.Load())
	}
	if err := connect(p.Inventory.Hosts[0], p.HostKeys); err != nil {
		t.Errorf("the provider does not accept the key it was told to trust: %v", err)
	}
	ask, asked = askCounter(false)
	if _, err := Open(ctx, path, infra.Topology{}, ask); err != nil || asked.Load() != 0 {
		t.Errorf("a known host: %v after %d questions, want no error and none", err, asked.Load())
	}
	s.setHostKeys(newHostKey(t))
	if _, err := Open(ctx, path, infra.Topology{}, ask); err == nil || asked.Load() != 0 {
		t.Errorf("a changed host key: %v after %d questions, want refused without asking", err, asked.Load())
	}
	logins := s.logins.Load()
	if _, err := Open(ctx, path, infra.DefaultTopology(), ask); err == nil || !strings.Contains(err.Error(), "has no host consul01") || s.logins.Load() != logins {
		t.Errorf("an inventory without the lab's hosts: %v after %d logins, want refused naming them before any login", err, s.logins.Load()-logins)
	}
	if _, err := Open(ctx, filepath.Join(dir, "none.yaml"), infra.Topology{}, ask); err == nil || !strings.Contains(err.Error(), "none.yaml") {
		t.Errorf("no inventory file: %v, want an error naming it", err)
	}
}
