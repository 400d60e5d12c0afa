package integration_test

import (
	"bufio"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ztlab/zt-lab/check"
	"github.com/ztlab/zt-lab/infra"
	"github.com/ztlab/zt-lab/infra/local"
	"github.com/ztlab/zt-lab/mesh"
)

// consulBinary finds the consul the lab runs: bin/consul at the top of the
// repository, else wherever FindConsul looks. Without one the tests skip,
// except in CI, where `make test` builds it first.
func consulBinary(t testing.TB) mesh.Binary {
	t.Helper()
	flag := ""
	if p, err := filepath.Abs("../../bin/consul"); err == nil {
		if _, err := os.Stat(p); err == nil {
			flag = p
		}
	}
	b, err := mesh.FindConsul(context.Background(), flag)
	if err != nil {
		if os.Getenv("CI") == "" && errors.Is(err, mesh.ErrNoConsul) {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	return b
}

func newLab(t testing.TB) infra.Lab {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	lab, err := local.New().Up(ctx, infra.DefaultTopology(), nil)
	if err != nil {
		t.Fatalf("lab up: %v", err)
	}
	t.Cleanup(func() {
		lab.Close(context.Background())
		if left := consulProcs(); len(left) > 0 {
			t.Errorf("consul processes left after the lab closed: %v", left)
		}
	})
	return lab
}

func host(t testing.TB, lab infra.Lab, name string) infra.Host {
	t.Helper()
	h, ok := lab.Host(name)
	if !ok {
		t.Fatalf("no host %s", name)
	}
	return h
}

func self(t testing.TB) string {
	t.Helper()
	p, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// startFortune runs the fortune service on h, as the earlier scenes do.
func startFortune(t testing.TB, h infra.Host, listen string) infra.Proc {
	t.Helper()
	p, err := h.Start(context.Background(), infra.ProcSpec{
		Name: "fortune",
		Argv: []string{self(t), "fortune", "serve", "--listen", listen, "--seed", "7"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func newCluster(t testing.TB, lab infra.Lab, bin mesh.Binary) *mesh.Cluster {
	t.Helper()
	c, err := mesh.New(lab, bin, mesh.Options{
		Self:        self(t),
		FortuneArgs: []string{"--seed", "7"},
		Progress:    func(line string) { t.Logf("mesh: %s", line) },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := c.Close(ctx); err != nil {
			t.Errorf("close the cluster: %v", err)
		}
	})
	return c
}

// consulProcs lists the consul processes this sandbox can see.
func consulProcs() []string {
	ents, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		comm, err := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
		if err == nil && strings.TrimSpace(string(comm)) == "consul" {
			out = append(out, e.Name())
		}
	}
	return out
}

func require(t *testing.T, ch check.Check) {
	t.Helper()
	for _, e := range ch.Evidence {
		t.Logf("  %s", e)
	}
	if !ch.Pass {
		t.Fatalf("check failed: %s", ch.Name)
	}
	t.Logf("PASS %s", ch.Name)
}

// TestMesh walks the seeds' story in a real lab: consul up, the fortune
// service registered, then behind sidecars, rebound to loopback, guarded
// by intentions, its identity shown and its CA rotated — every step
// proved by its check.
func TestMesh(t *testing.T) {
	bin := consulBinary(t)
	lab := newLab(t)
	fcs, fcc := host(t, lab, "fcs00"), host(t, lab, "fcc00")
	startFortune(t, fcs, "0.0.0.0:8181")
	c := newCluster(t, lab, bin)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	start := time.Now()
	if err := c.Up(ctx); err != nil {
		t.Fatalf("up: %v", err)
	}
	upTook := time.Since(start)
	require(t, c.CheckLeader(ctx))
	require(t, c.CheckRaftPeers(ctx, 3))
	require(t, c.CheckMembers(ctx))
	require(t, c.CheckLearnerToken(ctx, fcc))

	if err := c.RegisterPlaintext(ctx); err != nil {
		t.Fatal(err)
	}
	require(t, c.CheckPlaintextRegistered(ctx))
	plain := latency(t, fcc, "fcs00:8181")

	secureStart := time.Now()
	if err := c.Secure(ctx); err != nil {
		t.Fatalf("secure: %v", err)
	}
	secureTook := time.Since(secureStart)
	tm := c.Timings()
	t.Logf("FIGURE mesh ready %s (Up %s + Secure %s, the plaintext step between left out): servers answer %s, leader %s, Connect CA %s, clients joined %s",
		(upTook + secureTook).Round(time.Millisecond), upTook.Round(time.Millisecond), secureTook.Round(time.Millisecond),
		tm.ServersUp.Round(time.Millisecond), tm.Leader.Round(time.Millisecond), tm.ConnectCA.Round(time.Millisecond), tm.ClientsJoined.Round(time.Millisecond))
	require(t, c.CheckSidecars(ctx))
	require(t, c.CheckMeshFortune(ctx))
	// Behind its sidecar, fcs is no longer the plaintext service it was.
	if ch := c.CheckPlaintextRegistered(ctx); ch.Pass || ch.Name == "" {
		t.Errorf("with fcs in the mesh the plaintext check still passes: %s", ch)
	} else {
		t.Logf("after Secure, as it should: %s", ch)
	}
	viaMesh := latency(t, fcc, "127.0.0.1:9191")
	if plain.p50 > 0 {
		t.Logf("FIGURE fetch latency, new connection each: plaintext p50 %s p99 %s; mesh p50 %s p99 %s; ratio p50 %.1fx p99 %.1fx",
			plain.p50, plain.p99, viaMesh.p50, viaMesh.p99, float64(viaMesh.p50)/float64(plain.p50), float64(viaMesh.p99)/float64(plain.p99))
	}
	pss, rss, anon := labMemory()
	t.Logf("FIGURE lab memory with the mesh up: PSS %d MB (RSS %d MB, of which anonymous %d MB: the rest is the consul binary's pages, shared)", pss>>20, rss>>20, anon>>20)

	if err := c.Rebind(ctx); err != nil {
		t.Fatalf("rebind: %v", err)
	}
	require(t, c.CheckPlaintextRefused(ctx))
	require(t, c.CheckMeshFortune(ctx))

	// A rogue service on a host of its own, with its own sidecar: before
	// any intention, the mesh lets it in.
	rh, err := lab.AddHost(ctx, infra.HostSpec{Name: "rogue00", Role: infra.RoleOther})
	if err != nil {
		t.Fatal(err)
	}
	rogue := mesh.Consumer{Host: rh, Name: "rogue", Port: mesh.MeshPort}
	if err := c.AddConsumer(ctx, rogue); err != nil {
		t.Fatalf("add the rogue: %v", err)
	}
	if out, err := c.Fetch(ctx, rh, rogue.Upstream()); err != nil {
		t.Fatalf("before intentions the rogue should read a fortune, got %v", err)
	} else {
		t.Logf("before intentions, the rogue reads: %q", strings.SplitN(out, "\n", 2)[0])
	}
	for _, i := range mesh.LabIntentions {
		t.Logf("learner: %s", i.Command())
	}
	if err := c.ApplyIntentions(ctx, mesh.LabIntentions); err != nil {
		t.Fatalf("intentions: %v", err)
	}
	require(t, c.CheckDenied(ctx, rogue))
	// Nor can it change the rules: not over the wire, not through its agent.
	strangers, err := c.TryAsStranger(ctx, rogue)
	if err != nil {
		t.Fatalf("the rogue's attempts: %v", err)
	}
	require(t, mesh.CheckStrangers(strangers))
	require(t, c.CheckMeshFortune(ctx))
	require(t, c.CheckIdentities(ctx))

	rot, err := c.Rotate(ctx)
	if err != nil {
		t.Fatalf("rotate: %v", err)
	}
	require(t, c.CheckRotation(ctx, rot))
	t.Logf("FIGURE CA rotation: new root active after %s, every leaf re-issued after %s",
		rot.RootActive.Round(time.Millisecond), rot.Reissued.Round(time.Millisecond))
	require(t, c.CheckMembers(ctx))

	if err := c.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
	if left := consulProcs(); len(left) > 0 {
		t.Errorf("consul processes left after Close: %v", left)
	}
}

type fetchLatency struct{ p50, p99 time.Duration }

// latency fetches fortunes from addr on h for 3 s, a new connection each
// time, and returns the percentiles.
func latency(t *testing.T, h infra.Host, addr string) fetchLatency {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := h.Run(ctx, self(t), "fortune", "get", addr, "--every", "20ms", "--for", "3s")
	if err != nil {
		t.Fatalf("latency of %s: %v: %s", addr, err, out)
	}
	f := strings.Fields(string(out))
	if len(f) != 5 {
		t.Fatalf("latency of %s: %q", addr, out)
	}
	n := make([]int64, 5)
	for i := range f {
		n[i], _ = strconv.ParseInt(f[i], 10, 64)
	}
	if n[1] > 0 {
		t.Errorf("%s: %d of %d fetches failed", addr, n[1], n[0]+n[1])
	}
	l := fetchLatency{time.Duration(n[2]) * time.Microsecond, time.Duration(n[3]) * time.Microsecond}
	t.Logf("%s: %d fetches, p50 %s, p99 %s", addr, n[0], l.p50, l.p99)
	return l
}

// labMemory sums the PSS and RSS of every process in the sandbox but this
// one: the agents, sidecars and services. PSS counts the pages the 124 MB
// consul binary shares between its processes once.
func labMemory() (pss, rss, anon int64) {
	ents, _ := os.ReadDir("/proc")
	me := strconv.Itoa(os.Getpid())
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil || e.Name() == me {
			continue
		}
		f, err := os.Open(filepath.Join("/proc", e.Name(), "smaps_rollup"))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 2 {
				continue
			}
			kb, _ := strconv.ParseInt(fields[1], 10, 64)
			switch fields[0] {
			case "Pss:":
				pss += kb << 10
			case "Rss:":
				rss += kb << 10
			case "Anonymous:":
				anon += kb << 10
			}
		}
		f.Close()
	}
	return pss, rss, anon
}

// TestAgentFailsToStart puts something on the ports consul needs on two
// hosts: on fcc00's address (serf's port), which the lab sees before
// starting consul, and on fcs00's loopback (gRPC's port), which only
// consul itself trips on. Up must name
// both, with the failed agent's log, and leave nothing running.
func TestAgentFailsToStart(t *testing.T) {
	bin := consulBinary(t)
	lab := newLab(t)
	fcs, fcc := host(t, lab, "fcs00"), host(t, lab, "fcc00")
	startFortune(t, fcs, "127.0.0.1:8502")
	startFortune(t, fcc, fcc.Addr().String()+":8301")
	time.Sleep(300 * time.Millisecond) // both listening
	c := newCluster(t, lab, bin)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := c.Up(ctx)
	if err == nil {
		t.Fatal("up succeeded with consul's ports taken")
	}
	t.Logf("up: %v", err)
	for _, want := range []string{
		"port conflict on fcc00: something already listens on 198.18.0.30:8301",
		"port conflict on fcs00",
		"consul on fcs00 exited",
		"address already in use", // from the agent's log tail
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q", want)
		}
	}
	if err := c.Close(ctx); err != nil {
		t.Errorf("close: %v", err)
	}
	if left := consulProcs(); len(left) > 0 {
		t.Errorf("consul processes left after a failed Up and Close: %v", left)
	}
}

// BenchmarkMeshReady measures the mesh ready from a running lab: three
// servers elected, two clients joined, both sidecars healthy. Run it with
// -benchtime 5x; it reports the median and the worst.
func BenchmarkMeshReady(b *testing.B) {
	bin := consulBinary(b)
	var took []time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		lab := newLab(b)
		startFortune(b, host(b, lab, "fcs00"), "0.0.0.0:8181")
		c, err := mesh.New(lab, bin, mesh.Options{Self: self(b)})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		b.StartTimer()
		start := time.Now()
		err = c.Up(ctx)
		if err == nil {
			err = c.Secure(ctx)
		}
		d := time.Since(start)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		took = append(took, d)
		tm := c.Timings()
		b.Logf("run %d: ready %s (leader %s, CA %s, clients %s, sidecars %s)", i+1, d.Round(time.Millisecond),
			tm.Leader.Round(time.Millisecond), tm.ConnectCA.Round(time.Millisecond), tm.ClientsJoined.Round(time.Millisecond), tm.SidecarsHealthy.Round(time.Millisecond))
		c.Close(ctx)
		cancel()
		lab.Close(context.Background())
	}
	slices.Sort(took)
	med := took[len(took)/2]
	b.ReportMetric(float64(med.Milliseconds()), "ms-median")
	b.ReportMetric(float64(took[len(took)-1].Milliseconds()), "ms-max")
	b.Logf("mesh ready over %d runs: median %s, max %s", len(took), med.Round(time.Millisecond), took[len(took)-1].Round(time.Millisecond))
}
