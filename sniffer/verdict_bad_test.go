package sniffer

import (
	"net/netip"
	"strings"
	"testing"
)

// tlsFrame frames body as TLS records of type typ, at most size bytes of
// it in each: what a broken "TLS" that never encrypts would send.
func tlsFrame(typ byte, body []byte, size int) []byte {
	var out []byte
	for len(body) > 0 {
		n := min(len(body), size)
		out = append(out, typ, 3, 3, byte(n>>8), byte(n))
		out = append(out, body[:n]...)
		body = body[n:]
	}
	return out
}

// A flow that looks like TLS, or like Consul's encrypted protocols, but
// carries the fortune readable is PLAINTEXT, and the evidence says where
// the fortune is: the ENCRYPTED verdict the mesh scenes rely on must not
// be given for record framing alone. The real TLS exchange beside them is
// ENCRYPTED.
func TestAFortuneInsideTLSLookingFramesIsPlaintext(t *testing.T) {
	mesh := netip.AddrPortFrom(labFCS, 9191)
	rpc := netip.AddrPortFrom(labC0, 8300)
	hello := tlsExchange(t, 0, "fortune please\n", seedFortune)[0].data // a real ClientHello
	for _, tc := range []struct {
		name   string
		server netip.AddrPort
		build  func(c *conv)
		kind   Kind
		why    []string
	}{
		{"a real TLS exchange carrying the fortune", mesh, func(c *conv) {
			replay(c, tlsExchange(t, 0, "fortune please\n", seedFortune), nil)
		}, Encrypted, []string{"TLS records:", "0 bytes of known fortune text in"}},
		{"the fortune in application-data records, unencrypted", mesh, func(c *conv) {
			c.send(0, hello, 1448)
			c.send(1, tlsFrame(recHandshake, []byte("server hello, certificate, finished"), 64), 1448)
			c.send(1, tlsFrame(recApplicationData, []byte(seedFortune), 1<<14), 1448)
		}, Plaintext, []string{"known fortune found whole on the wire", "fcs00.9191 > fcc00.53396"}},
		{"the fortune cut into small records", mesh, func(c *conv) {
			c.send(0, hello, 1448)
			c.send(1, tlsFrame(recApplicationData, []byte(seedFortune), 24), 1448)
		}, Plaintext, []string{"bytes of known fortune text in the clear"}},
		{"a TLS handshake, then the fortune in the clear", mesh, func(c *conv) {
			c.send(0, hello, 1448)
			c.send(1, append(tlsFrame(recHandshake, []byte("server hello"), 64), seedFortune...), 1448)
		}, Plaintext, []string{"known fortune found whole on the wire"}},
		{"Consul RPC's TLS byte, then the fortune in the clear", rpc, func(c *conv) {
			c.send(0, append([]byte{3}, hello...), 1448)
			c.send(1, []byte(seedFortune), 1448)
		}, Plaintext, []string{"known fortune found whole on the wire"}},
		{"a flow no one can read is not called encrypted for that", mesh, func(c *conv) {
			c.send(0, []byte{1, 2, 3}, 1448)
		}, Unknown, []string{"only 3 payload bytes: not enough to tell"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newConv(t, fccEnd, tc.server)
			tc.build(c)
			c.close()
			_, f := analyze(t, c.pkts, seedFortune)
			v := f.Verdict
			if v.Kind != tc.kind {
				t.Fatalf("verdict %v (%s), want %v:\n%s", v.Kind, v.Protocol, tc.kind, evidence(v))
			}
			if tc.kind == Encrypted && v.KnownBytes != 0 {
				t.Errorf("ENCRYPTED with %d bytes of a known fortune", v.KnownBytes)
			}
			if tc.kind == Plaintext && v.KnownBytes == 0 {
				t.Errorf("PLAINTEXT but 0 known fortune bytes counted:\n%s", evidence(v))
			}
			for _, w := range tc.why {
				if !strings.Contains(evidence(v), w) {
					t.Errorf("evidence does not say %q:\n%s", w, evidence(v))
				}
			}
		})
	}
}

// Gossip that claims encryption (the version byte, a nonce) but carries a
// memberlist message readable, or a fortune, is not ENCRYPTED.
func TestGossipThatOnlyLooksEncrypted(t *testing.T) {
	c0, c1 := netip.AddrPortFrom(labC0, 8301), netip.AddrPortFrom(labC1, 8301)
	for _, tc := range []struct {
		name    string
		payload []byte
		kind    Kind
		why     string
	}{
		{"sealed with AES-GCM", sealGossip(pingMsg, 1), Encrypted, "memberlist encrypted envelopes"},
		{"memberlist in the clear", pingMsg, Plaintext, "memberlist messages in the clear"},
		{"a fortune after an encryption header", append(append([]byte{1}, make([]byte, 12)...), seedFortune...), Plaintext, "known fortune found whole on the wire"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, f := analyze(t, []Packet{udpPacket(t, c0, c1, tc.payload)}, seedFortune)
			if v := f.Verdict; v.Kind != tc.kind || !strings.Contains(evidence(v), tc.why) {
				t.Fatalf("verdict %v (%s), want %v with %q:\n%s", v.Kind, v.Protocol, tc.kind, tc.why, evidence(v))
			}
		})
	}
}
