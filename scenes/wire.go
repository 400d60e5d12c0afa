package scenes

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/ztlab/zt-lab/check"
	"github.com/ztlab/zt-lab/sniffer"
)

// checkWire proves what the sniffer saw of the flows from one host to a
// port of another: every such flow has verdict want, and a PLAINTEXT
// verdict shows the exact fortune the consumer printed, an ENCRYPTED one
// no byte of any fortune served. Frames reach the analyzer a moment after
// the consumer is done, so it measures again until the claim holds or two
// seconds pass, and reports the last measurement.
func (e *Env) checkWire(ctx context.Context, name, from, to string, port uint16, want sniffer.Kind) check.Check {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if want == sniffer.Plaintext {
		// A positive claim: one sighting of the fortune proves it.
		var c check.Check
		_ = waitUntil(ctx, 20*time.Millisecond, func() bool {
			c = e.measureWire(name, from, to, port, want)
			return c.Pass
		})
		return c
	}
	// A negative claim is measured once, on all the evidence: when the
	// service has reported the consumer's fortune and every flow to the
	// port has closed.
	got := e.state().lastFortune
	_ = waitUntil(ctx, 20*time.Millisecond, func() bool {
		if got != "" && !slices.Contains(e.Served(), got) {
			return false
		}
		return e.flowsClosed(to, port)
	})
	return e.measureWire(name, from, to, port, want)
}

// flowsClosed reports whether every captured flow to host:port has seen
// its FIN or RST.
func (e *Env) flowsClosed(to string, port uint16) bool {
	a := e.Analyzer()
	h, err := e.Host(to)
	if a == nil || err != nil {
		return false
	}
	n := 0
	for _, f := range a.Flows() {
		if f.Key.Server.Addr() == h.Addr() && f.Key.Server.Port() == port {
			n++
			if !f.Closed {
				return false
			}
		}
	}
	return n > 0
}

func (e *Env) measureWire(name, from, to string, port uint16, want sniffer.Kind) check.Check {
	a := e.Analyzer()
	if a == nil {
		return check.Failf(name, "no capture ran")
	}
	client, err1 := e.Host(from)
	server, err2 := e.Host(to)
	if err1 != nil || err2 != nil {
		return check.Failf(name, "hosts: %v %v", err1, err2)
	}
	got := e.state().lastFortune
	var flows []sniffer.FlowSummary
	for _, f := range a.Flows() {
		if f.Key.Client.Addr() == client.Addr() && f.Key.Server.Addr() == server.Addr() && f.Key.Server.Port() == port {
			flows = append(flows, f)
		}
	}
	if len(flows) == 0 {
		return check.Failf(name, "no flow %s > %s:%d was captured", from, to, port)
	}
	var ev []string
	pass, found := true, false
	for _, f := range flows {
		v := f.Verdict
		ev = append(ev, fmt.Sprintf("%s: %s", f.Direction(a.Names(), 0), v))
		if v.Kind != want {
			pass = false
			continue
		}
		switch want {
		case sniffer.Plaintext:
			found = found || (v.Fortune != "" && v.Fortune == strings.TrimSpace(got))
		case sniffer.Encrypted:
			if v.KnownBytes != 0 {
				pass = false
				ev = append(ev, fmt.Sprintf("%d bytes of served fortunes on the wire", v.KnownBytes))
			}
			if !looksLikeNoise(v.Entropy, v.EntropyBytes) {
				pass = false
				ev = append(ev, fmt.Sprintf("  its payload has %.2f bits/byte over %d bytes, under %.0f%% of the %.2f a sample that size can have: not noise", v.Entropy, v.EntropyBytes, 100*noiseShare, maxEntropy(v.EntropyBytes)))
			} else {
				ev = append(ev, fmt.Sprintf("  payload entropy %.2f bits/byte over %d bytes (noise: ≥ %.2f)", v.Entropy, v.EntropyBytes, noiseShare*maxEntropy(v.EntropyBytes)))
			}
		}
	}
	switch {
	case want == sniffer.Plaintext && !found:
		pass = false
		ev = append(ev, fmt.Sprintf("the fortune fcc00 printed (%q) was not found whole on the wire", firstLine(got)))
	case want == sniffer.Plaintext:
		ev = append(ev, "the stolen fortune, read off the wire:")
		ev = append(ev, indent(got)...)
	default:
		// Nothing of a fortune anywhere on the wire, not only on this port.
		known, scanned := 0, 0
		for _, f := range a.Flows() {
			known += f.Verdict.KnownBytes
			scanned += f.Verdict.ScannedBytes
			if f.Verdict.KnownBytes > 0 {
				ev = append(ev, fmt.Sprintf("%s carries %d bytes of served fortunes", f.Direction(a.Names(), 0), f.Verdict.KnownBytes))
			}
		}
		if known > 0 {
			pass = false
		} else if pass {
			ev = append(ev, fmt.Sprintf("0 bytes of %d served fortunes in %d payload bytes on the whole wire", len(e.Served()), scanned))
		}
	}
	return check.Check{Name: name, Pass: pass, Evidence: ev}
}

// noiseShare is how much of the most entropy a sample can have the
// payload the mesh carries must reach for the encrypted scene's "looks
// like noise, close to 8 bits per byte". The lab's mTLS payload measured
// 7.89 bits/byte; the lab's fortunes, as text, 4.8.
const noiseShare = 0.85

// maxEntropy is the most entropy, in bits per byte, n bytes can show: 8,
// or log2(n) for fewer than 256 bytes, which cannot each be another
// value.
func maxEntropy(n int) float64 {
	if n < 1 {
		return 0
	}
	return math.Min(8, math.Log2(float64(n)))
}

// looksLikeNoise reports whether n bytes of payload measured bits per
// byte are ciphertext as the sniffer tells it: at least noiseShare of
// the most a sample of n bytes can have. No payload measured is no
// evidence.
func looksLikeNoise(bits float64, n int) bool {
	return n > 0 && bits >= noiseShare*maxEntropy(n)
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}

func indent(s string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		out = append(out, "  "+l)
	}
	return out
}
