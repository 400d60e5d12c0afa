// Package bench measures the lab's figures on this machine — how fast the
// lab comes up and goes down, how soon the mesh is ready, what the mesh
// costs per fortune, how much the sniffer keeps up with, how much memory
// the whole lab takes — over several runs, for `zt-lab bench`.
package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ztlab/zt-lab/fortune"
	"github.com/ztlab/zt-lab/infra"
	"github.com/ztlab/zt-lab/infra/local"
	"github.com/ztlab/zt-lab/scenes"
	"github.com/ztlab/zt-lab/sniffer"
)

// Figure is one measured quantity over every run.
type Figure struct {
	Name   string    `json:"name"`
	Unit   string    `json:"unit"`
	Target *Target   `json:"target,omitempty"`
	Values []float64 `json:"values"`
}

// MarshalJSON writes the figure with its summary and verdict beside the
// values, so a script reads numbers, not the table's text.
func (f Figure) MarshalJSON() ([]byte, error) {
	type plain Figure
	out := struct {
		plain
		Median float64 `json:"median"`
		Min    float64 `json:"min"`
		Max    float64 `json:"max"`
		Met    *bool   `json:"met,omitempty"`
	}{plain: plain(f)}
	if len(f.Values) > 0 {
		out.Median, out.Min, out.Max = f.Median(), f.Min(), f.Max()
		if f.Target != nil {
			met := f.Target.Met(out.Median)
			out.Met = &met
		}
	}
	return json.Marshal(out)
}

// Median, Min and Max summarise the runs.
func (f Figure) Median() float64 {
	v := slices.Clone(f.Values)
	slices.Sort(v)
	if len(v) == 0 {
		return 0
	}
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func (f Figure) Min() float64 { return slices.Min(f.Values) }
func (f Figure) Max() float64 { return slices.Max(f.Values) }

// Report is every figure, in the order measured.
type Report struct {
	Date    time.Time `json:"date"`
	Runs    int       `json:"runs"`
	Figures []*Figure `json:"figures"`
}

func (r *Report) add(name, unit string, target *Target, v float64) {
	for _, f := range r.Figures {
		if f.Name == name {
			f.Values = append(f.Values, v)
			return
		}
	}
	r.Figures = append(r.Figures, &Figure{Name: name, Unit: unit, Target: target, Values: []float64{v}})
}

// Options say what to run the walkthrough with.
type Options struct {
	Runs     int
	Topology infra.Topology
	Self     string // the zt-lab binary
	Consul   string // the consul binary
	Seed     int64
	// Failures and Failovers, for Repeat, are how many instance failures
	// and leader crashes to measure.
	Failures, Failovers int
	// Only, when not empty, names the groups of figures to measure (see
	// Groups); the walkthrough then stops as soon as the last of them is
	// measured.
	Only []string
	// Progress receives a line per measurement.
	Progress io.Writer
}

// Groups are the figures that can be measured alone (--only): the lab's
// hosts up and down; the sniffer live and in memory; fetch latency in the
// clear and through the mesh; the lab's memory with the mesh up, process by
// process; the whole walkthrough with its failures, the scaled-out lab's
// memory and zt-lab's own RSS at its end.
var Groups = []string{"lab", "sniffer", "latency", "memory", "walkthrough"}

// wants says whether the figures of group g are to be measured.
func (o Options) wants(g string) bool { return len(o.Only) == 0 || slices.Contains(o.Only, g) }

// walksThrough says whether any figure needs the walkthrough at all.
func (o Options) walksThrough() bool {
	return o.wants("sniffer") || o.wants("latency") || o.wants("memory") || o.wants("walkthrough")
}

// Run measures every figure Runs times, inside the sandbox.
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.Runs < 1 {
		o.Runs = 1
	}
	r := &Report{Date: time.Now(), Runs: o.Runs}
	say := func(format string, args ...any) {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, format+"\n", args...)
		}
	}
	for i := range o.Runs {
		if o.wants("lab") {
			if err := upDown(ctx, o, r, i == 0); err != nil {
				return r, err
			}
			say("run %d/%d: lab up and down", i+1, o.Runs)
		}
		if !o.walksThrough() {
			continue
		}
		// Each run's figures are a lab's, as a fresh zt-lab would drive
		// it: the heap the last run left behind is given back first.
		freeHeap()
		if err := walkthrough(ctx, o, r, say); err != nil {
			return r, fmt.Errorf("run %d: %w", i+1, err)
		}
	}
	return r, nil
}

