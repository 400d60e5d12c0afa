package sniffer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// conv builds the packets of a TCP conversation between a client and a
// server, keeping both sides' sequence numbers.
type conv struct {
	t              testing.TB
	client, server netip.AddrPort
	seq            [2]uint32 // next sequence number, client then server
	now            time.Time
	pkts           []Packet
}

// newConv starts a conversation with the three-way handshake.
func newConv(t testing.TB, client, server netip.AddrPort) *conv {
	c := &conv{t: t, client: client, server: server, seq: [2]uint32{300437031, 666152398}, now: labTime}
	c.segment(0, &layers.TCP{SYN: true}, nil)
	c.segment(1, &layers.TCP{SYN: true, ACK: true}, nil)
	c.segment(0, &layers.TCP{ACK: true}, nil)
	return c
}

// segment adds one segment from side d (0: client) and advances its
// sequence number.
func (c *conv) segment(d int, tcp *layers.TCP, payload []byte) Packet {
	src, dst := c.client, c.server
	if d == 1 {
		src, dst = dst, src
	}
	tcp.SrcPort, tcp.DstPort = layers.TCPPort(src.Port()), layers.TCPPort(dst.Port())
	tcp.Seq = c.seq[d]
	if !tcp.SYN || tcp.ACK {
		tcp.ACK = true
		tcp.Ack = c.seq[1-d]
	}
	if tcp.Window == 0 {
		tcp.Window = 502
	}
	var frame []byte
	if src.Addr().Is4() {
		frame = serialize(c.t, eth(layers.EthernetTypeIPv4), ip4(src.Addr(), dst.Addr(), layers.IPProtocolTCP), tcp, gopacket.Payload(payload))
	} else {
		frame = serialize(c.t, eth(layers.EthernetTypeIPv6), ip6(src.Addr(), dst.Addr(), layers.IPProtocolTCP), tcp, gopacket.Payload(payload))
	}
	c.seq[d] += uint32(len(payload))
	if tcp.SYN || tcp.FIN {
		c.seq[d]++
	}
	c.now = c.now.Add(100 * time.Microsecond)
	p := Packet{Seq: uint64(len(c.pkts) + 1), Time: c.now, Data: frame, Length: len(frame)}
	c.pkts = append(c.pkts, p)
	return p
}

// send sends data from side d in segments of at most mss bytes, each
// acknowledged by the other side.
func (c *conv) send(d int, data []byte, mss int) {
	for len(data) > 0 {
		n := min(len(data), mss)
		c.segment(d, &layers.TCP{PSH: n == len(data)}, data[:n])
		c.segment(1-d, &layers.TCP{}, nil)
		data = data[n:]
	}
}

// close ends the conversation, the server first (as socat does).
func (c *conv) close() {
	c.segment(1, &layers.TCP{FIN: true}, nil)
	c.segment(0, &layers.TCP{FIN: true}, nil)
	c.segment(1, &layers.TCP{}, nil)
}

// udp builds one datagram.
func udpPacket(t testing.TB, src, dst netip.AddrPort, payload []byte) Packet {
	frame := serialize(t, eth(layers.EthernetTypeIPv4), ip4(src.Addr(), dst.Addr(), layers.IPProtocolUDP),
		&layers.UDP{SrcPort: layers.UDPPort(src.Port()), DstPort: layers.UDPPort(dst.Port())}, gopacket.Payload(payload))
	return Packet{Time: labTime, Data: frame, Length: len(frame)}
}

// tlsExchange runs a real TLS handshake over an in-memory connection: the
// client sends request, the server answers response, both close. It
// returns what went over the wire, in order, each chunk with its sender
// (0: client).
type wireChunk struct {
	from int
	data []byte
}

func selfSigned(t testing.TB, name string) tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: name},
		DNSNames:     []string{name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// tlsConfigs returns a server and a client configuration that trust each
// other, for server name name.
func tlsConfigs(t testing.TB, name string, maxVersion uint16) (*tls.Config, *tls.Config) {
	cert := selfSigned(t, name)
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	srv := &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"fortune/1"}, MaxVersion: maxVersion}
	cli := &tls.Config{RootCAs: pool, ServerName: name, NextProtos: []string{"fortune/1"}, MaxVersion: maxVersion}
	return srv, cli
}

