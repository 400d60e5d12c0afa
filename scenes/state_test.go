package scenes

import (
	"context"
	"slices"
	"testing"

	"github.com/ztlab/zt-lab/infra"
)

// A check that reads what an earlier step made fails, saying so, when
// that step has not run on this lab.
func TestAChecksEarlierStepThatDidNotRunFailsWithEvidence(t *testing.T) {
	e := New(&Env{}, Walkthrough())
	for _, tc := range []struct {
		scene string
		step  int
		want  string
	}{
		{"fortune", 1, "the consumer printed nothing"},
		{"intentions", 1, "no rogue was started"},
		{"identity", 1, "no rotation ran"},
		{"resilience", 1, "0 of 3 failures ran"},
		{"resilience", 2, "no failover ran"},
	} {
		i := slices.IndexFunc(e.Scenes, func(s Scene) bool { return s.ID == tc.scene })
		if i < 0 {
			t.Fatalf("no scene %s", tc.scene)
		}
		st := e.Scenes[i].Steps[tc.step]
		c := st.Verify(context.Background(), e.Env())
		if c.Pass || !slices.Contains(c.Evidence, tc.want) {
			t.Errorf("%s step %d (%s) before its step ran: %s, want a failure saying %q", tc.scene, tc.step+1, st.Title, c, tc.want)
		}
	}
	if fs := e.Env().Failures(); fs != nil {
		t.Errorf("failures before the resilience scene: %v", fs)
	}
	if _, ok := e.Env().Failover(); ok {
		t.Error("a failover reported before the resilience scene")
	}
}

// What steps hand on belongs to one lab: building it again forgets it.
func TestANewLabForgetsWhatStepsHandedOn(t *testing.T) {
	env := &Env{Build: func(context.Context) (infra.Lab, error) { return nil, nil }}
	New(env, nil)
	env.keep(func(s *walkState) {
		s.lastFortune = "You will be hungry again in one hour."
		s.failover = &failover{Old: "consul00", New: "consul01"}
	})
	if _, ok := env.Failover(); !ok || env.state().lastFortune == "" {
		t.Fatalf("kept nothing: %+v", env.state())
	}
	if err := env.Reset(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := env.state(); s != (walkState{}) {
		t.Errorf("after a new lab: %+v, want nothing kept", s)
	}
}
