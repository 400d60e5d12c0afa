package mesh

import (
	"context"
	"debug/buildinfo"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// MinVersion is the oldest consul the lab runs: the configuration uses the
// tls stanza of 1.12+ and the api module of the 1.22 line, and older agents
// were never tried here.
var MinVersion = Version{Major: 1, Minor: 22}

// ErrNoConsul means no consul binary was found where the lab looks.
var ErrNoConsul = errors.New("no consul binary found")

// ErrConsulTooOld means the consul found is older than MinVersion.
var ErrConsulTooOld = errors.New("consul is too old")

// howToGet ends every error that says there is no usable consul.
const howToGet = "run `make consul` to build one from Consul's Go packages (tools/consul), or pass --consul PATH"

// Version is a consul release number.
type Version struct {
	Major, Minor, Patch int
	Pre                 string // "dev", "rc1": a pre-release of the numbers
}

func (v Version) String() string {
	s := fmt.Sprintf("v%d.%d.%d", v.Major, v.Minor, v.Patch)
	if v.Pre != "" {
		s += "-" + v.Pre
	}
	return s
}

// Less reports whether v is older than o. A pre-release comes before the
// release of the same numbers.
func (v Version) Less(o Version) bool {
	if v.Major != o.Major {
		return v.Major < o.Major
	}
	if v.Minor != o.Minor {
		return v.Minor < o.Minor
	}
	if v.Patch != o.Patch {
		return v.Patch < o.Patch
	}
	return v.Pre != "" && o.Pre == ""
}

// versionLine matches "Consul v1.22.7", "Consul v1.23.0-dev" and an
// enterprise build's "Consul v1.21.2+ent".
var versionLine = regexp.MustCompile(`(?m)^Consul v(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?\s*$`)

// ParseVersion reads the output of `consul version`, whose first line is
// "Consul v1.22.7" (or "Consul v1.23.0-dev").
func ParseVersion(out string) (Version, error) {
	m := versionLine.FindStringSubmatch(out)
	if m == nil {
		first, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
		return Version{}, fmt.Errorf("no \"Consul vX.Y.Z\" line in `consul version` output %q", first)
	}
	var n [3]int
	for i := range n {
		v, err := strconv.Atoi(m[i+1])
		if err != nil {
			return Version{}, fmt.Errorf("version number %q: %w", m[i+1], err)
		}
		n[i] = v
	}
	return Version{Major: n[0], Minor: n[1], Patch: n[2], Pre: m[4]}, nil
}

// Binary is a consul executable the lab can run.
type Binary struct {
	Path    string // absolute: hosts share the file system, not the working directory
	Version Version
	// Foreign is the system a consul that cannot run on this controller is
	// built for ("linux/amd64" on a Mac): its version was read from its
	// build information, and only the lab's Linux hosts run it. "" when
	// `consul version` ran here.
	Foreign string
}

// FindConsul finds a consul binary no older than MinVersion. It looks at
// flag (the --consul value), then $ZTLAB_CONSUL, then consul next to the
// zt-lab executable and bin/consul under the current directory, then PATH;
// on a controller that is not Linux, then consul-linux-amd64 and -arm64
// next to zt-lab and in bin/ (the hosts' builds, whose version is read
// without running them).
// A binary named by flag or $ZTLAB_CONSUL must work: the search does not go
// on past it.
func FindConsul(ctx context.Context, flag string) (Binary, error) {
	exe, _ := os.Executable()
	cwd, _ := os.Getwd()
	return finder{
		flag:     flag,
		env:      os.Getenv("ZTLAB_CONSUL"),
		exe:      exe,
		cwd:      cwd,
		lookPath: exec.LookPath,
		version:  runVersion,
		goos:     runtime.GOOS,
	}.find(ctx)
}

// finder holds what FindConsul reads from the process, so tests can set it.
type finder struct {
	flag, env string
	exe, cwd  string
	lookPath  func(string) (string, error)
	version   func(ctx context.Context, path string) (string, error)
	goos      string // the controller's system
}

func (f finder) find(ctx context.Context) (Binary, error) {
	for _, named := range []struct{ value, from string }{{f.flag, "--consul"}, {f.env, "$ZTLAB_CONSUL"}} {
		if named.value == "" {
			continue
		}
		path, err := f.abs(named.value)
		if err == nil {
			_, err = os.Stat(path)
		}
		if err != nil {
			return Binary{}, fmt.Errorf("%w: %s names %s, which does not exist: %s", ErrNoConsul, named.from, named.value, howToGet)
		}
		return f.check(ctx, path)
	}
	var tried []string
	var candidates []string
	if f.exe != "" {
		candidates = append(candidates, filepath.Join(filepath.Dir(f.exe), "consul"))
	}
	if f.cwd != "" {
		candidates = append(candidates, filepath.Join(f.cwd, "bin", "consul"))
	}
	for _, c := range candidates {
		if st, err := os.Stat(c); err == nil && !st.IsDir() {
			return f.check(ctx, c)
		}
		tried = append(tried, c)
	}
	if p, err := f.lookPath("consul"); err == nil {
		path, err := f.abs(p)
		if err != nil {
			return Binary{}, err
		}
		return f.check(ctx, path)
	}
	tried = append(tried, "PATH")
	// A Mac or Windows controller runs no consul itself: the Linux builds
	// it copies to the hosts (make consul-linux) do.
	if f.goos != "linux" {
		var dirs []string
		if f.exe != "" {
			dirs = append(dirs, filepath.Dir(f.exe))
		}
		if f.cwd != "" {
			dirs = append(dirs, filepath.Join(f.cwd, "bin"))
		}
		for _, d := range dirs {
			for _, arch := range []string{"amd64", "arm64"} {
				c := filepath.Join(d, "consul-linux-"+arch)
				if st, err := os.Stat(c); err == nil && !st.IsDir() {
					return f.check(ctx, c)
				}
				tried = append(tried, c)
			}
		}
	}
	return Binary{}, fmt.Errorf("%w (looked at --consul, $ZTLAB_CONSUL, %s): %s", ErrNoConsul, strings.Join(tried, ", "), howToGet)
}

func (f finder) abs(p string) (string, error) {
	if filepath.IsAbs(p) {
		return filepath.Clean(p), nil
	}
	if f.cwd == "" {
		return filepath.Abs(p)
	}
	return filepath.Join(f.cwd, p), nil
}

// check runs `consul version` and holds the binary to MinVersion. On a
// controller that is not Linux, a Linux consul (which only the hosts run)
// is not run: its version is read from its build information.
func (f finder) check(ctx context.Context, path string) (Binary, error) {
	if f.goos != "linux" {
		if info, err := buildinfo.ReadFile(path); err == nil {
			if goos, goarch := buildSetting(info, "GOOS"), buildSetting(info, "GOARCH"); goos == "linux" {
				v, err := BuildVersion(info)
				if err != nil {
					return Binary{}, fmt.Errorf("%w: %s is a Linux build, and %v: %s", ErrNoConsul, path, err, howToGet)
				}
				if v.Less(MinVersion) {
					return Binary{}, fmt.Errorf("%w: %s is %s, the lab needs %s or newer: %s", ErrConsulTooOld, path, v, MinVersion, howToGet)
				}
				return Binary{Path: path, Version: v, Foreign: goos + "/" + goarch}, nil
			}
		}
	}
	out, err := f.version(ctx, path)
	if err != nil {
		return Binary{}, fmt.Errorf("%w: %s does not run (`consul version`: %v): %s", ErrNoConsul, path, err, howToGet)
	}
	v, err := ParseVersion(out)
	if err != nil {
		return Binary{}, fmt.Errorf("%w: %s is not a consul we know: %v: %s", ErrNoConsul, path, err, howToGet)
	}
	if v.Less(MinVersion) {
		return Binary{}, fmt.Errorf("%w: %s is %s, the lab needs %s or newer: %s", ErrConsulTooOld, path, v, MinVersion, howToGet)
	}
	return Binary{Path: path, Version: v}, nil
}

func runVersion(ctx context.Context, path string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "version").CombinedOutput()
	if err != nil {
		if first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n"); first != "" {
			return "", fmt.Errorf("%w: %s", err, first)
		}
		return "", err
	}
	return string(out), nil
}

