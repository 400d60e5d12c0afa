package ssh

import (
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ztlab/zt-lab/infra"
	"github.com/ztlab/zt-lab/infra/local"
	sshlab "github.com/ztlab/zt-lab/infra/ssh"
)

func sha256File(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestAMacControllerCopiesTheLinuxBuildBesideIt is a controller that is
// not Linux (a Mac, as far as the choice goes): its own binary and the
// consul it found (a Mac's, as its make consul builds) cannot go to the
// hosts; the linux/amd64 zt-lab and consul-linux-amd64 beside it do, and
// they are what the hosts run. A build for another processor is refused
// before anything is copied, in one line saying what to pass.
func TestAMacControllerCopiesTheLinuxBuildBesideIt(t *testing.T) {
	m := newMachines(t, true)
	mac := t.TempDir()
	self := filepath.Join(mac, "zt-lab")
	if err := os.Symlink(ztlab, self); err != nil {
		t.Fatal(err)
	}
	// Built apart from the controller's, with a commit of its own, so the
	// two differ byte for byte.
	linux := filepath.Join(mac, "zt-lab-linux-amd64")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-X main.commit=remote-binary-e2e", "-o", linux, "./cmd/zt-lab")
	build.Dir = "../.."
	build.Env = append(local.ClientEnv(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the linux/amd64 copy: %v\n%s", err, out)
	}
	want, own := sha256File(t, linux), sha256File(t, ztlab)
	if want == own {
		t.Fatal("the copy is the controller's own binary byte for byte: it proves nothing")
	}

	inv, err := sshlab.LoadInventory(m.inventory)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := sshlab.HostKeyCallback(inv.KnownHosts, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The Mac's own consul: a Mach-O header is all the choice reads.
	macConsul := filepath.Join(mac, "consul")
	if err := os.WriteFile(macConsul, append([]byte{0xcf, 0xfa, 0xed, 0xfe}, make([]byte, 60)...), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(consul, filepath.Join(mac, "consul-linux-amd64")); err != nil {
		t.Fatal(err)
	}
	wantConsul := sha256File(t, consul)
	p := &sshlab.Provider{Inventory: inv, HostKeys: keys}
	sshlab.RemoteBuilds{}.Set(p, sshlab.Controller{Self: self, Consul: macConsul, GOOS: "darwin", GOARCH: "arm64", Cwd: mac})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	l, err := p.Up(ctx, infra.DefaultTopology(), nil)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(m.remote, "zt-lab-"+l.ID(), "bin", "zt-lab")
	for _, h := range l.Hosts() {
		out, err := h.Run(ctx, "sha256sum", bin)
		if err != nil {
			t.Errorf("%s: sha256sum %s: %v\n%s", h.Name(), bin, err, out)
			continue
		}
		if got, _, _ := strings.Cut(string(out), " "); got != want {
			t.Errorf("%s runs %s with SHA-256 %s, want the linux/amd64 copy's %s (the controller's own is %s)", h.Name(), bin, got, want, own)
		}
		hc := filepath.Join(filepath.Dir(bin), "consul")
		if out, err := h.Run(ctx, "sha256sum", hc); err != nil {
			t.Errorf("%s: sha256sum %s: %v\n%s", h.Name(), hc, err, out)
		} else if got, _, _ := strings.Cut(string(out), " "); got != wantConsul {
			t.Errorf("%s has %s with SHA-256 %s, want consul-linux-amd64's %s", h.Name(), hc, got, wantConsul)
		}
	}
	// The scenes name the controller's consul; the host runs its own copy.
	fcs, _ := l.Host("fcs00")
	if out, err := fcs.Run(ctx, macConsul, "version"); err != nil || !strings.HasPrefix(string(out), "Consul v") {
		t.Errorf("fcs00: %s version (the lab's copy): %v\n%s", macConsul, err, out)
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	m.assertNothingLeft(t)

	// An arm64 build for these amd64 hosts: refused before any copy.
	arm := filepath.Join(mac, "zt-lab-linux-arm64")
	h := make([]byte, 64)
	copy(h, elf.ELFMAG)
	h[elf.EI_CLASS], h[elf.EI_DATA], h[elf.EI_VERSION] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)
	binary.LittleEndian.PutUint16(h[16:], uint16(elf.ET_EXEC))
	binary.LittleEndian.PutUint16(h[18:], uint16(elf.EM_AARCH64))
	binary.LittleEndian.PutUint32(h[20:], uint32(elf.EV_CURRENT))
	if err := os.WriteFile(arm, h, 0o755); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := m.zt(t, 2*time.Minute, "run", "--provider", "ssh", "--inventory", m.inventory, "--scene", "1", "--remote-binary", arm)
	wantErr := "zt-lab cannot run there: " + arm + " is built for linux/arm64, the host is linux/amd64; pass --remote-binary FILE, a linux/amd64 zt-lab"
	if code == 0 || !strings.Contains(stdout+stderr, wantErr) {
		t.Errorf("run --remote-binary %s: exit %d, want a failure saying %q\nstdout: %s\nstderr: %s", arm, code, wantErr, stdout, stderr)
	}
	m.assertNothingLeft(t)
	stdout, stderr, code = m.zt(t, 2*time.Minute, "run", "--provider", "ssh", "--inventory", m.inventory, "--scene", "1", "--remote-consul", arm)
	wantErr = "consul cannot run there: " + arm + " is built for linux/arm64, the host is linux/amd64"
	if code == 0 || !strings.Contains(stdout+stderr, wantErr) {
		t.Errorf("run --remote-consul %s: exit %d, want a failure saying %q\nstdout: %s\nstderr: %s", arm, code, wantErr, stdout, stderr)
	}
	m.assertNothingLeft(t)
}