type recConn struct {
	net.Conn
	from int
	log  *wireLog
}

type wireLog struct {
	mu     sync.Mutex
	chunks []wireChunk
}

func (c *recConn) Write(b []byte) (int, error) {
	c.log.mu.Lock()
	c.log.chunks = append(c.log.chunks, wireChunk{c.from, append([]byte(nil), b...)})
	c.log.mu.Unlock()
	return c.Conn.Write(b)
}

func tlsExchange(t testing.TB, maxVersion uint16, request, response string) []wireChunk {
	return tlsExchangeWith(t, maxVersion, nil, request, response)
}

func tlsExchangeWith(t testing.TB, maxVersion uint16, curves []tls.CurveID, request, response string) []wireChunk {
	srvCfg, cliCfg := tlsConfigs(t, "fcs00", maxVersion)
	srvCfg.CurvePreferences, cliCfg.CurvePreferences = curves, curves
	a, b := bufferedPipe()
	defer a.Close()
	defer b.Close()
	log := &wireLog{}
	errc := make(chan error, 1)
	go func() {
		s := tls.Server(&recConn{Conn: b, from: 1, log: log}, srvCfg)
		buf := make([]byte, len(request))
		if _, err := readFull(s, buf); err != nil {
			errc <- err
			return
		}
		_, err := s.Write([]byte(response))
		errc <- err
	}()
	c := tls.Client(&recConn{Conn: a, from: 0, log: log}, cliCfg)
	if _, err := c.Write([]byte(request)); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(response))
	if _, err := readFull(c, got); err != nil {
		t.Fatal(err)
	}
	if string(got) != response {
		t.Fatalf("TLS client read %q", got)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	return log.chunks
}

func readFull(c net.Conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := c.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// replay turns wire chunks into a conversation.
func replay(c *conv, chunks []wireChunk, prefix []byte) {
	if len(prefix) > 0 {
		c.send(0, prefix, 1448)
	}
	for _, ch := range chunks {
		c.send(ch.from, ch.data, 1448)
	}
}

// bufferedPipe is net.Pipe with buffered writes, so that both ends may
// write at once (a TLS 1.3 server sends its tickets while the client
// sends its Finished).
func bufferedPipe() (net.Conn, net.Conn) {
	x, y := newPipeBuf(), newPipeBuf()
	return &pipeConn{r: x, w: y}, &pipeConn{r: y, w: x}
}

type pipeBuf struct {
	mu     sync.Mutex
	cond   *sync.Cond
	data   []byte
	closed bool
}

func newPipeBuf() *pipeBuf {
	b := &pipeBuf{}
	b.cond = sync.NewCond(&b.mu)
	return b
}

type pipeConn struct{ r, w *pipeBuf }

func (c *pipeConn) Read(p []byte) (int, error) {
	c.r.mu.Lock()
	defer c.r.mu.Unlock()
	for len(c.r.data) == 0 && !c.r.closed {
		c.r.cond.Wait()
	}
	if len(c.r.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.r.data)
	c.r.data = c.r.data[n:]
	return n, nil
}

func (c *pipeConn) Write(p []byte) (int, error) {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	if c.w.closed {
		return 0, io.ErrClosedPipe
	}
	c.w.data = append(c.w.data, p...)
	c.w.cond.Broadcast()
	return len(p), nil
}

func (c *pipeConn) Close() error {
	for _, b := range []*pipeBuf{c.r, c.w} {
		b.mu.Lock()
		b.closed = true
		b.cond.Broadcast()
		b.mu.Unlock()
	}
	return nil
}

func (c *pipeConn) LocalAddr() net.Addr              { return pipeAddr{} }
func (c *pipeConn) RemoteAddr() net.Addr             { return pipeAddr{} }
func (c *pipeConn) SetDeadline(time.Time) error      { return nil }
func (c *pipeConn) SetReadDeadline(time.Time) error  { return nil }
func (c *pipeConn) SetWriteDeadline(time.Time) error { return nil }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }
