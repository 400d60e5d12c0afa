package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestABadFallbackIsOneLineAndExitTwo(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	missing := filepath.Join(dir, "demo.cast")
	notCast := write("notes.cast", "# speaker notes\n")
	unmarked := write("old.cast", `{"version":2,"width":120,"height":36}`+"\n"+`[0.5,"o","zt-lab"]`+"\n")
	for _, tc := range []struct{ path, want string }{
		{missing, "--fallback: open " + missing + ": no such file or directory; record the walkthrough first: zt-lab record --cast " + missing},
		{notCast, "--fallback " + notCast + ": not an asciinema v2 cast: line 1: not an asciinema v2 header: invalid character '#' looking for beginning of value; record one with zt-lab record --cast " + notCast},
		{unmarked, "--fallback " + unmarked + ": the cast has no scene markers: re-record it with zt-lab record --cast " + unmarked},
	} {
		code, stdout, stderr := zt("--fallback", tc.path)
		if code != 2 || stdout != "" || stderr != "zt-lab: "+tc.want+"\n" || strings.Count(stderr, "\n") != 1 {
			t.Errorf("--fallback %s: exit %d, stdout %q, stderr %q; want exit 2 and the one line %q", tc.path, code, stdout, stderr, tc.want)
		}
	}
}
