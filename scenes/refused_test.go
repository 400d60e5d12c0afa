package scenes

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ztlab/zt-lab/check"
	"github.com/ztlab/zt-lab/infra"
	"github.com/ztlab/zt-lab/mallory"
	"github.com/ztlab/zt-lab/mesh"
)

// logProc is a process on paper that has written lines: a sidecar's log.
type logProc struct {
	name  string
	lines []string
}

func (p *logProc) Name() string                              { return p.name }
func (p *logProc) PID() int                                  { return 4343 }
func (p *logProc) Tail(int) []string                         { return p.lines }
func (p *logProc) LogPath() string                           { return "" }
func (p *logProc) Done() <-chan struct{}                     { return nil }
func (p *logProc) Err() error                                { return nil }
func (p *logProc) Stop(context.Context, time.Duration) error { return nil }

// sidecarLine is a line of a consul sidecar's log, stamped at.
func sidecarLine(at time.Time, msg string) string {
	return at.UTC().Format("2006-01-02T15:04:05.000Z07:00") + " [ERROR] proxy.upstream: " + msg
}

// attackScene is the refused scene on paper, mallory in the path since
// poisoned: what mallory said, what fcc00 printed and what fcc00's
// sidecar logged.
type attackScene struct {
	malloryLines []string
	printed      []string
	fetched      int
	sidecarLog   []string
	probe        func(argv []string) ([]byte, error) // mallory --probe on the attacker
}

const (
	servedFortune = "A fortune fcs00 served.\n"
	badMAC        = `failed to dial: error="local error: tls: bad record MAC"`
	unknownCA     = `failed to dial: error="tls: failed to verify certificate: x509: certificate signed by unknown authority"`
)

func noneTampered(ctx context.Context, e *Env) check.Check { return e.checkNoneTampered(ctx) }
func probeRefused(ctx context.Context, e *Env) check.Check { return e.checkProbeRefused(ctx) }
func impersonation(_ context.Context, e *Env) check.Check  { return e.checkImpersonationRefused() }

func (s attackScene) env(poisoned time.Time) *Env {
	l := newCheckLab()
	l.hosts = append(l.hosts, &checkHost{name: infra.AttackerHost, role: infra.RoleAttacker, addr: netip.MustParseAddr("198.18.0.60"), state: infra.StateUp, run: s.probe})
	l.host(ConsumerHost).procs = []infra.Proc{&logProc{name: "fcc-sidecar", lines: s.sidecarLog}}
	env := checkEnv(l, "", []string{servedFortune}, nil)
	a := &attackRun{attacker: l.host(infra.AttackerHost), proc: &paperProc{done: make(chan struct{})}, supervised: make(chan struct{}), poisonedAt: poisoned, printed: s.printed, fetched: s.fetched}
	for _, line := range s.malloryLines {
		a.onLine(line)
	}
	a.poisonedAt = poisoned
	env.keep(func(st *walkState) { st.attack = a })
	return env
}

