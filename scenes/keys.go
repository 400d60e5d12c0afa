package scenes

import (
	"context"
	"fmt"

	"github.com/ztlab/zt-lab/check"
	"github.com/ztlab/zt-lab/sniffer"
)

// keysOffWireName is the check's name.
const keysOffWireName = "no private key crossed the wire"

// keysStep ends the identity scene: the whole capture since the sniffer
// first ran is searched for every private key the lab made or received —
// the RPC CA's, the servers', the rotated Connect CA root's, every leaf
// key zt-lab fetched — and none is there. zt-lab reaches the agents from
// their own hosts (loopback), so no API call, and no key in one, crosses
// the wire.
func keysStep() Step {
	return Step{
		Title:  "No private key ever crossed the wire",
		Shell:  "zt-lab sniff --write lab.pcap ; grep -c 'PRIVATE KEY' lab.pcap   # 0",
		Verify: checkKeysOffWire,
	}
}

// Spool is every frame every capture of this lab saw, or nil before the
// sniffer first ran.
func (e *Env) Spool() *sniffer.Spool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.spool
}

func checkKeysOffWire(_ context.Context, env *Env) check.Check {
	c, spool := env.Cluster(), env.Spool()
	if c == nil || spool == nil {
		return check.Failf(keysOffWireName, "no mesh or no capture ran")
	}
	var keys []sniffer.PrivateKey
	var names []string
	for _, k := range c.PrivateKeys() {
		keys = append(keys, sniffer.PrivateKey{Name: k.Name, PEM: k.PEM})
		names = append(names, k.Name)
	}
	res, err := spool.Search(keys)
	return judgeKeySearch(res, err, names)
}

// judgeKeySearch passes a search that looked at something for at least
// one key and found no piece of any.
func judgeKeySearch(res sniffer.KeySearch, err error, names []string) check.Check {
	if err != nil {
		return check.Failf(keysOffWireName, "search the capture: %v", err)
	}
	c := check.Check{Name: keysOffWireName, Pass: true}
	c.Evidence = append(c.Evidence, fmt.Sprintf("searched all %d frames (%d bytes) of the capture for %d private keys, as %d pieces (PEM lines, DER runs): %d found",
		res.Frames, res.Bytes, res.Keys, res.Needles, len(res.Hits)))
	for _, n := range names {
		c.Evidence = append(c.Evidence, "  "+n)
	}
	for _, h := range res.Hits {
		c.Pass = false
		c.Evidence = append(c.Evidence, fmt.Sprintf("FOUND %s (%s) in frame %d", h.Key, h.Form, h.Frame))
	}
	if res.Keys == 0 || res.Needles == 0 {
		c.Pass = false
		c.Evidence = append(c.Evidence, "no key to search for: the lab has made none yet")
	}
	if res.Frames == 0 {
		c.Pass = false
		c.Evidence = append(c.Evidence, "the capture is empty: nothing was searched")
	}
	return c
}