// upDown measures the five hosts coming up and going away.
func upDown(ctx context.Context, o Options, r *Report, first bool) error {
	start := time.Now()
	l, err := local.New().Up(ctx, o.Topology, nil)
	if err != nil {
		return err
	}
	r.add("lab up (5 hosts)", "ms", atMost(300), ms(time.Since(start)))
	if rss, ok := selfRSS(); ok && first {
		// Only before any walkthrough has grown this process's heap.
		r.add("zt-lab RSS, idle lab up", "MB", atMost(50), float64(rss>>20))
	}
	start = time.Now()
	if err := l.Close(ctx); err != nil {
		return err
	}
	r.add("lab down", "ms", atMost(200), ms(time.Since(start)))
	return nil
}

// walkthrough runs every scene, measuring along the way: the plaintext
// fetch latency once the service runs, the sniffer while the consumer
// fetches as fast as it can, the mesh latency once the sidecars are up,
// and the lab's memory at the end.
func walkthrough(ctx context.Context, o Options, r *Report, say func(string, ...any)) (rerr error) {
	env := &scenes.Env{Self: o.Self, Consul: o.Consul, Seed: o.Seed, Provider: "local (namespaces on this machine)"}
	env.Build = func(ctx context.Context) (infra.Lab, error) { return local.New().Up(ctx, o.Topology, nil) }
	ws := scenes.Walkthrough()
	e := scenes.New(env, ws)
	defer func() {
		if err := env.Close(context.Background()); err != nil && rerr == nil {
			rerr = fmt.Errorf("ending the lab: %w", err)
		}
	}()
	index := func(id string) int {
		return slices.IndexFunc(ws, func(s scenes.Scene) bool { return s.ID == id })
	}
	start := time.Now()
	run := func(from, to int) error {
		for i := from; i < to; i++ {
			if err := e.RunScene(ctx, i); err != nil {
				return fmt.Errorf("scene %d (%s): %w", i+1, ws[i].Title, err)
			}
		}
		return nil
	}
	var paused time.Duration // time spent measuring, not walking through
	measure := func(f func() error) error {
		t := time.Now()
		err := f()
		paused += time.Since(t)
		return err
	}

	mitm, sidecars := index("mitm"), index("encrypted")
	if err := run(0, mitm); err != nil {
		return err
	}
	var plain fortune.Summary
	err := measure(func() (err error) {
		if o.wants("latency") {
			plain, err = latency(ctx, env, fmt.Sprintf("%s:%d", scenes.ServiceHost, scenes.FortunePort))
			if err != nil {
				return err
			}
		}
		if o.wants("sniffer") {
			return sniffRate(ctx, env, r)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if o.wants("latency") {
		r.add("fetch p50, plaintext (new connection)", "ms", nil, ms(plain.P50))
		r.add("fetch p99, plaintext (new connection)", "ms", nil, ms(plain.P99))
	}
	if !o.wants("latency") && !o.wants("memory") && !o.wants("walkthrough") {
		return failedCheck(e)
	}
	if err := run(mitm, sidecars); err != nil {
		return err
	}
	var meshed fortune.Summary
	if o.wants("latency") {
		if err := measure(func() (err error) { meshed, err = latency(ctx, env, scenes.MeshAddr); return err }); err != nil {
			return err
		}
		r.add("fetch p50, through the mesh (new connection)", "ms", nil, ms(meshed.P50))
		r.add("fetch p99, through the mesh (new connection)", "ms", nil, ms(meshed.P99))
		if plain.P50 > 0 {
			r.add("mesh / plaintext fetch p50", "×", nil, float64(meshed.P50)/float64(plain.P50))
		}
	}
	// Mesh ready: the servers' step (started, leader elected), the
	// clients' step (joined) and the sidecars' step (healthy), as the
	// engine timed them, each with its check.
	var ready time.Duration
	for _, res := range e.Results() {
		id := ws[res.Scene].ID
		if res.Step == 0 && (id == "servers" || id == "agents" || id == "sidecars") {
			ready += res.Took
		}
	}
	r.add("mesh ready (servers elected, clients joined, sidecars healthy)", "s", atMost(5), ready.Seconds())
	if c := env.Cluster(); c != nil {
		r.add("leader elected after servers start", "s", nil, c.Timings().Leader.Seconds())
	}
	// Memory with the mesh up: five agents and both sidecars.
	if m, err := local.LabMemory(); err == nil && o.wants("memory") {
		r.add("whole lab with the mesh up, PSS", "MB", atMost(235).aiming(180), float64(m.PSS>>20))
		// RSS beside it, with no target: it counts the consul binary's
		// shared pages once per process, so it says how many processes
		// run more than how much memory the lab takes (the hand-made
		// anchor's RSS is about 700 MB for its 220-235 MB of PSS).
		r.add("whole lab with the mesh up, RSS", "MB", nil, float64(m.RSS>>20))
		sayEach(say, "with the mesh up", m)
	}
	if !o.wants("walkthrough") {
		return failedCheck(e)
	}
	if err := run(sidecars, len(ws)); err != nil {
		return err
	}
	r.add("full headless walkthrough", "s", atMost(30).aiming(20), (time.Since(start) - paused).Seconds())
	for _, f := range env.Failures() {
		r.add(fmt.Sprintf("%s: out of the healthy set", f.Mode), "s", atMost(3).aiming(1), f.Detected.Seconds())
	}
	if d, ok := env.Failover(); ok {
		r.add("leader crash: new leader", "s", atMost(3).aiming(1), d.Seconds())
	}
	if lost, ok := env.FailoverLost(); ok {
		r.add("leader crash at 10 fetches/s: fetches failed", "fetches", atMost(0), float64(lost))
	}
	failed, total, err := env.CrashUnderLoad(ctx, scenes.ScaleHosts[0])
	if err != nil {
		return fmt.Errorf("crash under load: %w", err)
	}
	r.add("crash at 10 fetches/s over 30 s (retrying consumer): fetches failed", "%", atMost(5).aiming(0), 100*float64(failed)/float64(max(total, 1)))
	if m, err := local.LabMemory(); err == nil {
		r.add("whole lab scaled out (8 hosts, 5 sidecars), PSS", "MB", nil, float64(m.PSS>>20))
		sayEach(say, "scaled out, at the walkthrough's end", m)
	}
	if rss, ok := selfRSS(); ok {
		r.add("zt-lab RSS, driving the walkthrough (sniffer buffers full)", "MB", nil, float64(rss>>20))
	}
	if err := failedCheck(e); err != nil {
		return err
	}
	say("  plaintext p50 %s, mesh p50 %s", plain.P50, meshed.P50)
	return nil
}

// failedCheck is an error when any check of the scenes run so far failed:
// a figure measured on a lab that does not do what it claims is no figure.
func failedCheck(e *scenes.Engine) error {
	if e.Failed() {
		return errors.New("a check failed during the walkthrough: run zt-lab run to see which")
	}
	return nil
}

// sayEach prints every process's memory and CPU time so far.
func sayEach(say func(string, ...any), when string, m local.Memory) {
	say("  memory %s, process by process:", when)
	for _, p := range m.Each {
		say("    PSS %6.1f MB  RSS %6.1f MB  CPU %5.2f s  %s", mb(p.PSS), mb(p.RSS), p.CPU.Seconds(), p.Cmd)
	}
}

// freeHeap collects and returns every free page of this process's heap
// to the system.
func freeHeap() { debug.FreeOSMemory() }

func mb(b uint64) float64 { return float64(b) / (1 << 20) }

// latency fetches a fortune every 10 ms for 2 s on the consumer host,
// each on a new connection, and returns the consumer's own summary.
func latency(ctx context.Context, env *scenes.Env, addr string) (fortune.Summary, error) {
	h, err := env.Host(scenes.ConsumerHost)
	if err != nil {
		return fortune.Summary{}, err
	}
	out, err := h.Run(ctx, env.Self, "fortune", "get", addr, "--every", "10ms", "--for", "2s")
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	s, perr := fortune.ParseSummary(lines[len(lines)-1])
	if err != nil || perr != nil {
		return s, fmt.Errorf("fetch from %s: %v %v: %s", addr, err, perr, lines[len(lines)-1])
	}
	if s.Failed > 0 {
		return s, fmt.Errorf("fetch from %s: %d of %d failed", addr, s.Failed, s.OK+s.Failed)
	}
	return s, nil
}

// sniffRate captures while the consumer fetches 1,000 fortunes as fast as
// it can, and records the rate the sniffer kept up with and its drops.
func sniffRate(ctx context.Context, env *scenes.Env, r *Report) error {
	if err := env.StartSniffer(); err != nil {
		return err
	}
	h, err := env.Host(scenes.ConsumerHost)
	if err != nil {
		return err
	}
	before := env.Capture().Stats()
	start := time.Now()
	out, err := h.Run(ctx, env.Self, "fortune", "get", fmt.Sprintf("%s:%d", scenes.ServiceHost, scenes.FortunePort), "--every", "1us", "--for", "60s", "--count", "1000")
	took := time.Since(start)
	if err != nil {
		return fmt.Errorf("1,000 fetches: %v: %s", err, lastLine(out))
	}
	time.Sleep(100 * time.Millisecond) // the last frames reach the capture
	st := env.Capture().Stats()
	seen := st.Seen - before.Seen
	r.add("sniffer, live: frames/s while 1,000 fortunes are fetched", "frames/s", nil, float64(seen)/took.Seconds())
	r.add("sniffer, live: frames dropped (kernel + buffer)", "frames", atMost(0), float64(st.KernelDrops+st.BufferDrops-before.KernelDrops-before.BufferDrops))
	rate, err := decodeRate(env)
	if err != nil {
		return err
	}
	// The replay's analyzers are the bench's own work, garbage now: give
	// their heap back before the lab's memory is measured.
	freeHeap()
	r.add("sniffer, in memory: decode + reassemble + classify", "frames/s", atLeast(1_000_000), rate)
	return nil
}

// decodeRate replays the frames just captured through a fresh analyzer,
// in memory, for at least half a second: how fast the sniffer can judge
// the lab's own traffic when the wire is not the limit.
func decodeRate(env *scenes.Env) (float64, error) {
	var buf bytes.Buffer
	if err := env.Capture().WritePcap(&buf); err != nil {
		return 0, err
	}
	frames, err := sniffer.ReadPcap(&buf)
	if err != nil || len(frames) == 0 {
		return 0, fmt.Errorf("read back the capture: %d frames, %v", len(frames), err)
	}
	// A fresh analyzer each pass: the same frames fed twice would take
	// the duplicate-segment path and flatter the figure.
	n, fed := 0, time.Duration(0)
	for fed < 500*time.Millisecond {
		a := sniffer.NewAnalyzer(sniffer.Names(env.Names()))
		for _, f := range env.Served() {
			a.AddKnown(f)
		}
		start := time.Now()
		a.FeedAll(frames)
		a.Flows() // the verdicts are part of the work
		fed += time.Since(start)
		n += len(frames)
	}
	return float64(n) / fed.Seconds(), nil
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// selfRSS is this process's resident memory.
func selfRSS() (uint64, bool) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			var kb uint64
			fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kb)
			return kb << 10, true
		}
	}
	return 0, false
}

// WriteTable prints the report as a table: median, min and max per figure.
func WriteTable(w io.Writer, r *Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "FIGURE\tMEDIAN\tMIN\tMAX\tUNIT\tTARGET\tMEDIAN MEETS IT\n")
	for _, f := range r.Figures {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f.Name, num(f.Median()), num(f.Min()), num(f.Max()), f.Unit, f.Target, verdict(f.Target, f.Median()))
	}
	tw.Flush()
	fmt.Fprintf(w, "%d run(s), %s\n", r.Runs, r.Date.Format("2006-01-02 15:04"))
}

func num(v float64) string {
	switch {
	case v >= 1000:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// WriteJSON saves the report.
func WriteJSON(path string, r *Report) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
