package scenes

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/ztlab/zt-lab/check"
	"github.com/ztlab/zt-lab/infra"
)

// StartFortune (re)starts the fortune service on host, bound to bind:8181,
// and waits until it listens. Every fortune it serves is recorded.
func (e *Env) StartFortune(ctx context.Context, host, bind string) error {
	return e.startFortuneSeed(ctx, host, bind, e.Seed)
}

func (e *Env) startFortuneSeed(ctx context.Context, host, bind string, seed int64) error {
	h, err := e.Host(host)
	if err != nil {
		return err
	}
	e.Logf("%s: zt-lab fortune serve --listen %s:%d", host, bind, FortunePort)
	line, err := RunFortune(ctx, h, e.Self, bind, seed, func(l string) { e.OnServed(host, l) })
	if err != nil {
		return err
	}
	e.Logf("%s: %s", host, line)
	return nil
}

// RunFortune (re)starts `zt-lab fortune serve` on h, bound to bind:8181,
// and returns once it says it listens, with that line. It waits for the
// service's word rather than probing: a probe would take a fortune from
// the seeded sequence. onLine, if set, sees every line it writes.
func RunFortune(ctx context.Context, h infra.Host, self, bind string, seed int64, onLine func(string)) (string, error) {
	for _, p := range h.Procs() {
		if p.Name() == "fortune" {
			if err := p.Stop(ctx, time.Second); err != nil {
				return "", err
			}
		}
	}
	listen := fmt.Sprintf("%s:%d", bind, FortunePort)
	p, err := h.Start(ctx, infra.ProcSpec{
		Name:   "fortune",
		Argv:   []string{self, "fortune", "serve", "--listen", listen, "--seed", fmt.Sprint(seed)},
		OnLine: onLine,
	})
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err = waitUntil(ctx, 5*time.Millisecond, func() bool {
		select {
		case <-p.Done():
			return true
		default:
		}
		return listeningLine(p) != ""
	})
	if l := listeningLine(p); l != "" {
		return l, nil
	}
	if err != nil {
		return "", fmt.Errorf("the fortune service on %s did not start listening: %w", h.Name(), err)
	}
	return "", fmt.Errorf("the fortune service on %s exited: %s", h.Name(), strings.Join(p.Tail(5), " | "))
}

func listeningLine(p infra.Proc) string {
	for _, l := range p.Tail(20) {
		if strings.HasPrefix(l, "serving ") {
			return l
		}
	}
	return ""
}

// checkListening proves the fortune service listens on bind:8181 and
// nowhere else, from the kernel's own table of sockets in the host's
// network namespace (/proc/net/tcp read by a process on the host).
func (e *Env) checkListening(ctx context.Context, host, bind string) check.Check {
	name := fmt.Sprintf("fortune service listens on %s:%d", bind, FortunePort)
	h, err := e.Host(host)
	if err != nil {
		return check.Failf(name, "%v", err)
	}
	out, err := h.Run(ctx, "cat", "/proc/net/tcp")
	if err != nil {
		return check.Failf(name, "read the sockets of %s: %v", host, err)
	}
	listening := listeners(string(out), FortunePort)
	want := netip.MustParseAddr(bind)
	if len(listening) != 1 || listening[0] != want {
		return check.Failf(name, "%s listens on port %d at %v, want %s only", host, FortunePort, listening, bind)
	}
	c := check.Passf(name, "%s's kernel: a socket in LISTEN on %s:%d and on no other address", host, bind, FortunePort)
	for _, p := range h.Procs() {
		if p.Name() == "fortune" {
			c.Evidence = append(c.Evidence, fmt.Sprintf("the service (pid %d) says: %s", p.PID(), listeningLine(p)))
		}
	}
	return c
}

// listeners parses /proc/net/tcp and returns the local addresses that
// listen on port.
func listeners(table string, port uint16) []netip.Addr {
	var out []netip.Addr
	for _, line := range strings.Split(table, "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 4 || f[3] != "0A" { // TCP_LISTEN
			continue
		}
		hexAddr, hexPort, ok := strings.Cut(f[1], ":")
		p, err1 := strconv.ParseUint(hexPort, 16, 16)
		a, err2 := strconv.ParseUint(hexAddr, 16, 32)
		if !ok || err1 != nil || err2 != nil || uint16(p) != port {
			continue
		}
		// The kernel prints the address as a host-order (little-endian) word.
		out = append(out, netip.AddrFrom4([4]byte{byte(a), byte(a >> 8), byte(a >> 16), byte(a >> 24)}))
	}
	return out
}

// Consume runs the consumer once on host against addr, as `nc fcs00 8181`
// would, and records what it printed.
func (e *Env) Consume(ctx context.Context, host, addr string) (string, error) {
	h, err := e.Host(host)
	if err != nil {
		return "", err
	}
	out, err := h.Run(ctx, e.Self, "fortune", "get", addr, "--timeout", "2s")
	text := string(out)
	if err != nil {
		line := fmt.Sprintf("%s -> %s: %s", host, addr, strings.TrimSpace(text))
		e.ConsumerLine(line)
		e.Logf("%s", line)
		return text, fmt.Errorf("%s could not get a fortune from %s: %s", host, addr, strings.TrimSpace(text))
	}
	e.keep(func(s *walkState) { s.lastFortune = text })
	e.ConsumerLine(fmt.Sprintf("%s$ nc %s", host, strings.Replace(addr, ":", " ", 1)))
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		e.ConsumerLine(l)
		e.Logf("%s", l)
	}
	return text, nil
}
