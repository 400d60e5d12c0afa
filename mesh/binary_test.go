package mesh

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestParseVersion(t *testing.T) {
	tests := []struct {
		out     string
		want    Version
		wantErr bool
	}{
		{out: "Consul v1.22.7\nBuild Date 1970-01-01T00:00:01Z\nProtocol 2 spoken by default\n", want: Version{1, 22, 7, ""}},
		{out: "Consul v1.23.0-dev\nRevision abc\n", want: Version{1, 23, 0, "dev"}},
		{out: "Consul v1.10.12+ent\n", want: Version{1, 10, 12, ""}},
		{out: "Consul v1.21.0-rc2+ent\n", want: Version{1, 21, 0, "rc2"}},
		{out: "Consul v1.9.0\r\n", want: Version{1, 9, 0, ""}},
		{out: "Consul v1.18.2-rc1\n", want: Version{1, 18, 2, "rc1"}},
		{out: "Vault v1.15.0\n", wantErr: true},
		{out: "", wantErr: true},
		{out: "consul: command not found\n", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseVersion(tt.out)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseVersion(%q) = %v, %v; want %v, error %v", tt.out, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestVersionLess(t *testing.T) {
	tests := []struct {
		a, b Version
		less bool
	}{
		{Version{1, 21, 9, ""}, MinVersion, true},
		{Version{1, 22, 0, ""}, MinVersion, false},
		{Version{1, 22, 0, "rc1"}, MinVersion, true},
		{Version{1, 22, 7, ""}, MinVersion, false},
		{Version{2, 0, 0, ""}, MinVersion, false},
		{Version{0, 99, 0, ""}, MinVersion, true},
	}
	for _, tt := range tests {
		if got := tt.a.Less(tt.b); got != tt.less {
			t.Errorf("%v.Less(%v) = %v, want %v", tt.a, tt.b, got, tt.less)
		}
	}
}

// fakeConsul writes a script that prints a `consul version` line.
func fakeConsul(t *testing.T, dir, version string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "consul")
	script := "#!/bin/sh\necho 'Consul " + version + "'\necho 'Protocol 2 spoken by default'\n"
	if version == "" {
		script = "#!/bin/sh\necho 'segmentation fault' >&2\nexit 139\n"
	}
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestFindConsul(t *testing.T) {
	root := t.TempDir()
	flagBin := fakeConsul(t, filepath.Join(root, "flag"), "v1.22.7")
	envBin := fakeConsul(t, filepath.Join(root, "env"), "v1.23.1")
	exeDir := filepath.Join(root, "exe")
	exeBin := fakeConsul(t, exeDir, "v1.22.0")
	cwd := filepath.Join(root, "work")
	cwdBin := fakeConsul(t, filepath.Join(cwd, "bin"), "v1.22.5")
	pathBin := fakeConsul(t, filepath.Join(root, "path"), "v1.24.0")
	oldBin := fakeConsul(t, filepath.Join(root, "old"), "v1.15.2")
	brokenBin := fakeConsul(t, filepath.Join(root, "broken"), "")
	noPath := func(string) (string, error) { return "", exec.ErrNotFound }
	onPath := func(string) (string, error) { return pathBin, nil }

	tests := []struct {
		name     string
		f        finder
		wantPath string
		wantErr  error
		errHas   []string
	}{
		{name: "flag first", f: finder{flag: flagBin, env: envBin, exe: filepath.Join(exeDir, "zt-lab"), lookPath: onPath}, wantPath: flagBin},
		{name: "flag relative to cwd", f: finder{flag: "bin/consul", cwd: cwd, lookPath: onPath}, wantPath: cwdBin},
		{name: "env next", f: finder{env: envBin, exe: filepath.Join(exeDir, "zt-lab"), lookPath: onPath}, wantPath: envBin},
		{name: "next to the executable", f: finder{exe: filepath.Join(exeDir, "zt-lab"), cwd: cwd, lookPath: onPath}, wantPath: exeBin},
		{name: "bin under cwd", f: finder{exe: filepath.Join(root, "nowhere", "zt-lab"), cwd: cwd, lookPath: onPath}, wantPath: cwdBin},
		{name: "PATH last", f: finder{exe: filepath.Join(root, "nowhere", "zt-lab"), cwd: root, lookPath: onPath}, wantPath: pathBin},
		{name: "none at all", f: finder{exe: filepath.Join(root, "nowhere", "zt-lab"), cwd: root, lookPath: noPath},
			wantErr: ErrNoConsul, errHas: []string{"make consul", "PATH", "--consul"}},
		{name: "flag names a missing file", f: finder{flag: filepath.Join(root, "missing"), lookPath: onPath},
			wantErr: ErrNoConsul, errHas: []string{"--consul names", "make consul"}},
		{name: "env names a missing file", f: finder{env: "/nonexistent/consul", lookPath: onPath},
			wantErr: ErrNoConsul, errHas: []string{"$ZTLAB_CONSUL names"}},
		{name: "too old", f: finder{flag: oldBin, lookPath: onPath},
			wantErr: ErrConsulTooOld, errHas: []string{"v1.15.2", "v1.22.0 or newer", "make consul"}},
		{name: "does not run", f: finder{flag: brokenBin, lookPath: onPath},
			wantErr: ErrNoConsul, errHas: []string{"does not run", "segmentation fault"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.f.version, tt.f.goos = runVersion, "linux"
			got, err := tt.f.find(context.Background())
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error is not one line: %q", err)
				}
				for _, s := range tt.errHas {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not say %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Path != tt.wantPath {
				t.Errorf("found %s, want %s", got.Path, tt.wantPath)
			}
		})
	}
}

// TestFindConsulBuilt checks the consul `make consul` built, when there is
// one: the lab's own binary must pass its own test.
func TestFindConsulBuilt(t *testing.T) {
	path := builtConsul(t)
	b, err := FindConsul(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if b.Version.Less(MinVersion) {
		t.Errorf("bin/consul is %v", b.Version)
	}
	t.Logf("bin/consul is %v", b.Version)
}

func TestBuildVersion(t *testing.T) {
	const consul = "github.com/hashicorp/consul"
	tests := []struct {
		name    string
		info    debug.BuildInfo
		want    Version
		wantErr string
	}{
		{name: "the lab's tools/consul requires it",
			info: debug.BuildInfo{Main: debug.Module{Path: "github.com/ztlab/zt-lab/tools/consul", Version: "(devel)"},
				Deps: []*debug.Module{{Path: "github.com/hashicorp/go-hclog", Version: "v1.6.3"}, {Path: consul, Version: "v1.22.7"}}},
			want: Version{1, 22, 7, ""}},
		{name: "a release is the module itself",
			info: debug.BuildInfo{Main: debug.Module{Path: consul, Version: "v1.23.1"}},
			want: Version{1, 23, 1, ""}},
		{name: "a replaced module is the replacement's version",
			info: debug.BuildInfo{Main: debug.Module{Path: "example.com/c"},
				Deps: []*debug.Module{{Path: consul, Version: "v1.22.0", Replace: &debug.Module{Path: "example.com/fork", Version: "v1.22.9"}}}},
			want: Version{1, 22, 9, ""}},
		{name: "a directory replacement is the release it copies",
			info: debug.BuildInfo{Main: debug.Module{Path: "github.com/ztlab/zt-lab/tools/consul", Version: "(devel)"},
				Deps: []*debug.Module{{Path: consul, Version: "v1.22.7", Replace: &debug.Module{Path: "/tmp/patched/consul", Version: "(devel)"}}}},
			want: Version{1, 22, 7, ""}},
		{name: "a checkout of it",
			info:    debug.BuildInfo{Main: debug.Module{Path: consul, Version: "(devel)"}},
			wantErr: `"(devel)", not a release`},
		{name: "some other Go program",
			info:    debug.BuildInfo{Main: debug.Module{Path: "example.com/vault", Version: "v1.15.0"}},
			wantErr: "names no github.com/hashicorp/consul module"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := BuildVersion(&tt.info)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("BuildVersion = %v, %v; want an error saying %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("BuildVersion = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

// builtConsul is bin/consul, which make test builds before the tests run.
func builtConsul(t *testing.T) string {
	t.Helper()
	path, err := filepath.Abs("../bin/consul")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("no bin/consul in CI: make test builds it first")
		}
		t.Skip("no bin/consul: run make consul")
	}
	return path
}

// TestAMacControllerReadsALinuxConsulsVersionWithoutRunningIt: a
// controller that is not Linux cannot run the Linux consul it copies to the
// hosts; it reads the version from the binary instead, so it needs no
// consul of its own. A Linux controller still runs `consul version`.
func TestAMacControllerReadsALinuxConsulsVersionWithoutRunningIt(t *testing.T) {
	path := builtConsul(t)
	ran := false
	f := finder{flag: path, goos: "darwin", lookPath: exec.LookPath,
		version: func(context.Context, string) (string, error) { ran = true; return "", errors.New("exec format error") }}
	b, err := f.find(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if ran {
		t.Error("the Mac controller ran a Linux consul")
	}
	if b.Version.Less(MinVersion) || b.Foreign != "linux/"+runtime.GOARCH {
		t.Errorf("found %+v, want a version of at least %v built for linux/%s", b, MinVersion, runtime.GOARCH)
	}
	// Found with no --consul: the hosts' build in bin/, beside no consul
	// of the Mac's own.
	cwd := t.TempDir()
	if err := os.Mkdir(filepath.Join(cwd, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	linux := filepath.Join(cwd, "bin", "consul-linux-"+runtime.GOARCH)
	if err := os.Symlink(path, linux); err != nil {
		t.Fatal(err)
	}
	noPath := func(string) (string, error) { return "", exec.ErrNotFound }
	found, err := finder{cwd: cwd, goos: "darwin", lookPath: noPath, version: f.version}.find(context.Background())
	if err != nil || found.Path != linux || found.Version != b.Version {
		t.Errorf("found %+v, %v; want %s, %v", found, err, linux, b.Version)
	}
	if _, err := (finder{cwd: cwd, goos: "linux", lookPath: noPath, version: runVersion}).find(context.Background()); !errors.Is(err, ErrNoConsul) {
		t.Errorf("a Linux controller took the hosts' consul-linux build for its own: %v", err)
	}
	ran = false
	f.goos, f.version = "linux", runVersion
	here, err := f.find(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if here.Foreign != "" || here.Version != b.Version {
		t.Errorf("on Linux: %+v, want the version `consul version` prints, %v, the same as its build information's", here, b.Version)
	}
}
