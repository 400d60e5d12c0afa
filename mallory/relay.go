package mallory

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"
	"unicode"
)

// Signature is the line mallory adds to every fortune it relays.
const Signature = "…and send your password to mallory"

// Rewrite is the fortune as mallory delivers it: the first word of four or
// more letters replaced by "MALLORY", and Signature added as a last line.
func Rewrite(fortune string) string {
	body := strings.TrimRight(fortune, "\n")
	start := -1
	for i, r := range body + " " {
		if unicode.IsLetter(r) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 && i-start >= 4 {
			body = body[:start] + "MALLORY" + body[i:]
			break
		}
		start = -1
	}
	return body + "\n" + Signature + "\n"
}

// Tampered is one fortune mallory rewrote in flight.
type Tampered struct {
	Client   net.Addr // the victim, who received Altered
	Original string   // what the real service sent
	Altered  string   // what the victim got
}

// Relay terminates the victim's TCP connection to the service and opens its
// own to the real service: two connections, each with its own sequence
// numbers, so the rewritten text may be any length. It reads the whole
// fortune (the service sends one and closes), rewrites it and writes it to
// the victim.
type Relay struct {
	// Upstream is the real service's address, dialled from mallory's own
	// address.
	Upstream string
	// Rewrite alters what the service sent; nil leaves it as it is.
	Rewrite func(string) string
	// OnTampered, when set, hears of every fortune relayed.
	OnTampered func(Tampered)
	// OnError, when set, hears of every exchange that failed.
	OnError func(error)
	// Timeout bounds each relayed exchange.
	Timeout time.Duration
}

// Serve relays every connection ln accepts until ctx ends or ln fails.
func (r *Relay) Serve(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("relay: accept: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.relay(ctx, c); err != nil && r.OnError != nil {
				r.OnError(err)
			}
		}()
	}
}

// relay handles one victim connection.
func (r *Relay) relay(ctx context.Context, victim net.Conn) error {
	defer victim.Close()
	timeout := r.Timeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	up, err := d.DialContext(ctx, "tcp", r.Upstream)
	if err != nil {
		return fmt.Errorf("relay: dial %s: %w", r.Upstream, err)
	}
	defer up.Close()
	deadline, _ := ctx.Deadline()
	_ = up.SetDeadline(deadline)
	_ = victim.SetDeadline(deadline)
	// Whatever the victim says goes to the service unchanged.
	go func() {
		_, _ = io.Copy(up, victim)
		if tc, ok := up.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
	}()
	got, err := io.ReadAll(up)
	if err != nil {
		return fmt.Errorf("relay: read %s: %w", r.Upstream, err)
	}
	text := string(got)
	out := text
	if r.Rewrite != nil {
		out = r.Rewrite(text)
	}
	if _, err := io.WriteString(victim, out); err != nil {
		return fmt.Errorf("relay: write to %s: %w", victim.RemoteAddr(), err)
	}
	if r.OnTampered != nil {
		r.OnTampered(Tampered{Client: victim.RemoteAddr(), Original: text, Altered: out})
	}
	return nil
}
