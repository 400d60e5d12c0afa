// Package attack runs the man in the middle for real, in a local lab,
// through the scene engine as the TUI and `zt-lab run` drive it: mallory
// killed in the middle of its scene, the scene run twice in a row, and
// run again after a later scene.
package attack

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ztlab/zt-lab/e2e/internal/binaries"
	"github.com/ztlab/zt-lab/infra"
	"github.com/ztlab/zt-lab/infra/local"
	"github.com/ztlab/zt-lab/infra/local/labtest"
	"github.com/ztlab/zt-lab/mallory"
	"github.com/ztlab/zt-lab/scenes"
)

// ztlab is the binary the hosts run (mallory, the fortune service and
// consumer); consul the one `make consul` built.
var ztlab, consul string

// TestMain runs the tests inside a sandbox of their own, after building
// zt-lab.
func TestMain(m *testing.M) {
	local.Main()
	if !local.Sandboxed() {
		labtest.Main(m)
		return
	}
	dir, err := os.MkdirTemp("", "zt-e2e-attack")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if ztlab, err = binaries.Build(dir, "../..", local.ClientEnv()); err == nil {
		consul, err = binaries.Consul("../..")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// walk is the walkthrough's engine over a local lab, and its events.
type walk struct {
	t      *testing.T
	e      *scenes.Engine
	env    *scenes.Env
	events <-chan scenes.Event
}

func newWalk(t *testing.T) *walk {
	env := &scenes.Env{Self: ztlab, Consul: consul, Seed: 1, Provider: "local (namespaces on this machine)"}
	env.Build = func(ctx context.Context) (infra.Lab, error) {
		return local.New().Up(ctx, infra.DefaultTopology(), nil)
	}
	e := scenes.New(env, scenes.Walkthrough())
	w := &walk{t: t, e: e, env: env, events: e.Subscribe()}
	t.Cleanup(func() {
		if err := env.Close(context.Background()); err != nil {
			t.Errorf("ending the lab: %v", err)
		}
	})
	return w
}

// scene is the index of the scene with id.
func (w *walk) scene(id string) int {
	i := slices.IndexFunc(w.e.Scenes, func(s scenes.Scene) bool { return s.ID == id })
	if i < 0 {
		w.t.Fatalf("no scene %q", id)
	}
	return i
}

// runScene runs scene i and fails the test on an error or a failed check,
// with every check's evidence.
func (w *walk) runScene(ctx context.Context, i int) {
	w.t.Helper()
	err := w.e.RunScene(ctx, i)
	w.requireChecks(i, err)
}

// runStep runs step j of scene i, likewise.
func (w *walk) runStep(ctx context.Context, i, j int) {
	w.t.Helper()
	err := w.e.RunStep(ctx, i, j)
	w.requireChecks(i, err)
}

func (w *walk) requireChecks(i int, err error) {
	w.t.Helper()
	var failed []string
	for _, r := range w.e.Results() {
		if r.Scene != i || r.Check == nil || r.Check.Done() {
			continue
		}
		failed = append(failed, fmt.Sprintf("%s: %s\n    %s", r.Title, r.Check.Name, strings.Join(r.Check.Evidence, "\n    ")))
	}
	if err != nil && !errors.Is(err, scenes.ErrCheckFailed) {
		w.t.Fatalf("scene %d (%s): %v", i+1, w.e.Scenes[i].Title, err)
	}
	if len(failed) > 0 {
		w.t.Fatalf("scene %d (%s) failed its checks:\n%s", i+1, w.e.Scenes[i].Title, strings.Join(failed, "\n"))
	}
}

// attack is the attack as the screen reads it.
func (w *walk) attack() *scenes.AttackView {
	v, ok := w.env.LabView()
	if !ok {
		return nil
	}
	return v.Attack
}

// waitView waits, on the engine's lab events, until the attack's view
// satisfies ok, and returns it; the deadline is generous: the test waits
// on the event, it does not time it.
func (w *walk) waitView(ctx context.Context, what string, ok func(*scenes.AttackView) bool) *scenes.AttackView {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		if v := w.attack(); v != nil && ok(v) {
			return v
		}
		select {
		case <-w.events:
		case <-time.After(time.Second): // a lab event lost to a full buffer
		case <-ctx.Done():
			w.t.Fatalf("waiting for %s: %v; the attack's view: %+v", what, ctx.Err(), w.attack())
		}
	}
}

// requireClean fails unless both victims' caches, as their kernels last
// reported them, map each other to their own MACs.
func (w *walk) requireClean(v *scenes.AttackView) {
	w.t.Helper()
	if len(v.Entries) != 2 {
		w.t.Fatalf("the view read %d ARP entries, want fcc00's and fcs00's: %+v", len(v.Entries), v.Entries)
	}
	for _, n := range v.Entries {
		if n.Poisoned || n.Owner != n.Of {
			w.t.Errorf("%s's entry for %s is %s (%s's), want %s's MAC: %q", n.Host, n.Of, n.MAC, n.Owner, n.Of, n.Line)
		}
	}
}

// mallory is the attacker's running process.
func (w *walk) mallory() infra.Proc {
	w.t.Helper()
	h, err := w.env.Host(infra.AttackerHost)
	if err != nil {
		w.t.Fatal(err)
	}
	for _, p := range h.Procs() {
		select {
		case <-p.Done():
			continue
		default:
		}
		if p.Name() == "mallory" {
			return p
		}
	}
	w.t.Fatal("mallory is not running")
	return nil
}

// fortuneServed fetches from fcc00 at addr until it prints a fortune fcs00
// served, and returns when that was and how many fetches failed first.
func (w *walk) fortuneServed(ctx context.Context, addr string) (time.Time, int) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	failed := 0
	for {
		got, err := w.env.Consume(ctx, scenes.ConsumerHost, addr)
		if err == nil && slices.Contains(w.env.Served(), got) {
			return time.Now(), failed
		}
		failed++
		if ctx.Err() != nil {
			w.t.Fatalf("fcc00 got no fortune fcs00 served: %v (last: %q, %v)", ctx.Err(), got, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// kills is how many times mallory is killed mid-scene.
const kills = 5

// mallory killed with SIGKILL in the middle of its scene: the lab notices,
// takes mallory's rule out of its kernel, gives both victims the real
// MACs, and fcc00 gets fortunes fcs00 served again; the scene's last
// check then passes on what the lab did. Each kill's time to the next
// good fortune is logged (min/median/max), never asserted.
func TestMalloryKilledMidSceneTheLabRecovers(t *testing.T) {
	w := newWalk(t)
	ctx := context.Background()
	i := w.scene("tampering")
	if err := w.e.Prepare(ctx, i); err != nil {
		t.Fatal(err)
	}
	var took []time.Duration
	for k := range kills {
		w.runStep(ctx, i, 0) // poisoned: its check reads both caches
		if k == 0 {
			w.runStep(ctx, i, 1) // fortunes tampered
			w.runStep(ctx, i, 2) // both versions on the wire
		}
		w.waitView(ctx, "the poisoned caches in the view", func(v *scenes.AttackView) bool { return v.InPath && v.Poisoned() })
		p := w.mallory()
		killed := time.Now()
		if err := unix.Kill(-p.PID(), unix.SIGKILL); err != nil {
			t.Fatal(err)
		}
		good, lost := w.fortuneServed(ctx, fmt.Sprintf("%s:%d", scenes.ServiceHost, scenes.FortunePort))
		v := w.waitView(ctx, "the lab to undo the dead mallory's attack", (*scenes.AttackView).Recovered)
		w.requireClean(v)
		took = append(took, good.Sub(killed))
		t.Logf("kill %d: next good fortune %d ms after SIGKILL (%d fetches failed first); attack undone %d ms after mallory's death was seen",
			k+1, good.Sub(killed).Milliseconds(), lost, v.Restored.Sub(v.Died).Milliseconds())
		h, err := w.env.Host(infra.AttackerHost)
		if err != nil {
			t.Fatal(err)
		}
		out, err := h.Run(ctx, "ip", "-4", "rule", "show", "priority", fmt.Sprint(mallory.RulePriority))
		if err != nil || strings.TrimSpace(string(out)) != "" {
			t.Errorf("mallory's rule is still in its kernel: %v %s", err, out)
		}
	}
	// The scene's last step, after the kill: the caches are clean and the
	// fortune untampered, by what the lab did.
	w.runStep(ctx, i, 3)
	slices.Sort(took)
	t.Logf("SIGKILL to the next good fortune over %d kills: min %d ms, median %d ms, max %d ms",
		len(took), took[0].Milliseconds(), took[len(took)/2].Milliseconds(), took[len(took)-1].Milliseconds())
}

// mallory killed in front of the mesh, while it flips bytes of the
// sidecars' TLS records: the lab undoes its attack likewise, fortunes
// flow through the sidecars again with no restart, and the scene's last
// check passes on what the lab did.
func TestMalloryKilledInFrontOfTheMeshTheLabRecovers(t *testing.T) {
	w := newWalk(t)
	ctx := context.Background()
	i := w.scene("refused")
	if err := w.e.Prepare(ctx, i); err != nil {
		t.Fatal(err)
	}
	w.runStep(ctx, i, 0) // poisoned in front of the mesh
	w.runStep(ctx, i, 1) // 0 tampered fortunes accepted
	w.waitView(ctx, "the poisoned caches in the view", func(v *scenes.AttackView) bool { return v.InPath && v.Poisoned() })
	p := w.mallory()
	killed := time.Now()
	if err := unix.Kill(-p.PID(), unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	good, lost := w.fortuneServed(ctx, scenes.MeshAddr)
	v := w.waitView(ctx, "the lab to undo the dead mallory's attack", (*scenes.AttackView).Recovered)
	w.requireClean(v)
	t.Logf("in front of the mesh: next good fortune %d ms after SIGKILL (%d fetches failed first); attack undone %d ms after mallory's death was seen",
		good.Sub(killed).Milliseconds(), lost, v.Restored.Sub(v.Died).Milliseconds())
	w.runStep(ctx, i, len(w.e.Scenes[i].Steps)-1)
}

// The tampering scene run twice in a row on the same lab (the TUI's `a`
// twice): both runs pass every check, and the caches end clean each time.
func TestTamperingTwiceInARow(t *testing.T) {
	w := newWalk(t)
	ctx := context.Background()
	i := w.scene("tampering")
	for run := range 2 {
		w.runScene(ctx, i)
		v := w.waitView(ctx, "mallory to end", func(v *scenes.AttackView) bool { return !v.InPath })
		w.requireClean(v)
		if v.Tampered == 0 {
			t.Errorf("run %d: mallory tampered with nothing", run+1)
		}
	}
}

// The tampering scene run again after a later scene: by the TUI's `p` and
// `a` (RunScene, which builds the lab again to go back) and by its `r`
// (Reset); each time every check passes and the caches end clean.
func TestTamperingAgainFromALaterScene(t *testing.T) {
	w := newWalk(t)
	ctx := context.Background()
	i, servers := w.scene("tampering"), w.scene("servers")
	w.runScene(ctx, i)
	for _, back := range []string{"RunScene", "Reset"} {
		w.runScene(ctx, servers)
		if back == "Reset" {
			if err := w.e.Reset(ctx, i); err != nil {
				t.Fatal(err)
			}
		}
		w.runScene(ctx, i)
		v := w.waitView(ctx, "mallory to end", func(v *scenes.AttackView) bool { return !v.InPath })
		w.requireClean(v)
		if v.Tampered == 0 {
			t.Errorf("back by %s: mallory tampered with nothing", back)
		}
	}
}
