package scenes

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ztlab/zt-lab/fortune"
	"github.com/ztlab/zt-lab/infra"
	"github.com/ztlab/zt-lab/mesh"
	"github.com/ztlab/zt-lab/sniffer"
)

// Env is the world the scenes act on, and what the screens read: the lab,
// the sniffer on its wire, what the fortune service served, what the
// consumer received. Screens read it through its methods; only steps
// change it. The engine hands each step a view of its Env: the same
// world, with what the step logs reported as that step's.
type Env struct {
	// Build makes a new lab at stage 0 (hosts up, nothing running).
	Build func(ctx context.Context) (infra.Lab, error)
	// Self is the zt-lab binary, run on hosts as the fortune service and
	// consumer.
	Self string
	// Consul is the consul binary the mesh scenes run.
	Consul string
	// Seed makes the fortune sequence repeatable for recordings.
	Seed int64
	// Provider names what the lab runs on, as the report card says it:
	// "local (namespaces on this machine)".
	Provider string

	// world is made by New and shared by the engine's Env and every
	// step's view of it: an Env is ready once New has taken it.
	*world
	// at is the step this view was handed to; nil on the engine's own Env.
	at *stepAt
}

// stepAt names one step of the walkthrough.
type stepAt struct{ scene, step int }

// world is everything the Env and its step views share.
type world struct {
	emit func(Event)
	// tally counts the engine's results but those of one scene.
	tally func(except int) Tally
	// running is the step run last: where lines that come from no step's
	// view are reported (the mesh's progress, a provider's, the screens').
	running atomic.Pointer[stepAt]

	mu       sync.Mutex
	lab      infra.Lab
	cluster  *mesh.Cluster
	capture  *sniffer.Capture
	analyzer *sniffer.Analyzer
	pumpDone chan struct{}
	spool    *sniffer.Spool   // every frame of every capture of this lab, for the key search
	packets  []sniffer.Packet // the newest, for the screens
	served   []string         // every fortune the service sent
	servedBy []served         // the newest, with the instance that sent each
	consumer []string         // the consumer's log, newest last
	kept     walkState        // what steps hand to later steps
}

// forStep is the view of e that step j of scene i is handed, and makes
// that step the one run last.
func (e *Env) forStep(i, j int) *Env {
	at := &stepAt{scene: i, step: j}
	e.running.Store(at)
	return &Env{Build: e.Build, Self: e.Self, Consul: e.Consul, Seed: e.Seed, Provider: e.Provider, world: e.world, at: at}
}

// position is the step this view was handed to; on the engine's own
// Env, the step run last (0, 0 before any has run).
func (e *Env) position() (scene, step int) {
	at := e.at
	if at == nil && e.world != nil {
		at = e.running.Load()
	}
	if at == nil {
		return 0, 0
	}
	return at.scene, at.step
}

// report emits ev as the view's step's: see position.
func (e *Env) report(ev Event) {
	if e.world == nil || e.emit == nil {
		return
	}
	ev.Scene, ev.Step = e.position()
	e.emit(ev)
}

// Tally is what the walkthrough has checked so far in every scene but
// this view's own.
func (e *Env) Tally() Tally {
	if e.world == nil || e.tally == nil {
		return Tally{}
	}
	scene, _ := e.position()
	return e.tally(scene)
}

// maxPackets and maxLines bound what the screens can be shown.
const (
	maxPackets = 10000
	maxLines   = 500
)

// Logf reports a line of output from the step this view was handed to;
// on the engine's own Env, from the step run last.
func (e *Env) Logf(format string, args ...any) {
	e.report(Event{Kind: Output, Text: fmt.Sprintf(format, args...)})
}

// LabChanged tells the screens the lab's shape or state changed.
func (e *Env) LabChanged() {
	e.report(Event{Kind: LabChanged})
}

// Lab is the running lab, or nil before the first scene.
func (e *Env) Lab() infra.Lab {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.lab
}

// Host returns a host of the running lab, or an error naming it.
func (e *Env) Host(name string) (infra.Host, error) {
	l := e.Lab()
	if l == nil {
		return nil, errors.New("no lab yet")
	}
	h, ok := l.Host(name)
	if !ok {
		return nil, fmt.Errorf("the lab has no host %s", name)
	}
	return h, nil
}

// Reset ends the lab and builds a new one.
func (e *Env) Reset(ctx context.Context) error {
	if err := e.Close(ctx); err != nil {
		return fmt.Errorf("ending the lab: %w", err)
	}
	l, err := e.Build(ctx)
	if err != nil {
		return err
	}
	e.mu.Lock()
	e.lab = l
	e.kept = walkState{}
	e.mu.Unlock()
	e.LabChanged()
	return nil
}

// Cluster is the mesh, once the servers scene has started it.
func (e *Env) Cluster() *mesh.Cluster {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cluster
}

// Close stops the sniffer, the mesh and the lab, and says what it could
// not end.
func (e *Env) Close(ctx context.Context) error {
	e.StopSniffer()
	e.mu.Lock()
	l, c := e.lab, e.cluster
	e.lab, e.cluster = nil, nil
	e.packets, e.served, e.servedBy, e.consumer = nil, nil, nil, nil
	e.analyzer = nil
	spool := e.spool
	e.spool = nil
	e.mu.Unlock()
	if spool != nil {
		spool.Close()
	}
	var errs []error
	if c != nil {
		errs = append(errs, c.Close(ctx))
	}
	if l != nil {
		errs = append(errs, l.Close(ctx))
	}
	return errors.Join(errs...)
}

// served is one fortune an instance sent.
type served struct {
	host, first string // the instance, and the fortune's first line
}

// maxServedBy bounds the record of who served what.
const maxServedBy = 2000

