package equinix

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ztlab/zt-lab/infra/equinix/metaltest"
	sshlab "github.com/ztlab/zt-lab/infra/ssh"
)

// TestAMacControllerCopiesLinuxBuildsToTheDevices is the choice of what
// goes to Metal devices, made on the fake API's devices: the same as
// --provider ssh makes (--remote-binary and --remote-consul, else the
// Linux builds beside zt-lab, else one line saying what to pass), never a
// Mac's own zt-lab or consul.
func TestAMacControllerCopiesLinuxBuildsToTheDevices(t *testing.T) {
	ml := upLab(t, metaltest.New(t))
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	macho := append([]byte{0xcf, 0xfa, 0xed, 0xfe}, make([]byte, 60)...)
	self, found := write("zt-lab", macho), write("consul", macho)
	mac := sshlab.Controller{Self: self, Consul: found, GOOS: "darwin", GOARCH: "arm64", Cwd: dir}

	// Nothing for the devices' x86_64 yet: each says what to pass.
	sp, err := sshProvider(ml, SSHOptions{Controller: mac})
	if err != nil {
		t.Fatal(err)
	}
	if len(sp.Inventory.Hosts) != 5 || sp.Provision == nil {
		t.Fatalf("the SSH provider has %d hosts of the devices (want 5), Provision set %v", len(sp.Inventory.Hosts), sp.Provision != nil)
	}
	if _, err := sp.ZtLab("amd64"); err == nil || !strings.Contains(err.Error(), "this zt-lab is darwin/arm64 and the host is linux/amd64: pass --remote-binary FILE") {
		t.Errorf("zt-lab with no Linux build: %v", err)
	}
	if _, err := sp.Choose["consul"]("amd64"); err == nil || !strings.Contains(err.Error(), "it is a macOS (Mach-O) program; pass --remote-consul FILE, a linux/amd64 consul (make consul-linux GOARCH=amd64") {
		t.Errorf("consul with no Linux build: %v", err)
	}

	// The builds beside zt-lab, as make dist and make consul-linux leave them.
	ztBeside, consulBeside := write("zt-lab-linux-amd64", nil), write("consul-linux-amd64", nil)
	sp, err = sshProvider(ml, SSHOptions{Controller: mac})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := sp.ZtLab("amd64"); got != ztBeside || err != nil {
		t.Errorf("zt-lab for amd64 devices: %q, %v; want %s", got, err, ztBeside)
	}
	if got, err := sp.Choose["consul"]("amd64"); got != consulBeside || err != nil {
		t.Errorf("consul for amd64 devices: %q, %v; want %s", got, err, consulBeside)
	}
	if sp.Self != self || sp.Files["consul"] != found {
		t.Errorf("the scenes name Self %q and consul %q; want %s and %s", sp.Self, sp.Files["consul"], self, found)
	}

	// The flags win.
	b := sshlab.RemoteBuilds{ZtLab: "/opt/zt-lab-linux-amd64", Consul: "/opt/consul-linux-amd64"}
	sp, err = sshProvider(ml, SSHOptions{Controller: mac, Builds: b})
	if err != nil {
		t.Fatal(err)
	}
	zt, _ := sp.ZtLab("amd64")
	consul, _ := sp.Choose["consul"]("amd64")
	if zt != b.ZtLab || consul != b.Consul {
		t.Errorf("with --remote-binary and --remote-consul: %q and %q; want %+v", zt, consul, b)
	}
}
