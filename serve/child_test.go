//go:build linux

package serve

import (
	"fmt"
	"strings"
	"testing"
)

func TestProgressFollowsTheLabsEvents(t *testing.T) {
	lab := &Lab{}
	lab.progress.checks = map[string]bool{}
	in := strings.Join([]string{
		`{"kind":"scene","scene":0}`,
		`{"kind":"step","scene":0,"step":0}`,
		`{"kind":"check","scene":0,"step":0,"check":{"name":"five hosts up","pass":true}}`,
		`{"kind":"step-done","scene":0,"step":0}`,
		`not json at all`,
		`{"kind":"scene","scene":1}`,
		`{"kind":"check","scene":1,"step":1,"check":{"name":"consumer received a fortune","pass":false}}`,
		`{"kind":"check","scene":1,"step":1,"check":{"name":"consumer received a fortune","pass":true}}`,
		`{"kind":"scene","scene":2}`,
		`{"kind":"check","scene":2,"step":0,"check":{"name":"sniffer","pass":false}}`,
		`{"kind":"step-done","scene":2,"step":0,"error":"boom"}`,
		`{"kind":"scene","scene":0}`,
	}, "\n") + "\n"
	lab.readProgress(strings.NewReader(in))
	p := lab.Progress()
	want := Progress{Scene: 1, Reached: 3, Passed: 2, Failed: 1, Err: "boom"}
	if p.Scene != want.Scene || p.Reached != want.Reached || p.Passed != want.Passed || p.Failed != want.Failed || p.Err != want.Err {
		t.Errorf("got %+v, want %+v", p, want)
	}
}

// TestProgressKeepsABoundedPartOfWhatTheLabWrites: the lab's uid writes
// the pipe; a flood of checks of distinct, long names keeps at most
// maxChecks of them, each name clipped.
func TestProgressKeepsABoundedPartOfWhatTheLabWrites(t *testing.T) {
	lab := &Lab{}
	lab.progress.checks = map[string]bool{}
	name := strings.Repeat("x", 10000)
	var b strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&b, `{"kind":"check","scene":0,"step":%d,"check":{"name":"%s","pass":false}}`+"\n", i, name)
	}
	fmt.Fprintf(&b, `{"kind":"step-done","scene":0,"step":0,"error":"%s"}`+"\n", name)
	lab.readProgress(strings.NewReader(b.String()))
	kept := 0
	for k := range lab.progress.checks {
		kept += len(k)
	}
	if n := len(lab.progress.checks); n > maxChecks || kept > maxChecks*(maxCheckName+20) {
		t.Errorf("kept %d checks, %d bytes of names; want at most %d checks of %d bytes", n, kept, maxChecks, maxCheckName)
	}
	if p := lab.Progress(); p.Failed != maxChecks || len([]rune(p.Err)) > maxErr {
		t.Errorf("got %d failed checks and an error of %d runes; want %d and at most %d", p.Failed, len([]rune(p.Err)), maxChecks, maxErr)
	}
}
