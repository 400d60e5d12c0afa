package sshlab

import (
	"debug/elf"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRemoteConsulChoosesALinuxBuildForTheHost(t *testing.T) {
	macho := append([]byte{0xcf, 0xfa, 0xed, 0xfe}, make([]byte, 60)...)
	amd := elfHeader(elf.ELFOSABI_NONE, elf.ET_EXEC, elf.EM_X86_64)
	arm := elfHeader(elf.ELFOSABI_NONE, elf.ET_EXEC, elf.EM_AARCH64)
	// A Mac's checkout: zt-lab in dist/, bin/consul from make consul (a Mac
	// build), bin/consul-linux-arm64 from make consul-linux.
	type files map[string][]byte
	for _, tc := range []struct {
		name  string
		files files
		flag  string
		found string // under the checkout
		host  string
		want  string // under the checkout, or the flag
		err   string
	}{
		{"--remote-consul wins", files{"dist/consul-linux-arm64": arm, "bin/consul-linux-arm64": arm}, "/opt/consul-linux", "bin/consul", "arm64", "/opt/consul-linux", ""},
		{"beside zt-lab first", files{"dist/consul-linux-arm64": arm, "bin/consul-linux-arm64": arm}, "", "bin/consul", "arm64", "dist/consul-linux-arm64", ""},
		{"then bin/ of the working directory", files{"bin/consul-linux-arm64": arm, "dist/consul-linux-amd64": amd}, "", "bin/consul", "arm64", "bin/consul-linux-arm64", ""},
		{"then the found consul when it is a Linux build for the host", files{"bin/consul-linux-arm64": arm, "bin/consul": amd}, "", "bin/consul", "amd64", "bin/consul", ""},
		{"a directory is no build", files{"bin/consul": amd}, "", "bin/consul", "amd64", "bin/consul", ""},
		{"a Mac's consul: what to pass and how to build one", files{"bin/consul": macho}, "", "bin/consul", "arm64", "",
			"the host is linux/arm64 and the consul found cannot run there: CHECKOUT/bin/consul is not a Linux program: it is a macOS (Mach-O) program; pass --remote-consul FILE, a linux/arm64 consul (make consul-linux GOARCH=arm64 builds bin/consul-linux-arm64)"},
		{"a Linux consul for another processor", files{"bin/consul": amd, "bin/consul-linux-riscv64": arm}, "", "bin/consul", "arm64", "",
			"the consul found cannot run there: CHECKOUT/bin/consul is built for linux/amd64; pass --remote-consul FILE, a linux/arm64 consul"},
		{"no consul found at all", files{}, "", "bin/consul", "amd64", "", "bin/consul: no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, d := range []string{"dist", "bin", "bin/consul-linux-amd64"} {
				if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			writeFile(t, dir, "dist/zt-lab", nil)
			for name, b := range tc.files {
				writeFile(t, dir, name, b)
			}
			c := Controller{Self: filepath.Join(dir, "dist/zt-lab"), Consul: filepath.Join(dir, tc.found), GOOS: "darwin", GOARCH: "arm64", Cwd: dir}
			got, err := RemoteConsul(tc.flag, c)(tc.host)
			want := tc.want
			if want != "" && !filepath.IsAbs(want) {
				want = filepath.Join(dir, want)
			}
			wantErr := strings.ReplaceAll(tc.err, "CHECKOUT", dir)
			if got != want || (err == nil) != (wantErr == "") || err != nil && !strings.Contains(err.Error(), wantErr) {
				t.Errorf("got %q, %v; want %q, %q", got, err, want, wantErr)
			}
		})
	}
}

func TestRemoteBuildsCheckRefusesWhatIsNoLinuxProgram(t *testing.T) {
	dir := t.TempDir()
	arm := writeFile(t, dir, "arm64", elfHeader(elf.ELFOSABI_NONE, elf.ET_EXEC, elf.EM_AARCH64))
	mac := writeFile(t, dir, "mac", append([]byte{0xcf, 0xfa, 0xed, 0xfe}, make([]byte, 60)...))
	for _, tc := range []struct {
		b    RemoteBuilds
		want string
	}{
		{RemoteBuilds{}, ""},
		{RemoteBuilds{ZtLab: arm, Consul: arm}, ""},
		{RemoteBuilds{ZtLab: mac}, "--remote-binary: " + mac + " is not a Linux program: it is a macOS (Mach-O) program: give a Linux zt-lab (make dist builds dist/zt-lab-linux-amd64 and dist/zt-lab-linux-arm64)"},
		{RemoteBuilds{ZtLab: arm, Consul: mac}, "--remote-consul: " + mac + " is not a Linux program: it is a macOS (Mach-O) program: give a Linux consul (make consul-linux GOARCH=amd64 builds bin/consul-linux-amd64)"},
		{RemoteBuilds{Consul: filepath.Join(dir, "nope")}, "--remote-consul: open " + filepath.Join(dir, "nope")},
	} {
		err := tc.b.Check()
		if (err == nil) != (tc.want == "") || err != nil && !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%+v: %v; want %q", tc.b, err, tc.want)
		}
	}
}

// TestAProviderCopiesTheBuildsChosenForEachProcessor is the list of what
// goes to a host, as login makes it: for a Mac controller, the Linux
// builds for the host's processor, each read once however many hosts
// share it, while Files still names the found consul for the scenes.
func TestAProviderCopiesTheBuildsChosenForEachProcessor(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	self := writeFile(t, dir, "zt-lab", nil)
	writeFile(t, dir, "zt-lab-linux-arm64", nil)
	writeFile(t, dir, "zt-lab-linux-amd64", nil)
	found := writeFile(t, dir, "bin/consul", append([]byte{0xcf, 0xfa, 0xed, 0xfe}, make([]byte, 60)...))
	writeFile(t, dir, "bin/consul-linux-arm64", nil)
	p := &Provider{}
	RemoteBuilds{}.Set(p, Controller{Self: self, Consul: found, GOOS: "darwin", GOARCH: "arm64", Cwd: dir})
	if p.Files["consul"] != found || p.Self != self {
		t.Errorf("Self %q, Files %v: the scenes name %q and %q", p.Self, p.Files, self, found)
	}
	if bins, err := p.binaries(); err != nil || len(bins) != 0 {
		t.Errorf("binaries() = %v, %v: everything is chosen per host", bins, err)
	}
	bins, err := p.chosenFor("arm64")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range bins {
		got = append(got, b.name+"="+strings.TrimPrefix(b.local, dir+"/"))
	}
	if want := "zt-lab=zt-lab-linux-arm64 consul=bin/consul-linux-arm64"; strings.Join(got, " ") != want {
		t.Errorf("for arm64 hosts: %v, want %s", got, want)
	}
	again, _ := p.chosenFor("arm64")
	if len(again) != 2 || again[0] != bins[0] || again[1] != bins[1] {
		t.Error("a second arm64 host got binaries of its own: each file is read once")
	}
	if _, err := p.chosenFor("amd64"); err == nil || !strings.Contains(err.Error(), "pass --remote-consul FILE, a linux/amd64 consul") {
		t.Errorf("amd64 hosts, with no Linux consul for them: %v", err)
	}
}
