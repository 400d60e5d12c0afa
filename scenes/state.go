package scenes

import "github.com/ztlab/zt-lab/mesh"

// walkState is what steps hand to later steps on the current lab. Each
// field is set by the step that makes it; its zero value means that step
// has not run since the lab was built, and the check that reads it fails
// saying so.
type walkState struct {
	// lastFortune is what the consumer printed last (Consume, in every
	// step that fetches a fortune).
	lastFortune string
	// attack is the tampering scene's man in the middle.
	attack *attackRun
	// rogue is the service inside the mesh that the access-control scene
	// started and its check expects to be denied.
	rogue *mesh.Consumer
	// strangers is what the rogue got when it tried to change the rules.
	strangers *mesh.Strangers
	// malloryRules is what mallory got when it tried every agent's API
	// over the wire.
	malloryRules *mesh.Strangers
	// rotation is the identity scene's CA rotation under load.
	rotation *rotationRun
	// failures are the resilience scene's injected failures.
	failures *failureRun
	// failover is the resilience scene's crash of the raft leader.
	failover *failover
}

// rotationRun is a CA rotation and what the consumer saw meanwhile.
type rotationRun struct {
	rotation   mesh.Rotation
	ok, failed int
}

// failureRun is the failures injected one at a time and what the
// consumer saw through them.
type failureRun struct {
	failures   []Failure
	ok, failed int
	retried    int    // fetches that took more than one try
	servedBy   string // fetches per instance, "fcs00 12, fcs01 9, ..."
}

// state is a copy of what steps have handed on so far.
func (e *Env) state() walkState {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.kept
}

// keep records what a step hands to later steps.
func (e *Env) keep(f func(*walkState)) {
	e.mu.Lock()
	f(&e.kept)
	e.mu.Unlock()
}