// OnServed is the output handler of the fortune service on host: it
// records every fortune sent, so the sniffer can look for exactly that
// text and the timeline can say which instance served a fetch.
func (e *Env) OnServed(host, line string) {
	_, text, ok := fortune.ParseServed(line)
	if !ok {
		return
	}
	first, _, _ := strings.Cut(text, "\n")
	e.mu.Lock()
	e.servedBy = append(e.servedBy, served{host, first})
	if len(e.servedBy) > maxServedBy {
		e.servedBy = slices.Delete(e.servedBy, 0, maxServedBy/10)
	}
	e.served = append(e.served, text)
	a := e.analyzer
	e.mu.Unlock()
	if a != nil {
		a.AddKnown(text)
	}
}

// Served lists every fortune the service has sent.
func (e *Env) Served() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.served)
}

// ConsumerLine adds a line to the consumer's log.
func (e *Env) ConsumerLine(line string) {
	e.mu.Lock()
	e.consumer = append(e.consumer, line)
	if len(e.consumer) > maxLines {
		e.consumer = slices.Delete(e.consumer, 0, len(e.consumer)-maxLines)
	}
	e.mu.Unlock()
}

// ConsumerLog returns up to n of the consumer's newest lines.
func (e *Env) ConsumerLog(n int) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	l := e.consumer
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return slices.Clone(l)
}

// StartSniffer captures on the lab's wire, feeding an analyzer that knows
// every fortune served so far.
func (e *Env) StartSniffer() error {
	l := e.Lab()
	if l == nil {
		return errors.New("no lab to sniff")
	}
	e.StopSniffer()
	w := l.Wire()
	c, err := openWire(w)
	if err != nil {
		return err
	}
	a := sniffer.NewAnalyzer(sniffer.Names(w.Names))
	e.mu.Lock()
	for _, f := range e.served {
		a.AddKnown(f)
	}
	e.capture, e.analyzer = c, a
	e.packets = nil
	done := make(chan struct{})
	e.pumpDone = done
	if e.spool == nil {
		if e.spool, err = sniffer.NewSpool(""); err != nil {
			e.mu.Unlock()
			c.Close()
			return err
		}
	}
	spool := e.spool
	e.mu.Unlock()
	go e.pump(c, a, spool, w.Backstage, done)
	return nil
}

// openWire starts a capture of the lab's wire: on an interface here, or on
// a host of the lab with its frames streamed back. It returns once frames
// are being captured.
func openWire(w infra.WireTap) (*sniffer.Capture, error) {
	if w.Open == nil {
		c, err := sniffer.Open(w.Interface, sniffer.Options{})
		if err != nil {
			return nil, fmt.Errorf("sniff %s: %w", w.Interface, err)
		}
		return c, nil
	}
	where, frames, err := w.Open(context.Background())
	if err != nil {
		return nil, fmt.Errorf("sniff: %w", err)
	}
	c, err := sniffer.OpenStream(where, frames, sniffer.Options{})
	if err != nil {
		frames.Close()
		return nil, fmt.Errorf("sniff %s: %w", where, err)
	}
	return c, nil
}

// pump moves frames from the capture to the analyzer and the screens'
// ring, in batches, never holding the capture back.
func (e *Env) pump(c *sniffer.Capture, a *sniffer.Analyzer, spool *sniffer.Spool, backstage netip.Addr, done chan struct{}) {
	defer close(done)
	for p := range c.Packets() {
		spool.Write(p.Data) // every byte, zt-lab's own included: the key search looks at all of it
		if backstage.IsValid() && touches(p.Data, backstage) {
			continue // zt-lab's own API calls: in a pcap export, not in the story
		}
		a.Feed(p)
		e.mu.Lock()
		if len(e.packets) >= maxPackets {
			e.packets = slices.Delete(e.packets, 0, maxPackets/10)
		}
		e.packets = append(e.packets, p)
		e.mu.Unlock()
	}
}

// touches reports whether an Ethernet frame carries IPv4 from or to a.
func touches(frame []byte, a netip.Addr) bool {
	if len(frame) < 34 || frame[12] != 0x08 || frame[13] != 0x00 || !a.Is4() {
		return false
	}
	b := a.As4()
	return [4]byte(frame[26:30]) == b || [4]byte(frame[30:34]) == b
}

// StopSniffer ends the capture, if any.
func (e *Env) StopSniffer() {
	e.mu.Lock()
	c, done := e.capture, e.pumpDone
	e.capture = nil
	e.mu.Unlock()
	if c != nil {
		c.Close()
		<-done
	}
}

// Analyzer is the analyzer of the current or last capture, or nil.
func (e *Env) Analyzer() *sniffer.Analyzer {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.analyzer
}

// Capture is the running capture, or nil.
func (e *Env) Capture() *sniffer.Capture {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.capture
}

// Packets returns up to n of the newest captured frames.
func (e *Env) Packets(n int) []sniffer.Packet {
	e.mu.Lock()
	defer e.mu.Unlock()
	p := e.packets
	if len(p) > n {
		p = p[len(p)-n:]
	}
	return slices.Clone(p)
}

// Names maps lab addresses to host names.
func (e *Env) Names() map[netip.Addr]string {
	if l := e.Lab(); l != nil {
		return l.Wire().Names
	}
	return nil
}

// WritePcap saves the capture so far to path, whole or not at all, for
// its owner only (sniffer.SavePcap).
func (e *Env) WritePcap(path string) error {
	c := e.Capture()
	if c == nil {
		return errors.New("no capture is running")
	}
	return sniffer.SavePcap(path, c.WritePcap)
}

// waitUntil polls ok until it holds or ctx ends; for the few things no API
// can be watched for.
func waitUntil(ctx context.Context, every time.Duration, ok func() bool) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for !ok() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}
