package scenes

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/ztlab/zt-lab/check"
	"github.com/ztlab/zt-lab/infra"
)

// story is a walkthrough of plain steps that records what ran, so the
// engine's order and its going back can be seen.
type story struct {
	ran    []string
	builds int
	closes int
}

func (s *story) step(name string, pass bool) Step {
	return Step{
		Title: name,
		Do:    func(context.Context, *Env) error { s.ran = append(s.ran, name); return nil },
		Verify: func(context.Context, *Env) check.Check {
			return check.Check{Name: name, Pass: pass, Evidence: []string{"ran " + name}}
		},
	}
}

func (s *story) engine(failAt string) *Engine {
	env := &Env{Build: func(context.Context) (infra.Lab, error) { s.builds++; return nil, nil }}
	ws := []Scene{
		{ID: "a", Needs: 0, Reaches: 1, Steps: []Step{{Title: "build", Do: func(ctx context.Context, e *Env) error {
			s.ran = append(s.ran, "build")
			return e.Reset(ctx)
		}}}},
		{ID: "b", Needs: 1, Reaches: 2, Steps: []Step{s.step("b1", failAt != "b1"), s.step("b2", true)}},
		{ID: "c", Needs: 2, Reaches: 2, Steps: []Step{s.step("c1", true)}},
		{ID: "d", Needs: 2, Reaches: 3, Steps: []Step{s.step("d1", true)}},
		{ID: "report", AnyStage: true, Steps: []Step{{Title: "report"}}},
	}
	return New(env, ws)
}

func TestJumpingAheadCatchesUpWithTheScenesBefore(t *testing.T) {
	s := &story{}
	e := s.engine("")
	if err := e.RunScene(context.Background(), 3); err != nil {
		t.Fatal(err)
	}
	// c reaches no new stage, so catching up skips it.
	if want := []string{"build", "b1", "b2", "d1"}; !slices.Equal(s.ran, want) {
		t.Errorf("ran %v, want %v", s.ran, want)
	}
	if e.Stage() != 3 {
		t.Errorf("stage %d, want 3", e.Stage())
	}
}