// BuildVersion is the version of Consul's packages a consul was built from,
// from its build information: its main module's version when it is
// github.com/hashicorp/consul itself (a release, stamped from its tag), else
// the version of that module it requires (the lab's tools/consul, whose
// patched copy of the release is a directory replacement).
func BuildVersion(info *debug.BuildInfo) (Version, error) {
	const consul = "github.com/hashicorp/consul"
	mod := info.Main
	if mod.Path != consul {
		mod = debug.Module{}
		for _, d := range info.Deps {
			if d.Path == consul {
				mod = *d
				// A module replacement has its own version; a directory
				// (the lab's patched copy of the release) has none and
				// stays the release it copies.
				if d.Replace != nil && d.Replace.Version != "" && d.Replace.Version != "(devel)" {
					mod.Version = d.Replace.Version
				}
			}
		}
	}
	if mod.Path == "" {
		return Version{}, fmt.Errorf("its build information names no %s module", consul)
	}
	v, err := ParseVersion("Consul " + mod.Version)
	if err != nil {
		return Version{}, fmt.Errorf("its build information gives %s as %q, not a release", consul, mod.Version)
	}
	return v, nil
}

// buildSetting is the value of a build setting (GOOS, GOARCH), "" if none.
func buildSetting(info *debug.BuildInfo, key string) string {
	for _, s := range info.Settings {
		if s.Key == key {
			return s.Value
		}
	}
	return ""
}