// The refused scene's claims, each shown false: a verdict that passes
// when mallory changed nothing, when a changed fortune got through, when
// nothing says TLS rejected the change, or when mallory's certificate or
// probe was let in, is a check weaker than the narration.
func TestTheAttackChecksVerdicts(t *testing.T) {
	poisoned := time.Now().Add(-time.Second)
	before := poisoned.Add(-time.Minute)
	after := poisoned.Add(200 * time.Millisecond)
	probeSays := func(line string, err error) func([]string) ([]byte, error) {
		return func([]string) ([]byte, error) { return []byte(line + "\n"), err }
	}
	const probeAddr = "198.18.0.20:9191"
	for _, tc := range []struct {
		name  string
		check func(context.Context, *Env) check.Check
		scene attackScene
		pass  bool
		why   []string
	}{
		{"flipped records rejected with bad record MAC", noneTampered, attackScene{
			malloryLines: []string{"flipped 198.18.0.30:40000 2", "flipped 198.18.0.30:40002 2"},
			fetched:      3,
			sidecarLog:   []string{sidecarLine(after, badMAC)},
		}, true, []string{"mallory changed a byte in 4 TLS records on 2 connections", `reject a record with "bad record MAC"`, "local error: tls: bad record MAC"}},
		{"a fortune fcs00 served still reads through", noneTampered, attackScene{
			malloryLines: []string{"flipped 198.18.0.30:40000 2"},
			printed:      []string{servedFortune},
			fetched:      3,
			sidecarLog:   []string{sidecarLine(after, badMAC)},
		}, true, []string{"3 fetches, 1 fortunes printed, 0 of them tampered"}},
		{"a tampered fortune accepted", noneTampered, attackScene{
			malloryLines: []string{"flipped 198.18.0.30:40000 2"},
			printed:      []string{mallory.Rewrite(servedFortune)},
			fetched:      3,
			sidecarLog:   []string{sidecarLine(after, badMAC)},
		}, false, []string{"1 of them tampered"}},
		{"mallory changed nothing", noneTampered, attackScene{
			fetched:    3,
			sidecarLog: []string{sidecarLine(after, badMAC)},
		}, false, []string{"mallory changed nothing: the fetches never passed through it"}},
		{"the fetches failed, but not on a bad record MAC", noneTampered, attackScene{
			malloryLines: []string{"flipped 198.18.0.30:40000 2"},
			fetched:      3,
			sidecarLog:   []string{sidecarLine(after, `failed to dial: error="dial tcp 198.18.0.20:9191: connect: connection refused"`)},
		}, false, []string{`no sidecar logged "bad record MAC" since mallory started`}},
		{"the only bad record MAC is from before this attack", noneTampered, attackScene{
			malloryLines: []string{"flipped 198.18.0.30:40000 2"},
			fetched:      3,
			sidecarLog:   []string{sidecarLine(before, badMAC)},
		}, false, []string{`no sidecar logged "bad record MAC" since mallory started`}},

		{"mallory's certificate refused", impersonation, attackScene{
			malloryLines: []string{"impersonation 198.18.0.30:40010 refused: remote error: tls: bad certificate"},
			fetched:      3,
			sidecarLog:   []string{sidecarLine(after, unknownCA)},
		}, true, []string{"mallory: impersonation 198.18.0.30:40010 refused", "0 of mallory's fortunes printed by fcc00", "unknown authority"}},
		{"mallory's certificate accepted", impersonation, attackScene{
			malloryLines: []string{"impersonation 198.18.0.30:40010 accepted"},
			fetched:      3,
		}, false, []string{"impersonation 198.18.0.30:40010 accepted"}},
		{"mallory's fortune printed", impersonation, attackScene{
			malloryLines: []string{"impersonation 198.18.0.30:40010 refused: remote error: tls: bad certificate"},
			printed:      []string{mallory.Rewrite("mallory has a fortune of its own.\n")},
			fetched:      3,
		}, false, []string{"1 of mallory's fortunes printed by fcc00"}},
		{"no connection reached the impersonation", impersonation, attackScene{fetched: 3}, false,
			[]string{"no connection reached mallory's impersonation"}},

		{"mallory's probe refused", probeRefused, attackScene{
			probe: probeSays("probe "+probeAddr+" refused: remote error: tls: certificate required", nil),
		}, true, []string{"zt-lab mallory --probe " + probeAddr + ": probe " + probeAddr + " refused"}},
		{"mallory's probe let in", probeRefused, attackScene{
			probe: probeSays("probe "+probeAddr+" accepted: read 1 byte", nil),
		}, false, []string{"accepted"}},
		{"mallory's probe could not run", probeRefused, attackScene{
			probe: probeSays("", errors.New("exit status 2")),
		}, false, []string{"exit status 2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // a row without a bad record MAC waits out the check's 2 s
			c := tc.check(context.Background(), tc.scene.env(poisoned))
			requireCheck(t, c, tc.pass, tc.why...)
		})
	}
}

func TestLogStampReadsConsulsTime(t *testing.T) {
	at, ok := mesh.LogTime(`2026-12-07T00:43:50.290Z [ERROR] proxy.upstream: failed to dial: error="local error: tls: bad record MAC"`)
	if !ok || !at.Equal(time.Date(2026, 12, 7, 0, 43, 50, 290e6, time.UTC)) {
		t.Errorf("LogTime = %v %v", at, ok)
	}
	if _, ok := mesh.LogTime("==> Consul Connect proxy running!"); ok {
		t.Errorf("a line without a stamp has one")
	}
	if !strings.Contains(sidecarLine(time.Unix(0, 0), "x"), "1970-01-01T00:00:00.000Z [ERROR]") {
		t.Errorf("sidecarLine is not consul's format: %s", sidecarLine(time.Unix(0, 0), "x"))
	}
}
