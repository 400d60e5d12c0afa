package mesh

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestGossipKey(t *testing.T) {
	k1, err := NewGossipKey()
	if err != nil {
		t.Fatal(err)
	}
	k2, _ := NewGossipKey()
	b, err := base64.StdEncoding.DecodeString(k1)
	if err != nil || len(b) != 32 {
		t.Fatalf("gossip key %q: %d bytes, %v; want 32 bytes of base64", k1, len(b), err)
	}
	if k1 == k2 {
		t.Error("two gossip keys are the same")
	}
}

func mustCA(t *testing.T) *CA {
	t.Helper()
	ca, err := NewCA("zt-lab test consul agent CA")
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func mustParse(t *testing.T, kp KeyPair) (*x509.Certificate, tls.Certificate) {
	t.Helper()
	certs, err := parseCerts(string(kp.Cert))
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(kp.Cert, kp.Key)
	if err != nil {
		t.Fatalf("key pair: %v", err)
	}
	return certs[0], pair
}

func TestCAIssuesServerAndClientCerts(t *testing.T) {
	ca := mustCA(t)
	if !ca.Cert.IsCA || ca.Cert.PublicKeyAlgorithm != x509.ECDSA {
		t.Errorf("CA: IsCA %v, key %v; want an ECDSA CA", ca.Cert.IsCA, ca.Cert.PublicKeyAlgorithm)
	}
	if b, _ := pem.Decode(ca.PEM()); b == nil || b.Type != "CERTIFICATE" {
		t.Fatal("CA PEM is not a certificate")
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)

	addr := netip.MustParseAddr("198.18.0.11")
	srvKP, err := ca.ServerCert("dc1", "consul01", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := mustParse(t, srvKP)
	for _, name := range []string{"server.dc1.consul", "localhost", "consul01"} {
		if !slices.Contains(srv.DNSNames, name) {
			t.Errorf("server cert lacks DNS SAN %s: %v", name, srv.DNSNames)
		}
	}
	for _, ip := range []string{"127.0.0.1", "198.18.0.11"} {
		if !slices.ContainsFunc(srv.IPAddresses, func(x net.IP) bool { return x.Equal(net.ParseIP(ip)) }) {
			t.Errorf("server cert lacks IP SAN %s: %v", ip, srv.IPAddresses)
		}
	}
	if srv.PublicKeyAlgorithm != x509.ECDSA {
		t.Errorf("server key is %v, want ECDSA", srv.PublicKeyAlgorithm)
	}
	// Servers dial each other: the certificate must serve both ends.
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		if _, err := srv.Verify(x509.VerifyOptions{Roots: pool, DNSName: "server.dc1.consul", KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
			t.Errorf("server cert for usage %v: %v", usage, err)
		}
	}

	cliKP, err := ca.ClientCert("dc1", "fcc00")
	if err != nil {
		t.Fatal(err)
	}
	cli, _ := mustParse(t, cliKP)
	if _, err := cli.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("client cert does not verify against the CA: %v", err)
	}
	if _, err := cli.Verify(x509.VerifyOptions{Roots: pool, DNSName: "server.dc1.consul"}); err == nil {
		t.Error("a client cert passes as server.dc1.consul")
	}

	other := mustCA(t)
	otherPool := x509.NewCertPool()
	otherPool.AddCert(other.Cert)
	if _, err := cli.Verify(x509.VerifyOptions{Roots: otherPool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
		t.Error("a client cert verifies against another lab's CA")
	}
}

// TestRPCHandshake runs the TLS handshake consul's RPC does with
// verify_incoming, verify_outgoing and verify_server_hostname: both sides
// show a certificate, both check it against the lab CA, and the client
// wants server.dc1.consul.
func TestRPCHandshake(t *testing.T) {
	ca := mustCA(t)
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	srvKP, _ := ca.ServerCert("dc1", "consul00", netip.MustParseAddr("198.18.0.10"))
	cliKP, _ := ca.ClientCert("dc1", "fcs00")
	_, srvPair := mustParse(t, srvKP)
	_, cliPair := mustParse(t, cliKP)

	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	srvErr := make(chan error, 1)
	go func() {
		s := tls.Server(a, &tls.Config{Certificates: []tls.Certificate{srvPair}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert})
		srvErr <- s.Handshake()
	}()
	c := tls.Client(b, &tls.Config{Certificates: []tls.Certificate{cliPair}, RootCAs: pool, ServerName: "server.dc1.consul"})
	if err := c.Handshake(); err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	if err := <-srvErr; err != nil {
		t.Fatalf("server handshake: %v", err)
	}
}

func TestConnectCAKey(t *testing.T) {
	k, err := NewConnectCAKey()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode([]byte(k))
	if b == nil || b.Type != "EC PRIVATE KEY" {
		t.Fatalf("connect CA key is not an EC PRIVATE KEY PEM: %q", k)
	}
	key, err := x509.ParseECPrivateKey(b.Bytes)
	if err != nil || key.Curve.Params().BitSize != 256 {
		t.Fatalf("connect CA key: %v", err)
	}
}

func TestFingerprint(t *testing.T) {
	ca := mustCA(t)
	fp := Fingerprint(ca.Cert)
	if len(fp) != 32*3-1 || fp[2] != ':' {
		t.Errorf("fingerprint %q is not 32 colon-separated bytes", fp)
	}
	if colonHex([]byte{0x0a, 0xff, 0x10}) != "0A:FF:10" {
		t.Errorf("colonHex = %q", colonHex([]byte{0x0a, 0xff, 0x10}))
	}
}

func TestSameKey(t *testing.T) {
	key, err := NewConnectCAKey()
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewConnectCAKey()
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode([]byte(key))
	k, err := x509.ParseECPrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "root"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	cert := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	if err := sameKey(cert, key); err != nil {
		t.Errorf("a root made from the key: %v", err)
	}
	if err := sameKey(cert, other); err == nil || !strings.Contains(err.Error(), "not signed with the key") {
		t.Errorf("a root made from another key: %v", err)
	}
}
