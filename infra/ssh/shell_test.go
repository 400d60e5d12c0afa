package sshlab

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ztlab/zt-lab/infra"
)

func TestShellFuncBeforeTheLabSaysWhatToDo(t *testing.T) {
	dir, path := t.TempDir(), os.Getenv("PATH")
	t.Setenv("PATH", dir)
	if f := ShellFunc(func() infra.Lab { return nil }); f != nil {
		t.Fatal("a shell is offered without an ssh client")
	}
	if err := os.WriteFile(filepath.Join(dir, "ssh"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	f := ShellFunc(func() infra.Lab { return nil })
	if f == nil {
		t.Fatal("no shell offered with an ssh client on PATH")
	}
	t.Setenv("PATH", path) // for the sh that says so
	cmd := f("fcs00")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("a shell before the lab exists: %v, want exit status 1", err)
	}
	if want := "zt-lab: no host fcs00 yet: run the first scene\n"; stderr.String() != want {
		t.Errorf("it says %q, want %q", stderr.String(), want)
	}
}
