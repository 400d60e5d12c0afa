package sniffer

import (
	"context"
	"fmt"
	"io"
	"time"
)

// LiveOptions shape what Live prints.
type LiveOptions struct {
	Filter Filter
	Names  Names
	// Flows prints the flow table every Every (default 1 s) instead of
	// every packet.
	Flows bool
	Every time.Duration
	// Write, when set, receives a pcap copy of every frame captured.
	Write io.Writer
}

// Live captures on iface and writes what it sees to w — tcpdump -X lines
// for every frame, or the flow table with verdicts — until ctx ends or w
// fails, then a line of counters. It is `zt-lab sniff`.
func Live(ctx context.Context, iface string, o LiveOptions, w io.Writer) (Stats, error) {
	c, err := Open(iface, Options{Filter: o.Filter, Write: o.Write})
	if err != nil {
		return Stats{}, err
	}
	defer c.Close()
	if o.Every <= 0 {
		o.Every = time.Second
	}
	fmt.Fprintf(w, "listening on %s, filter %q, link-type EN10MB (Ethernet)\n", iface, o.Filter.String())
	pr := NewPrinter(o.Names, nil)
	a := NewAnalyzer(o.Names)
	tick := time.NewTicker(o.Every)
	defer tick.Stop()
	var buf []byte
	for {
		select {
		case <-ctx.Done():
			return finish(c, w), nil
		case p, ok := <-c.Packets():
			if !ok {
				return finish(c, w), c.Err()
			}
			if o.Flows {
				a.Feed(p)
				continue
			}
			if buf, err = pr.WriteX(w, buf, p); err != nil {
				return c.Stats(), nil // the reader is gone
			}
		case now := <-tick.C:
			if !o.Flows {
				continue
			}
			buf = append(buf[:0], fmt.Sprintf("\n--- %s ---\n", now.Format("15:04:05"))...)
			buf = AppendFlowTable(buf, a.Flows())
			if _, err := w.Write(buf); err != nil {
				return c.Stats(), nil
			}
		}
	}
}

func finish(c *Capture, w io.Writer) Stats {
	s := c.Stats()
	fmt.Fprintf(w, "%d packets captured, %d dropped by kernel, %d dropped by buffer\n", s.Seen, s.KernelDrops, s.BufferDrops)
	return s
}
