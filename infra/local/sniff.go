//go:build linux

package local

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/ztlab/zt-lab/sniffer"
)

// sniffOp is the control socket's stream operation for captures.
const sniffOp = "sniff"

// ServeSniff lets `zt-lab sniff` in other terminals capture on this lab's
// wire: tcpdump -X lines or the flow table, and a pcap file if asked.
func (l *Lab) ServeSniff() {
	l.HandleStream(sniffOp, func(ctx context.Context, raw json.RawMessage, w io.Writer) error {
		var a SniffRequest
		if err := json.Unmarshal(raw, &a); err != nil {
			return err
		}
		proto, err := sniffer.ParseProto(a.Proto)
		if err != nil {
			return err
		}
		o := sniffer.LiveOptions{
			Filter: sniffer.Filter{Host: a.Host, Port: a.Port, Proto: proto},
			Names:  sniffer.Names(l.Wire().Names),
			Flows:  a.Flows,
		}
		if a.Write != "" {
			f, err := sniffer.CreatePcap(a.Write)
			if err != nil {
				return fmt.Errorf("--write: %w", err)
			}
			defer f.Close()
			o.Write = f
		}
		_, err = sniffer.Live(ctx, l.Wire().Interface, o, w)
		return err
	})
}

// Sniff asks the lab to capture as a says and copies what it streams to w
// until ctx ends.
func (c *Client) Sniff(ctx context.Context, a SniffRequest, w io.Writer) error {
	return c.Stream(ctx, sniffOp, a, w)
}
