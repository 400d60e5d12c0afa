//go:build linux

package serve

import (
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
