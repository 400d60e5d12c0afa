package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ztlab/zt-lab/presenter"
)

func TestNotesWithoutAGuidedLabSayHowToStartOneAndExitTwo(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("ZTLAB_RUNTIME_DIR", filepath.Join(dir, "zt-lab"))
	want := "zt-lab: no guided lab is running for you: start `zt-lab` in another terminal first, then zt-lab notes follows it\n"
	code, stdout, stderr := zt("notes")
	if code != 2 || stderr != want || stdout != "" {
		t.Errorf("zt-lab notes with no lab: exit %d, stdout %q, stderr %q; want exit 2 and %q", code, stdout, stderr, want)
	}
	// A socket a dead screen left (its process was killed) is no screen.
	if err := os.MkdirAll(filepath.Join(dir, "zt-lab"), 0o700); err != nil {
		t.Fatal(err)
	}
	srv, err := presenter.Listen(filepath.Join(dir, "zt-lab", presenter.SocketName))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(srv.Path(), srv.Path()+".kept"); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	if err := os.Rename(srv.Path()+".kept", srv.Path()); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := zt("notes"); code != 2 || stderr != want {
		t.Errorf("zt-lab notes over a stale socket: exit %d, stderr %q; want exit 2 and %q", code, stderr, want)
	}
}

func TestNotesBudgetMistakesExitTwo(t *testing.T) {
	t.Setenv("ZTLAB_RUNTIME_DIR", filepath.Join(t.TempDir(), "zt-lab"))
	for _, tc := range []struct {
		budget, want string
	}{
		{"45", `--budget: budget "45" has no unit: write 45m for minutes`},
		{"soon", `--budget: budget "soon" is not a duration: write it like 3m, 90s or 1h15m`},
		{"-5m", `--budget: budget "-5m": give a time above zero, like 3m`},
		{"45h", `--budget: budget "45h" is over 12h0m0s: write minutes as m (3m), hours as h`},
	} {
		code, _, stderr := zt("notes", "--budget", tc.budget)
		if code != 2 || stderr != "zt-lab: "+tc.want+"\n" {
			t.Errorf("--budget %s: exit %d, stderr %q; want exit 2 and %q", tc.budget, code, stderr, tc.want)
		}
	}
}

func TestNotesHelpFitsOnAScreen(t *testing.T) {
	code, stdout, _ := zt("notes", "--help")
	if code != 0 {
		t.Fatalf("notes --help: exit %d", code)
	}
	lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
	if len(lines) > 24 {
		t.Errorf("notes --help is %d lines, more than a 24-line screen:\n%s", len(lines), stdout)
	}
	for _, l := range lines {
		if len([]rune(l)) > 100 {
			t.Errorf("notes --help has a line of %d columns: %q", len([]rune(l)), l)
		}
	}
	for _, want := range []string{"--budget time", "budget: 3m", "n, p and enter"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("notes --help does not say %q:\n%s", want, stdout)
		}
	}
}
