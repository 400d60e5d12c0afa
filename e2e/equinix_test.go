package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ztlab/zt-lab/infra/equinix/metaltest"
)

// TestEquinixLabUpAndDownThroughTheCLI drives `zt-lab up/down --provider
// equinix` against a fake Metal API on loopback: five tagged devices and a
// key, then nothing left.
func TestEquinixLabUpAndDownThroughTheCLI(t *testing.T) {
	u := newUser(t)
	metal := metaltest.New(t)
	cfg := filepath.Join(u.dir, "metal.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("api_url: %s\nproject_id: %s\n", metal.URL, metal.Project)), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) result {
		t.Helper()
		cmd := u.command(append(args, "--metal-config", cfg)...)
		cmd.Env = append(cmd.Env, "METAL_AUTH_TOKEN="+metal.Token)
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		_ = cmd.Run()
		r := result{out.String(), errb.String(), cmd.ProcessState.ExitCode()}
		if strings.Contains(r.stdout+r.stderr, metal.Token) {
			t.Fatalf("zt-lab printed the Metal token")
		}
		return r
	}

	r := run("up", "--provider", "equinix", "--dry-run")
	if r.code != 0 || !strings.Contains(r.stdout, "$3.75") || len(metal.Devices()) != 0 {
		t.Fatalf("dry run: exit %d, %d devices, output:\n%s%s", r.code, len(metal.Devices()), r.stdout, r.stderr)
	}
	r = run("up", "--provider", "equinix")
	if r.code != 0 {
		t.Fatalf("up: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	id := regexp.MustCompile(`--lab ([0-9a-f]+)`).FindStringSubmatch(r.stdout)
	if id == nil {
		t.Fatalf("up did not name the lab:\n%s", r.stdout)
	}
	devs := metal.Devices()
	if len(devs) != 5 || len(metal.Keys()) != 1 {
		t.Fatalf("%d devices and %d keys after up, want 5 and 1", len(devs), len(metal.Keys()))
	}
	for _, d := range devs {
		if !strings.Contains(strings.Join(d.Tags, ","), "zt-lab:"+id[1]) {
			t.Errorf("device %s is not tagged with the lab id: %v", d.Hostname, d.Tags)
		}
		// Killing zt-lab must not leave devices billing forever.
		if left := time.Until(d.Terminates); left < 3*time.Hour || left > 4*time.Hour {
			t.Errorf("device %s terminates at %v, in %v; want about 4 h after up", d.Hostname, d.Terminates, left)
		}
	}
	// Which lab? down names the ones it finds and asks for --lab.
	if r = run("down", "--provider", "equinix"); r.code != 2 || !strings.Contains(r.stdout+r.stderr, id[1]) {
		t.Errorf("down without --lab: exit %d, want 2 naming lab %s (%s%s)", r.code, id[1], r.stdout, r.stderr)
	}
	r = run("down", "--provider", "equinix", "--lab", id[1])
	if r.code != 0 || len(metal.Devices()) != 0 || len(metal.Keys()) != 0 {
		t.Fatalf("down: exit %d, %d devices and %d keys left\n%s%s", r.code, len(metal.Devices()), len(metal.Keys()), r.stdout, r.stderr)
	}
}

// Bad input to the Metal provider is caught before anything is said about
// devices or anything is asked of the API: one line, what to do, exit 2.
func TestEquinixBadInputIsOneLineAndExitTwo(t *testing.T) {
	u := newUser(t)
	metal := metaltest.New(t)
	cfg := filepath.Join(u.dir, "metal.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("api_url: %s\nproject_id: %s\n", metal.URL, metal.Project)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		token string
		args  []string
		want  string
	}{
		{"", []string{"up", "--provider", "equinix"}, "METAL_AUTH_TOKEN"},
		{metal.Token, []string{"down", "--provider", "equinix", "--lab", "../x"}, "`zt-lab down --provider equinix` without --lab lists them"},
		{metal.Token, []string{"up", "--provider", "equinix", "--lifetime", "0s"}, "lifetime 0s"},
		{metal.Token, []string{"up", "--provider", "equinix", "--lifetime", "720h"}, "lifetime 720h"},
	} {
		cmd := u.command(append(c.args, "--metal-config", cfg)...)
		cmd.Env = append(cmd.Env, "METAL_AUTH_TOKEN="+c.token)
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		_ = cmd.Run()
		code := cmd.ProcessState.ExitCode()
		lines := strings.Split(strings.TrimSpace(errb.String()), "\n")
		if code != 2 || len(lines) != 1 || !strings.Contains(errb.String(), c.want) {
			t.Errorf("zt-lab %s: exit %d, stderr %q; want exit 2 and one line with %q", strings.Join(c.args, " "), code, errb.String(), c.want)
		}
		if strings.Contains(out.String(), "Creating") || strings.Contains(errb.String(), "zt-lab labs") {
			t.Errorf("zt-lab %s said what it cannot do: %s%s", strings.Join(c.args, " "), out.String(), errb.String())
		}
	}
	if n := len(metal.Calls("")); n != 0 {
		t.Errorf("%d calls reached the API for bad input", n)
	}
}
