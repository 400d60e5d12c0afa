package scenes

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/ztlab/zt-lab/check"
	"github.com/ztlab/zt-lab/infra"
	"github.com/ztlab/zt-lab/sniffer"
)

// checkLab is a lab on paper for the scenes' checks: the seeds' five
// hosts with their addresses, each answering Run from a script.
type checkLab struct {
	hosts []*checkHost
}

func newCheckLab() *checkLab {
	l := &checkLab{}
	for _, h := range []struct {
		name string
		role infra.Role
		addr string
	}{
		{"consul00", infra.RoleConsul, "198.18.0.10"},
		{"consul01", infra.RoleConsul, "198.18.0.11"},
		{"consul02", infra.RoleConsul, "198.18.0.12"},
		{ServiceHost, infra.RoleService, "198.18.0.20"},
		{ConsumerHost, infra.RoleConsumer, "198.18.0.30"},
	} {
		l.hosts = append(l.hosts, &checkHost{name: h.name, role: h.role, addr: netip.MustParseAddr(h.addr), state: infra.StateUp})
	}
	return l
}

func (l *checkLab) ID() string { return "check" }
func (l *checkLab) Hosts() []infra.Host {
	var hs []infra.Host
	for _, h := range l.hosts {
		hs = append(hs, h)
	}
	return hs
}
func (l *checkLab) Host(name string) (infra.Host, bool) {
	for _, h := range l.hosts {
		if h.name == name {
			return h, true
		}
	}
	return nil, false
}
func (l *checkLab) host(name string) *checkHost {
	h, _ := l.Host(name)
	return h.(*checkHost)
}
func (l *checkLab) AddHost(context.Context, infra.HostSpec) (infra.Host, error) {
	return nil, errors.New("a paper lab does not grow")
}
func (l *checkLab) Wire() infra.WireTap {
	names := map[netip.Addr]string{}
	for _, h := range l.hosts {
		names[h.addr] = h.name
	}
	return infra.WireTap{Interface: "paper0", Names: names}
}
func (l *checkLab) Close(context.Context) error { return nil }

type checkHost struct {
	name  string
	role  infra.Role
	addr  netip.Addr
	state infra.HostState
	// run answers Run; nil: the command does not exist.
	run func(argv []string) ([]byte, error)
	// procs are what the host runs: a sidecar and its log, say.
	procs []infra.Proc
}

func (h *checkHost) Name() string           { return h.name }
func (h *checkHost) Role() infra.Role       { return h.role }
func (h *checkHost) Addr() netip.Addr       { return h.addr }
func (h *checkHost) State() infra.HostState { return h.state }
func (h *checkHost) Procs() []infra.Proc    { return h.procs }
func (h *checkHost) DialContext(context.Context, string, string) (net.Conn, error) {
	return nil, errors.New("check host: no network")
}
func (h *checkHost) DataDir() string               { return "/nonexistent" }
func (h *checkHost) Recover(context.Context) error { return nil }
func (h *checkHost) Fail(context.Context, infra.FailMode) error {
	return nil
}
func (h *checkHost) Start(context.Context, infra.ProcSpec) (infra.Proc, error) {
	return nil, errors.New("a paper host runs nothing")
}
func (h *checkHost) Run(_ context.Context, argv ...string) ([]byte, error) {
	if h.run == nil {
		return nil, os.ErrNotExist
	}
	return h.run(argv)
}
func (h *checkHost) WriteFile(context.Context, string, []byte, os.FileMode) (string, error) {
	return "", os.ErrPermission
}

var (
	_ infra.Lab  = (*checkLab)(nil)
	_ infra.Host = (*checkHost)(nil)
)

// checkEnv is an Env on a paper lab whose sniffer has already seen pkts,
// whose service served served, and whose consumer printed last.
func checkEnv(l *checkLab, last string, served []string, pkts []sniffer.Packet) *Env {
	e := emptyEnv()
	e.lab = l
	e.served = served
	if last != "" {
		e.keep(func(s *walkState) { s.lastFortune = last })
	}
	if pkts != nil {
		a := sniffer.NewAnalyzer(sniffer.Names(l.Wire().Names))
		for _, f := range served {
			a.AddKnown(f)
		}
		a.FeedAll(pkts)
		e.analyzer = a
	}
	return e
}

// emptyEnv is an Env as the engine makes it, before any lab.
func emptyEnv() *Env { return New(&Env{}, nil).Env() }

// wireConv builds the frames of one TCP conversation on the lab's wire,
// both sides' sequence numbers kept, as a capture would hold them.
type wireConv struct {
	t              testing.TB
	client, server netip.AddrPort
	seq            [2]uint32
	now            time.Time
	pkts           []sniffer.Packet
}

var wireTime = time.Date(2021, 3, 4, 1, 20, 20, 0, time.UTC)

