package scenes

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ztlab/zt-lab/infra"
)

// keyLastFortune is the Env value holding what the consumer printed last.
const keyLastFortune = "last-fortune"

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
	for _, p := range h.Procs() {
		if p.Name() == "fortune" {
			if err := p.Stop(ctx, time.Second); err != nil {
				return err
			}
		}
	}
	listen := fmt.Sprintf("%s:%d", bind, FortunePort)
	p, err := h.Start(ctx, infra.ProcSpec{
		Name: "fortune",
		Argv: []string{e.Self, "fortune", "serve", "--listen", listen, "--seed", fmt.Sprint(seed)},
		OnLine: func(line string) {
			e.OnServed(host, line)
		},
	})
	if err != nil {
		return err
	}
	e.Logf("%s: zt-lab fortune serve --listen %s", host, listen)
	err = waitUntil(ctx, 5*time.Millisecond, func() bool {
		select {
		case <-p.Done():
			return true
		default:
		}
		return listeningLine(p) != ""
	})
	if l := listeningLine(p); l != "" {
		e.Logf("%s: %s", host, l)
		return nil
	}
	if err != nil {
		return fmt.Errorf("the fortune service on %s did not start: %w", host, err)
	}
	return fmt.Errorf("the fortune service on %s exited: %s", host, strings.Join(p.Tail(5), " | "))
}

func listeningLine(p infra.Proc) string {
	for _, l := range p.Tail(20) {
		if strings.HasPrefix(l, "serving ") {
			return l
		}
	}
	return ""
}

// checkListening proves the fortune service says it listens on bind.
func (e *Env) checkListening(_ context.Context, host, bind string) Check {
	name := fmt.Sprintf("fortune service listens on %s:%d", bind, FortunePort)
	h, err := e.Host(host)
	if err != nil {
		return Failf(name, "%v", err)
	}
	for _, p := range h.Procs() {
		if p.Name() != "fortune" {
			continue
		}
		if l := listeningLine(p); strings.Contains(l, fmt.Sprintf(" %s:%d", bind, FortunePort)) {
			return Passf(name, "%s (pid %d): %s", host, p.PID(), l)
		}
		return Failf(name, "%s: the service said: %s", host, strings.Join(p.Tail(3), " | "))
	}
	return Failf(name, "no fortune service runs on %s", host)
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
	e.Set(keyLastFortune, text)
	e.ConsumerLine(fmt.Sprintf("%s$ nc %s", host, strings.Replace(addr, ":", " ", 1)))
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		e.ConsumerLine(l)
		e.Logf("%s", l)
	}
	return text, nil
}