func TestGoingBackRebuildsTheLab(t *testing.T) {
	s := &story{}
	e := s.engine("")
	ctx := context.Background()
	if err := e.RunScene(ctx, 3); err != nil {
		t.Fatal(err)
	}
	s.ran = nil
	if err := e.RunScene(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if want := []string{"build", "b1", "b2"}; !slices.Equal(s.ran, want) {
		t.Errorf("going back ran %v, want %v", s.ran, want)
	}
	if s.builds != 2 {
		t.Errorf("lab built %d times, want 2", s.builds)
	}
}

func TestRunningASceneTwiceWorks(t *testing.T) {
	s := &story{}
	e := s.engine("")
	ctx := context.Background()
	for range 2 {
		if err := e.RunScene(ctx, 2); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.ran[len(s.ran)-1]; got != "c1" {
		t.Errorf("last step %s, want c1", got)
	}
}

func TestAFailedCheckIsReportedAndTheSceneGoesOn(t *testing.T) {
	s := &story{}
	e := s.engine("b1")
	events := e.Subscribe()
	err := e.RunScene(context.Background(), 1)
	if !errors.Is(err, ErrCheckFailed) {
		t.Fatalf("RunScene: %v, want ErrCheckFailed", err)
	}
	if !slices.Contains(s.ran, "b2") {
		t.Error("the scene stopped at the failed check")
	}
	if !e.Failed() {
		t.Error("engine does not report the failure")
	}
	var failed []string
	for len(events) > 0 {
		ev := <-events
		if ev.Kind == CheckDone && !ev.Check.Pass {
			failed = append(failed, ev.Check.Name)
		}
	}
	if !slices.Equal(failed, []string{"b1"}) {
		t.Errorf("failed checks in the event stream: %v, want [b1]", failed)
	}
}

func TestTheReportRunsWithoutTouchingTheLab(t *testing.T) {
	s := &story{}
	e := s.engine("")
	if err := e.RunScene(context.Background(), 3); err != nil {
		t.Fatal(err)
	}
	builds := s.builds
	if err := e.RunScene(context.Background(), 4); err != nil {
		t.Fatal(err)
	}
	if s.builds != builds || e.Stage() != 3 {
		t.Errorf("the report rebuilt the lab (builds %d -> %d, stage %d)", builds, s.builds, e.Stage())
	}
}

func TestAnErroringStepStopsTheScene(t *testing.T) {
	s := &story{}
	e := s.engine("")
	e.Scenes[1].Steps[0].Do = func(context.Context, *Env) error { return errors.New("agent failed to start") }
	err := e.RunScene(context.Background(), 1)
	if err == nil || errors.Is(err, ErrCheckFailed) {
		t.Fatalf("RunScene: %v, want the step's error", err)
	}
	if slices.Contains(s.ran, "b2") {
		t.Error("a step ran after an error")
	}
	if e.Stage() != 1 {
		t.Errorf("stage %d after an error, want 1", e.Stage())
	}
}

func TestContentLoadsForEveryBuiltInScene(t *testing.T) {
	ws := Walkthrough()
	if err := LoadContent(ws, ""); err != nil {
		t.Fatal(err)
	}
	for _, s := range ws {
		if s.Narrative == "" || s.Notes == "" {
			t.Errorf("scene %s has no narration or notes", s.ID)
		}
	}
	dir := t.TempDir()
	if err := writeFile(dir+"/lab.md", "# My own words\n"); err != nil {
		t.Fatal(err)
	}
	if err := LoadContent(ws, dir); err != nil {
		t.Fatal(err)
	}
	if ws[0].Narrative != "# My own words\n" || ws[1].Narrative == "" {
		t.Errorf("--content did not replace lab.md only: %q / %q", ws[0].Narrative, ws[1].Narrative)
	}
	if err := LoadContent(ws, dir+"/nope"); err == nil {
		t.Error("a missing --content directory was accepted")
	}
}

func TestResetRunsAHalfRunSceneFromItsStart(t *testing.T) {
	s := &story{}
	e := s.engine("")
	ctx := context.Background()
	if err := e.RunStep(ctx, 1, 0); err != nil {
		t.Fatal(err)
	}
	s.ran = nil
	if err := e.Reset(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if want := []string{"build"}; !slices.Equal(s.ran, want) || s.builds != 2 {
		t.Errorf("reset ran %v with %d builds, want %v and 2", s.ran, s.builds, want)
	}
	if len(e.Results()) != 1 { // the build step of scene 1
		t.Errorf("results after reset: %+v", e.Results())
	}
}

func TestCatchingUpGoesOnPastAFailedCheck(t *testing.T) {
	s := &story{}
	e := s.engine("b1")
	if err := e.RunScene(context.Background(), 3); err != nil {
		t.Fatalf("RunScene: %v", err)
	}
	if !slices.Contains(s.ran, "d1") || !e.Failed() {
		t.Errorf("ran %v, failed %v: want d1 run and the failure kept", s.ran, e.Failed())
	}
}

func TestListenersReadsTheKernelsSocketTable(t *testing.T) {
	// /proc/net/tcp of a host with the service on every address, then on
	// loopback, plus a connection that is not listening.
	table := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1FF5 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1FF5 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 100 0 0 10 0
   2: 140012C6:1FF5 1E0012C6:9C40 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0000000000000000 20 4 30 10 -1
   3: 0100007F:2382 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4 1 0000000000000000 100 0 0 10 0
`
	got := listeners(table, 8181)
	if len(got) != 2 || got[0].String() != "0.0.0.0" || got[1].String() != "127.0.0.1" {
		t.Errorf("listeners on 8181: %v, want [0.0.0.0 127.0.0.1]", got)
	}
}

// Each step is handed its own view of the Env: a line its work logs
// after the next step has started is still reported as its own, and a
// line from no step's view (the mesh's progress, a provider's) as the
// step run last.
func TestAStepsLinesStayItsOwnAfterTheNextStepStarts(t *testing.T) {
	next, logged := make(chan struct{}), make(chan struct{})
	ws := []Scene{{ID: "x", AnyStage: true, Steps: []Step{
		{Title: "starts something that logs later", Do: func(_ context.Context, env *Env) error {
			go func() {
				<-next
				env.Logf("late line of step 1")
				close(logged)
			}()
			return nil
		}},
		{Title: "runs while it logs", Do: func(_ context.Context, env *Env) error {
			close(next)
			<-logged
			env.Logf("line of step 2")
			return nil
		}},
	}}}
	e := New(&Env{}, ws)
	events := e.Subscribe()
	if err := e.RunScene(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	e.Env().Logf("line from no step")
	got := map[string]int{}
	for len(events) > 0 {
		if ev := <-events; ev.Kind == Output {
			got[ev.Text] = ev.Step
		}
	}
	want := map[string]int{"late line of step 1": 0, "line of step 2": 1, "line from no step": 1}
	if !maps.Equal(got, want) {
		t.Errorf("output lines by step: %v, want %v", got, want)
	}
}