func newWireConv(t testing.TB, client, server netip.AddrPort) *wireConv {
	c := &wireConv{t: t, client: client, server: server, seq: [2]uint32{1000, 5000}, now: wireTime}
	c.segment(0, &layers.TCP{SYN: true}, nil)
	c.segment(1, &layers.TCP{SYN: true, ACK: true}, nil)
	c.segment(0, &layers.TCP{ACK: true}, nil)
	return c
}

func (c *wireConv) segment(d int, tcp *layers.TCP, payload []byte) {
	src, dst := c.client, c.server
	if d == 1 {
		src, dst = dst, src
	}
	tcp.SrcPort, tcp.DstPort = layers.TCPPort(src.Port()), layers.TCPPort(dst.Port())
	tcp.Seq, tcp.Window = c.seq[d], 502
	if !tcp.SYN || tcp.ACK {
		tcp.ACK, tcp.Ack = true, c.seq[1-d]
	}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: src.Addr().AsSlice(), DstIP: dst.Addr().AsSlice()}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		c.t.Fatal(err)
	}
	c.pkts = append(c.pkts, wirePacket(c.t, c.now, ip, tcp, payload))
	c.seq[d] += uint32(len(payload))
	if tcp.SYN || tcp.FIN {
		c.seq[d]++
	}
	c.now = c.now.Add(100 * time.Microsecond)
}

// send sends data from side d (0: the client) in segments of 1,400 bytes.
func (c *wireConv) send(d int, data []byte) *wireConv {
	for len(data) > 0 {
		n := min(len(data), 1400)
		c.segment(d, &layers.TCP{PSH: n == len(data)}, data[:n])
		data = data[n:]
	}
	return c
}

// close ends the conversation, the server first.
func (c *wireConv) close() []sniffer.Packet {
	c.segment(1, &layers.TCP{FIN: true}, nil)
	c.segment(0, &layers.TCP{FIN: true}, nil)
	c.segment(1, &layers.TCP{}, nil)
	return c.pkts
}

func wirePacket(t testing.TB, at time.Time, ip *layers.IPv4, l4 gopacket.SerializableLayer, payload []byte) sniffer.Packet {
	eth := &layers.Ethernet{SrcMAC: []byte{2, 0, 0, 0, 0, 1}, DstMAC: []byte{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, l4, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	return sniffer.Packet{Time: at, Data: data, Length: len(data)}
}

// udpDatagram is one datagram on the wire.
func udpDatagram(t testing.TB, src, dst netip.AddrPort, payload []byte) sniffer.Packet {
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: src.Addr().AsSlice(), DstIP: dst.Addr().AsSlice()}
	udp := &layers.UDP{SrcPort: layers.UDPPort(src.Port()), DstPort: layers.UDPPort(dst.Port())}
	if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	return wirePacket(t, wireTime, ip, udp, payload)
}

// noise is n bytes that look like ciphertext, the same every run.
func noise(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// tlsRecord frames body as one TLS record of type typ.
func tlsRecord(typ byte, body []byte) []byte {
	return append([]byte{typ, 3, 3, byte(len(body) >> 8), byte(len(body))}, body...)
}

const (
	recHandshake = 22
	recAppData   = 23
)

// tlsFlow is what a TLS connection shows the wire: a hello each way, then
// application data records; what they carry is the caller's (ciphertext,
// or, for the bad cases, a fortune in the clear).
func tlsFlow(t testing.TB, client, server netip.AddrPort, prefix []byte, request, response []byte) []sniffer.Packet {
	c := newWireConv(t, client, server)
	c.send(0, append(append(prefix, tlsRecord(recHandshake, noise(1, 200))...), tlsRecord(recAppData, request)...))
	c.send(1, append(tlsRecord(recHandshake, noise(2, 900)), tlsRecord(recAppData, response)...))
	return c.close()
}

// sealGossip encrypts a memberlist message as memberlist's encryptPayload
// version 1 does: version byte, 12-byte nonce, AES-GCM ciphertext and tag.
func sealGossip(msg []byte, nonce byte) []byte {
	block, _ := aes.NewCipher([]byte("0123456789abcdef0123456789abcdef"))
	gcm, _ := cipher.NewGCM(block)
	n := make([]byte, 12)
	n[0] = nonce
	return gcm.Seal(append([]byte{1}, n...), n, msg, nil)
}

// memberlist's ping, as hashicorp/memberlist writes it in the clear.
var pingMsg = append([]byte{0x00, 0x83, 0xa5}, "SeqNo\x07\xa4Node\xa8consul01\xaaSourceNode\xa8consul00"...)

// evidenceOf is a check's evidence as one string, for matching.
func evidenceOf(c check.Check) string { return strings.Join(c.Evidence, "\n") }
