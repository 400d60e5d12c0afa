package sniffer

import (
	"crypto/tls"
	"fmt"
	"strings"

	"golang.org/x/crypto/cryptobyte"
)

// TLS record content types.
const (
	recChangeCipherSpec = 20
	recAlert            = 21
	recHandshake        = 22
	recApplicationData  = 23
	recHeartbeat        = 24

	maxRecordLen = 1<<14 + 2048 // TLSCiphertext may exceed 2^14 by 2048
)

// TLSRecords counts the TLS records of one direction, by content type.
type TLSRecords struct {
	Handshake, ChangeCipherSpec, Alert, ApplicationData, Heartbeat int
}

func (r TLSRecords) String() string {
	var parts []string
	add := func(name string, n int) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%s×%d", name, n))
		}
	}
	add("handshake", r.Handshake)
	add("change_cipher_spec", r.ChangeCipherSpec)
	add("alert", r.Alert)
	add("application_data", r.ApplicationData)
	add("heartbeat", r.Heartbeat)
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " ")
}

// TLSInfo is what a flow's TLS records say, read from both directions.
type TLSInfo struct {
	// ClientRecords and ServerRecords count records by type, each way.
	ClientRecords, ServerRecords TLSRecords
	// RecordVersion is the record-layer version of the first record.
	RecordVersion uint16
	// ClientHello and ServerHello say which hellos were read.
	ClientHello, ServerHello bool
	// HelloRetry is set when the ServerHello was a HelloRetryRequest.
	HelloRetry bool
	// Version is the negotiated version: the ServerHello's
	// supported_versions extension, else its legacy version.
	Version uint16
	// CipherSuite is the suite the ServerHello chose.
	CipherSuite uint16
	// SNI is the server name the ClientHello asked for.
	SNI string
	// ALPN is the protocol the ServerHello chose; ALPNOffered what the
	// ClientHello offered.
	ALPN        string
	ALPNOffered []string
}

// VersionName names the negotiated version ("TLS 1.3").
func (t *TLSInfo) VersionName() string {
	if t.Version == 0 {
		return "unknown"
	}
	return tls.VersionName(t.Version)
}

// CipherSuiteName names the chosen cipher suite.
func (t *TLSInfo) CipherSuiteName() string {
	if !t.ServerHello {
		return "unknown"
	}
	return tls.CipherSuiteName(t.CipherSuite)
}

// tlsStream walks the TLS records of one direction as the stream grows.
type tlsStream struct {
	start   int  // stream offset of the first record
	off     int  // stream offset of the next record header
	started bool // start is decided
	broken  bool // a record header made no sense
	brokeAt int
	records TLSRecords
	ccs     bool // change_cipher_spec seen: later handshakes are encrypted
	hello   bool // this direction's hello was read
	// appHist counts the bytes of the first appLimit bytes of
	// application data, for its entropy; nil until there are some (a
	// plaintext flow's direction never has any).
	appHist *[256]uint16 // of at most appLimit bytes
	appLen  int
	scratch []byte
}

// appLimit bounds the application data whose entropy is measured: a few
// records tell ciphertext as well as a gigabyte does.
const appLimit = 4 << 10

// validRecordHeader reports whether b starts with a plausible TLS record
// header.
func validRecordHeader(b []byte) bool {
	if len(b) < 5 {
		return false
	}
	typ, major, minor := b[0], b[1], b[2]
	n := int(b[3])<<8 | int(b[4])
	return typ >= recChangeCipherSpec && typ <= recHeartbeat && major == 3 && minor <= 4 && n > 0 && n <= maxRecordLen
}

// advance reads the complete records st gained.
func (s *tlsStream) advance(st *stream, info *TLSInfo) {
	if !s.started || s.broken {
		return
	}
	s.off = max(s.off, s.start)
	var hb [5]byte
	for {
		h := st.bytes(s.off, 5, hb[:0])
		if len(h) < 5 {
			return
		}
		if !validRecordHeader(h) {
			s.broken, s.brokeAt = true, s.off
			return
		}
		n := int(h[3])<<8 | int(h[4])
		if st.Len() < s.off+5+n {
			return
		}
		if info.RecordVersion == 0 {
			info.RecordVersion = uint16(h[1])<<8 | uint16(h[2])
		}
		body := s.off + 5
		switch h[0] {
		case recHandshake:
			s.records.Handshake++
			if !s.ccs && !s.hello {
				s.scratch = st.copyTo(s.scratch[:0], body, n)
				// After a HelloRetryRequest the real ServerHello follows.
				s.hello = parseHello(s.scratch, info) && !info.HelloRetry
			}
		case recChangeCipherSpec:
			s.records.ChangeCipherSpec++
			s.ccs = true
		case recAlert:
			s.records.Alert++
		case recApplicationData:
			s.records.ApplicationData++
			if room := appLimit - s.appLen; room > 0 {
				st.each(body, body+min(n, room), func(b []byte) {
					if s.appHist == nil {
						s.appHist = new([256]uint16)
					}
					for _, c := range b {
						s.appHist[c]++
					}
					s.appLen += len(b)
				})
			}
		case recHeartbeat:
			s.records.Heartbeat++
		}
		s.off = body + n
	}
}

