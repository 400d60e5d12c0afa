package scenes

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/ztlab/zt-lab/sniffer"
)

// TestConsulWireRefusesAnAPIOnTheWire: the agents' HTTP APIs listen on
// loopback, so a flow to :8500 on the wire fails the check, encrypted
// gossip and RPC or not.
func TestConsulWireRefusesAnAPIOnTheWire(t *testing.T) {
	flow := func(port uint16, kind sniffer.Kind) sniffer.FlowSummary {
		return sniffer.FlowSummary{
			Key:     sniffer.FlowKey{Proto: sniffer.TCP, Client: fcc(41000), Server: netip.AddrPortFrom(c0Addr, port)},
			Verdict: sniffer.Verdict{Kind: kind},
			Closed:  true,
			Payload: [2]uint64{120, 80},
		}
	}
	good := []sniffer.FlowSummary{flow(8300, sniffer.Encrypted), flow(8301, sniffer.Encrypted)}
	c := judgeConsulWire("consul wire", good, nil)
	if !c.Pass || !strings.Contains(strings.Join(c.Evidence, "\n"), "0 flows to an agent's HTTP API (8500)") {
		t.Errorf("gossip and RPC encrypted, no API flow: %v", c)
	}
	c = judgeConsulWire("consul wire", append(good, flow(8500, sniffer.Plaintext)), nil)
	if c.Pass || !strings.Contains(strings.Join(c.Evidence, "\n"), "an agent's HTTP API on the wire") {
		t.Errorf("an API flow on the wire passed: %v", c)
	}
}
