package sniffer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"strings"
	"testing"
)

func testKey(t *testing.T, name string) PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return PrivateKey{Name: name, PEM: pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})}
}

// httpFrame is an Ethernet frame of fake headers and an HTTP body: the
// search looks at every byte, headers or not.
func httpFrame(body string) []byte {
	return append(make([]byte, 54), "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n"+body...)
}

func spoolOf(t *testing.T, frames ...[]byte) *Spool {
	t.Helper()
	s, err := NewSpool(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	for _, f := range frames {
		s.Write(f)
	}
	return s
}

func TestKeySearch(t *testing.T) {
	leaf, root := testKey(t, "leaf key of fcs"), testKey(t, "Connect CA root key")
	keys := []PrivateKey{leaf, root}
	leafJSON, _ := json.Marshal(map[string]string{"SerialNumber": "1", "PrivateKeyPEM": string(leaf.PEM)})
	block, _ := pem.Decode(root.PEM)
	tests := []struct {
		name   string
		frames [][]byte
		hits   map[string]string // key name -> a form it was found in
	}{
		{"no key on the wire", [][]byte{httpFrame(`{"Roots":[]}`), httpFrame(strings.Repeat("\x17\x03\x03", 400))}, nil},
		{"a leaf key in an agent's JSON answer", [][]byte{httpFrame(`{"x":1}`), httpFrame(string(leafJSON))}, map[string]string{leaf.Name: "PEM line"}},
		{"a root key split across two segments", [][]byte{httpFrame(string(root.PEM[:100])), httpFrame(string(root.PEM[100:]))}, map[string]string{root.Name: "PEM line"}},
		{"a root key as raw DER", [][]byte{append(make([]byte, 54), block.Bytes...)}, map[string]string{root.Name: "DER bytes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := spoolOf(t, tt.frames...).Search(keys)
			if err != nil {
				t.Fatal(err)
			}
			if res.Keys != 2 || res.Needles < 6 || res.Frames != uint64(len(tt.frames)) || res.Bytes == 0 {
				t.Errorf("searched %d keys in %d pieces, %d frames, %d bytes", res.Keys, res.Needles, res.Frames, res.Bytes)
			}
			got := map[string]map[string]bool{}
			for _, h := range res.Hits {
				if got[h.Key] == nil {
					got[h.Key] = map[string]bool{}
				}
				got[h.Key][h.Form] = true
				if h.Frame < 1 || h.Frame > res.Frames {
					t.Errorf("hit in frame %d of %d", h.Frame, res.Frames)
				}
			}
			if len(got) != len(tt.hits) {
				t.Errorf("found %v, want %v", res.Hits, tt.hits)
			}
			for k, form := range tt.hits {
				if !got[k][form] {
					t.Errorf("%s not found as %s: %v", k, form, res.Hits)
				}
			}
		})
	}
}

func TestSpoolIsPrivateAndRemoved(t *testing.T) {
	s := spoolOf(t, httpFrame("x"))
	fi, err := s.f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("spool is %v, want 0600", fi.Mode().Perm())
	}
	name := s.f.Name()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(name); !os.IsNotExist(err) {
		t.Errorf("spool %s left behind: %v", name, err)
	}
	if _, err := s.Search(nil); err == nil {
		t.Error("a closed spool searched")
	}
}

func TestKeySearchRefusesNonPEM(t *testing.T) {
	if _, err := spoolOf(t).Search([]PrivateKey{{Name: "junk", PEM: []byte("not a key")}}); err == nil || !strings.Contains(err.Error(), "junk") {
		t.Errorf("err = %v", err)
	}
}