// helloRetryRandom is the ServerHello.random of a HelloRetryRequest
// (RFC 8446 4.1.3).
var helloRetryRandom = [32]byte{
	0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
	0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
}

// TLS extension numbers read here.
const (
	extServerName        = 0
	extALPN              = 16
	extSupportedVersions = 43
)

// parseHello reads a ClientHello or ServerHello at the start of a
// handshake record's body and reports whether it was one.
func parseHello(body []byte, info *TLSInfo) bool {
	s := cryptobyte.String(body)
	var typ uint8
	var msg cryptobyte.String
	if !s.ReadUint8(&typ) || !s.ReadUint24LengthPrefixed(&msg) {
		return false
	}
	switch typ {
	case 1:
		return parseClientHello(msg, info)
	case 2:
		return parseServerHello(msg, info)
	}
	return false
}

func parseClientHello(s cryptobyte.String, info *TLSInfo) bool {
	var vers uint16
	var random, sid, suites, comp cryptobyte.String
	if !s.ReadUint16(&vers) || !s.ReadBytes((*[]byte)(&random), 32) ||
		!s.ReadUint8LengthPrefixed(&sid) || !s.ReadUint16LengthPrefixed(&suites) ||
		!s.ReadUint8LengthPrefixed(&comp) {
		return false
	}
	info.ClientHello = true
	var exts cryptobyte.String
	if s.Empty() || !s.ReadUint16LengthPrefixed(&exts) {
		return true
	}
	for !exts.Empty() {
		var typ uint16
		var data cryptobyte.String
		if !exts.ReadUint16(&typ) || !exts.ReadUint16LengthPrefixed(&data) {
			return true
		}
		switch typ {
		case extServerName:
			var list cryptobyte.String
			if !data.ReadUint16LengthPrefixed(&list) {
				continue
			}
			for !list.Empty() {
				var nameType uint8
				var name cryptobyte.String
				if !list.ReadUint8(&nameType) || !list.ReadUint16LengthPrefixed(&name) {
					break
				}
				if nameType == 0 && info.SNI == "" {
					info.SNI = printable(name)
				}
			}
		case extALPN:
			var list cryptobyte.String
			if !data.ReadUint16LengthPrefixed(&list) {
				continue
			}
			info.ALPNOffered = info.ALPNOffered[:0]
			for !list.Empty() && len(info.ALPNOffered) < 16 {
				var proto cryptobyte.String
				if !list.ReadUint8LengthPrefixed(&proto) {
					break
				}
				info.ALPNOffered = append(info.ALPNOffered, printable(proto))
			}
		}
	}
	return true
}

func parseServerHello(s cryptobyte.String, info *TLSInfo) bool {
	var vers, suite uint16
	var random, sid cryptobyte.String
	var comp uint8
	if !s.ReadUint16(&vers) || !s.ReadBytes((*[]byte)(&random), 32) ||
		!s.ReadUint8LengthPrefixed(&sid) || !s.ReadUint16(&suite) || !s.ReadUint8(&comp) {
		return false
	}
	info.ServerHello = true
	info.HelloRetry = [32]byte(random) == helloRetryRandom
	info.Version = vers
	info.CipherSuite = suite
	var exts cryptobyte.String
	if s.Empty() || !s.ReadUint16LengthPrefixed(&exts) {
		return true
	}
	for !exts.Empty() {
		var typ uint16
		var data cryptobyte.String
		if !exts.ReadUint16(&typ) || !exts.ReadUint16LengthPrefixed(&data) {
			return true
		}
		switch typ {
		case extSupportedVersions:
			var v uint16
			if data.ReadUint16(&v) {
				info.Version = v
			}
		case extALPN:
			var list, proto cryptobyte.String
			if data.ReadUint16LengthPrefixed(&list) && list.ReadUint8LengthPrefixed(&proto) {
				info.ALPN = printable(proto)
			}
		}
	}
	return true
}

// printable returns b as a string with anything outside printable ASCII
// replaced by '.', so that evidence never carries control bytes.
func printable(b []byte) string {
	out := make([]byte, len(b))
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			c = '.'
		}
		out[i] = c
	}
	return string(out)
}
