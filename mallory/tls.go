package mallory

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"sync"
	"time"
)

// Modes of the attack: what mallory does with a connection it takes.
const (
	ModeRewrite     = "rewrite"     // plaintext: rewrite the fortune
	ModeFlip        = "flip"        // TLS: relay, flipping a byte of every encrypted record
	ModeImpersonate = "impersonate" // TLS: answer as the service, with a certificate of its own
)

// flipRecords copies TLS records from src to dst, flipping the last byte
// (the authentication tag's) of every record of encrypted data (content
// type 23, which in TLS 1.3 is also most of the handshake). It returns the
// records flipped. Whatever is not a whole record is copied as it is.
func flipRecords(dst io.Writer, src io.Reader) (int, error) {
	flipped := 0
	hdr := make([]byte, 5)
	for {
		if _, err := io.ReadFull(src, hdr); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return flipped, nil
			}
			return flipped, err
		}
		n := int(binary.BigEndian.Uint16(hdr[3:5]))
		body := make([]byte, n)
		if m, err := io.ReadFull(src, body); err != nil {
			_, _ = dst.Write(append(hdr, body[:m]...))
			return flipped, nil
		}
		if hdr[0] == 23 && n > 0 {
			body[n-1] ^= 0xff
			flipped++
		}
		if _, err := dst.Write(append(hdr, body...)); err != nil {
			return flipped, err
		}
		hdr = hdr[:5]
	}
}

// FlipRelay relays a TLS connection to Upstream unchanged from the victim,
// and with a byte of every encrypted record changed towards it.
type FlipRelay struct {
	Upstream  string
	OnFlipped func(client net.Addr, records int)
	OnError   func(error)
}

// Serve relays every connection ln accepts until ctx ends.
func (r *FlipRelay) Serve(ctx context.Context, ln net.Listener) error {
	return serve(ctx, ln, func(c net.Conn) {
		defer c.Close()
		var d net.Dialer
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		up, err := d.DialContext(dctx, "tcp", r.Upstream)
		cancel()
		if err != nil {
			if r.OnError != nil {
				r.OnError(fmt.Errorf("dial %s: %w", r.Upstream, err))
			}
			return
		}
		defer up.Close()
		go func() {
			_, _ = io.Copy(up, c)
			_ = up.(*net.TCPConn).CloseWrite()
		}()
		n, _ := flipRecords(c, up)
		if r.OnFlipped != nil {
			r.OnFlipped(c.RemoteAddr(), n)
		}
	})
}

// Impersonator answers as the service over TLS with a certificate mallory
// made itself, and serves its own fortune to whoever accepts it.
type Impersonator struct {
	Fortune string
	// OnHandshake hears of each victim: err is why the handshake failed,
	// nil when the victim accepted mallory's certificate.
	OnHandshake func(client net.Addr, err error)
}

// Serve answers every connection ln accepts until ctx ends.
func (m *Impersonator) Serve(ctx context.Context, ln net.Listener) error {
	cert, err := SelfSigned("fcs")
	if err != nil {
		return err
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequestClientCert}
	return serve(ctx, ln, func(c net.Conn) {
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		tc := tls.Server(c, cfg)
		err := tc.HandshakeContext(ctx)
		if err == nil {
			_, err = io.WriteString(tc, m.Fortune)
		}
		if m.OnHandshake != nil {
			m.OnHandshake(c.RemoteAddr(), err)
		}
	})
}

// Probe is mallory connecting to the service's sidecar itself, with a
// certificate of its own and none from the lab's CA: it returns nil if
// the service let it in and read its request, or why it was refused.
func Probe(ctx context.Context, addr string) error {
	cert, err := SelfSigned("mallory")
	if err != nil {
		return err
	}
	d := tls.Dialer{Config: &tls.Config{Certificates: []tls.Certificate{cert}, InsecureSkipVerify: true}} // mallory trusts anyone; the question is whether it is trusted
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	// In TLS 1.3 a client certificate is refused after the client's side of
	// the handshake is done: the refusal arrives on the first read.
	buf := make([]byte, 512)
	n, err := c.Read(buf)
	if n > 0 {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return errors.New("the service closed the connection without a word")
	}
	return err
}

// SelfSigned is a certificate mallory makes for name, signed by its own
// key: no CA the lab knows.
func SelfSigned(name string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		DNSNames:     []string{name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// serve runs handle for every connection ln accepts until ctx ends.
func serve(ctx context.Context, ln net.Listener, handle func(net.Conn)) error {
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
			return fmt.Errorf("accept: %w", err)
		}
		wg.Add(1)
		go func() { defer wg.Done(); handle(c) }()
	}
}
