package mallory

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"strings"
	"testing"
)

func TestFlipRecordsChangesEveryEncryptedRecordOnly(t *testing.T) {
	in := []byte{
		22, 3, 3, 0, 2, 0xaa, 0xbb, // handshake: left alone
		23, 3, 3, 0, 3, 1, 2, 3, // application data: last byte flipped
		23, 3, 3, 0, 1, 9, // another
		23, 3, 3, 0, 5, 1, // cut short: copied as it is
	}
	var out bytes.Buffer
	n, err := flipRecords(&out, bytes.NewReader(in))
	if err != nil || n != 2 {
		t.Fatalf("flipped %d records (%v), want 2", n, err)
	}
	want := []byte{22, 3, 3, 0, 2, 0xaa, 0xbb, 23, 3, 3, 0, 3, 1, 2, 3 ^ 0xff, 23, 3, 3, 0, 1, 9 ^ 0xff, 23, 3, 3, 0, 5, 1}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("out % x\nwant % x", out.Bytes(), want)
	}
}

// tlsServer serves text over TLS with a certificate from its own CA, and
// returns its address and a pool that trusts it.
func tlsServer(t *testing.T, text string) (string, *x509.CertPool) {
	t.Helper()
	cert, err := SelfSigned("fcs")
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(cert.Certificate[0])
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.WriteString(c, text); c.Close() }()
		}
	}()
	return ln.Addr().String(), pool
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func TestAFlippedByteFailsTLSAndNoTamperedFortuneIsRead(t *testing.T) {
	addr, pool := tlsServer(t, "A fortune over TLS.\n")
	// Straight to the service: the fortune.
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: "fcs"})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(c)
	c.Close()
	if string(got) != "A fortune over TLS.\n" {
		t.Fatalf("direct read %q", got)
	}
	// Through mallory: an error, and not one byte of fortune.
	ln := listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	flips := make(chan int, 1)
	go func() {
		_ = (&FlipRelay{Upstream: addr, OnFlipped: func(_ net.Addr, n int) { flips <- n }}).Serve(ctx, ln)
	}()
	got = nil
	c, err = tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "fcs"})
	if err == nil {
		got, err = io.ReadAll(c)
		c.Close()
	}
	if err == nil || len(got) > 0 {
		t.Fatalf("through mallory read %q (%v), want a TLS error", got, err)
	}
	if n := <-flips; n == 0 {
		t.Errorf("mallory flipped no record")
	}
	t.Logf("the client's error: %v", err)
}

func TestImpersonationIsRefusedByAClientThatChecksTheCA(t *testing.T) {
	_, pool := tlsServer(t, "")
	ln := listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	seen := make(chan error, 1)
	go func() {
		_ = (&Impersonator{Fortune: "MALLORY says hi\n", OnHandshake: func(_ net.Addr, err error) { seen <- err }}).Serve(ctx, ln)
	}()
	_, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "fcs"})
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("the client accepted mallory's certificate: %v", err)
	}
	if herr := <-seen; herr == nil {
		t.Error("mallory reports the handshake went through")
	}
}

func TestProbeIsRefusedByAServiceThatWantsItsCA(t *testing.T) {
	cert, _ := SelfSigned("fcs")
	other, _ := SelfSigned("ca")
	leaf, _ := x509.ParseCertificate(other.Certificate[0])
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.WriteString(c, "fortune\n"); c.Close() }()
		}
	}()
	if err := Probe(context.Background(), ln.Addr().String()); err == nil {
		t.Fatal("a service that wants its own CA let mallory in")
	} else {
		t.Logf("refused: %v", err)
	}
}
