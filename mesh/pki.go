package mesh

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"strings"
	"time"
)

// certLifetime is how long the lab's agent certificates last: far longer
// than any lab, short enough that a forgotten one is soon worthless.
const certLifetime = 30 * 24 * time.Hour

// NewGossipKey returns a new key for serf's gossip encryption: 32 random
// bytes in base64, as `consul keygen` makes them.
func NewGossipKey() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("gossip key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// CA is the lab's certificate authority for the agents' RPC (not the
// Connect CA, which Consul runs itself and which signs the services'
// identities).
type CA struct {
	Cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

// KeyPair is a certificate and its private key, PEM-encoded.
type KeyPair struct {
	Cert, Key []byte
}

// NewCA makes a CA whose name says which lab it belongs to.
func NewCA(name string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("CA key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name, Organization: []string{"zt-lab"}},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(certLifetime),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

// KeyPEM is the CA's private key: zt-lab's alone, never written anywhere.
func (ca *CA) KeyPEM() ([]byte, error) {
	der, err := x509.MarshalECPrivateKey(ca.key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

// PEM is the CA's certificate, for every agent's ca_file.
func (ca *CA) PEM() []byte { return ca.pem }

// ServerCert issues the certificate of a consul server. Servers dial each
// other too, so it is good for both ends of a connection, and it names
// server.<dc>.consul, which agents check when verify_server_hostname is on.
func (ca *CA) ServerCert(dc, host string, addr netip.Addr) (KeyPair, error) {
	return ca.issue(certSpec{
		cn:    host + ".server." + dc + ".consul",
		dns:   []string{"server." + dc + ".consul", host, "localhost"},
		ips:   []netip.Addr{netip.MustParseAddr("127.0.0.1"), addr},
		usage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	})
}

// ClientCert issues the certificate of a client agent or of a CLI talking
// to the agents over TLS, as `consul tls cert create -client` does. The
// lab's client agents get theirs from the servers instead (auto_encrypt).
func (ca *CA) ClientCert(dc, host string) (KeyPair, error) {
	return ca.issue(certSpec{
		cn:    host + ".client." + dc + ".consul",
		dns:   []string{"client." + dc + ".consul", "localhost"},
		ips:   []netip.Addr{netip.MustParseAddr("127.0.0.1")},
		usage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	})
}

type certSpec struct {
	cn    string
	dns   []string
	ips   []netip.Addr
	usage []x509.ExtKeyUsage
}

func (ca *CA) issue(s certSpec) (KeyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return KeyPair{}, fmt.Errorf("key for %s: %w", s.cn, err)
	}
	serial, err := newSerial()
	if err != nil {
		return KeyPair{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: s.cn},
		NotBefore:    ca.Cert.NotBefore,
		NotAfter:     ca.Cert.NotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  s.usage,
		DNSNames:     s.dns,
	}
	for _, ip := range s.ips {
		if ip.IsValid() {
			tmpl.IPAddresses = append(tmpl.IPAddresses, net.IP(ip.AsSlice()))
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.key)
	if err != nil {
		return KeyPair{}, fmt.Errorf("certificate for %s: %w", s.cn, err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return KeyPair{}, err
	}
	return KeyPair{
		Cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		Key:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	}, nil
}

// NewConnectCAKey returns a new private key for Consul's built-in Connect
// CA, PEM-encoded: handing it to the CA is what rotates the root.
func NewConnectCAKey() (string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", fmt.Errorf("connect CA key: %w", err)
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})), nil
}

func newSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("serial number: %w", err)
	}
	return n, nil
}

// Fingerprint is the SHA-256 of a certificate's DER bytes, in the
// colon-separated upper-case hex that browsers and openssl show.
func Fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return colonHex(sum[:])
}

func colonHex(b []byte) string {
	h := strings.ToUpper(hex.EncodeToString(b))
	var sb strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			sb.WriteByte(':')
		}
		sb.WriteString(h[i : i+2])
	}
	return sb.String()
}

// parseCerts reads every certificate in a PEM bundle, in order.
func parseCerts(bundle string) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := []byte(bundle)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("no certificate in PEM")
	}
	return certs, nil
}

// sameKey reports whether the certificate in certPEM is for the private
// key in keyPEM: the Connect CA made its first root from the lab's key.
func sameKey(certPEM, keyPEM string) error {
	certs, err := parseCerts(certPEM)
	if err != nil {
		return err
	}
	block, _ := pem.Decode([]byte(keyPEM))
	if block == nil {
		return errors.New("the key is not PEM")
	}
	key, err := x509.ParseECPrivateKey(block.Bytes)
	if err != nil {
		return err
	}
	pub, ok := certs[0].PublicKey.(*ecdsa.PublicKey)
	if !ok || !pub.Equal(&key.PublicKey) {
		return fmt.Errorf("%s is not signed with the key zt-lab gave the servers", certs[0].Subject.CommonName)
	}
	return nil
}
