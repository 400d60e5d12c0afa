package sniffer

import (
	"encoding/binary"
	"fmt"
)

// Consul's ports: server RPC, LAN and WAN gossip (Serf over memberlist).
const (
	portConsulRPC      = 8300
	portConsulLAN      = 8301
	portConsulWAN      = 8302
	memberlistOverhead = 1 + 12 + 16 // version byte, GCM nonce, GCM tag
)

// consulRPCTypes names the first byte of a connection to a Consul server's
// RPC port (agent/pool/conn.go). RPCTLS and RPCTLSInsecure are followed by
// a TLS handshake; the others by their protocol in the clear. A native
// TLS connection starts with a handshake record (0x16) instead.
var consulRPCTypes = map[byte]string{
	0: "RPCConsul (msgpack RPC)",
	1: "RPCRaft",
	3: "RPCTLS",
	4: "RPCMultiplexV2 (yamux)",
	5: "RPCSnapshot",
	6: "RPCGossip",
	7: "RPCTLSInsecure",
	8: "RPCGRPC",
	9: "RPCRaftForwarding",
}

// rpcTLS reports whether a Consul RPC type byte announces TLS.
func rpcTLS(b byte) bool { return b == 3 || b == 7 }

// memberlist message types (hashicorp/memberlist net.go).
var memberlistTypes = [...]string{
	0: "ping", 1: "indirect-ping", 2: "ack", 3: "suspect", 4: "alive", 5: "dead",
	6: "push-pull", 7: "compound", 8: "user", 9: "compress", 10: "encrypt",
	11: "nack", 12: "crc", 13: "err",
}

const (
	mlCompound   = 7
	mlCompress   = 9
	mlEncrypt    = 10
	mlHasCRC     = 12
	mlHasLabel   = 244
	mlMaxLabel   = 255
	mlPushPull   = 6
	mlMaxMsgType = 13
)

func memberlistType(t byte) string {
	if int(t) < len(memberlistTypes) {
		return memberlistTypes[t]
	}
	return fmt.Sprintf("type-%d", t)
}

// gossipKind is what one gossip datagram or stream start was found to be.
type gossipKind uint8

const (
	gossipOther gossipKind = iota
	gossipPlain
	gossipEncrypted
)

// gossipShape describes one memberlist message or encrypted envelope.
type gossipShape struct {
	kind    gossipKind
	msgType byte // plaintext: the message type
	version byte // encrypted: the encryption version byte
	label   bool
	body    []byte // encrypted: nonce, ciphertext and tag
}

// stripLabel removes a memberlist label header ([244][len][label]).
func stripLabel(b []byte) ([]byte, bool) {
	if len(b) >= 2 && b[0] == mlHasLabel && len(b) >= 2+int(b[1]) {
		return b[2+int(b[1]):], true
	}
	return b, false
}

// firstKeys are the first field names of the messages memberlist and
// Serf encode (go-msgpack writes a struct's fields in order): a plaintext
// message starts with a map holding one of them first. Random bytes do
// so about never, so ciphertext is not mistaken for plaintext.
var firstKeys = map[string]bool{
	"SeqNo":       true, // ping, indirect ping, ack, nack
	"Incarnation": true, // alive, suspect, dead
	"Nodes":       true, // push/pull header
	"Algo":        true, // compress
	"Error":       true, // err
	"LTime":       true, // Serf join, leave, user event, query, response
	"Node":        true,
	"Name":        true,
}

// msgpackMap reports whether b starts with a msgpack map whose first key
// is the first field of a memberlist or Serf message.
func msgpackMap(b []byte) bool {
	if len(b) < 3 {
		return false
	}
	switch {
	case b[0] >= 0x81 && b[0] <= 0x8f:
		b = b[1:]
	case b[0] == 0xde && len(b) >= 5:
		b = b[3:]
	default:
		return false
	}
	if b[0] < 0xa1 || b[0] > 0xbf {
		return false
	}
	n := int(b[0] & 0x1f)
	return len(b) >= 1+n && firstKeys[string(b[1:1+n])]
}

// plainMessage reports whether b is a memberlist message in the clear.
func plainMessage(b []byte, depth int) (byte, bool) {
	if len(b) < 2 || depth > 2 {
		return 0, false
	}
	t := b[0]
	switch t {
	case mlHasCRC:
		if len(b) < 6 {
			return 0, false
		}
		return plainMessage(b[5:], depth+1)
	case mlCompound:
		n := int(b[1])
		if n == 0 || len(b) < 2+2*n {
			return 0, false
		}
		first := int(binary.BigEndian.Uint16(b[2:]))
		rest := b[2+2*n:]
		if first > len(rest) {
			first = len(rest)
		}
		if _, ok := plainMessage(rest[:first], depth+1); !ok {
			return 0, false
		}
		return t, true
	case mlCompress, mlEncrypt:
		// compress is a msgpack map too; encrypt is not plaintext.
		if t == mlCompress && msgpackMap(b[1:]) {
			return t, true
		}
		return 0, false
	case 8: // user message: a Serf message type, then msgpack
		if len(b) >= 4 && b[1] < 32 && msgpackMap(b[2:]) {
			return t, true
		}
		return 0, false
	}
	if t <= mlMaxMsgType && msgpackMap(b[1:]) {
		return t, true
	}
	return 0, false
}

// gossipPacket classifies one UDP gossip datagram.
func gossipPacket(b []byte) gossipShape {
	b, label := stripLabel(b)
	if t, ok := plainMessage(b, 0); ok {
		return gossipShape{kind: gossipPlain, msgType: t, label: label}
	}
	if len(b) >= memberlistOverhead && b[0] <= 1 && looksRandom(b[1:]) {
		// Version 0 pads the plaintext to the AES block size.
		if b[0] == 1 || (len(b)-memberlistOverhead)%16 == 0 {
			return gossipShape{kind: gossipEncrypted, version: b[0], label: label, body: b[1:]}
		}
	}
	return gossipShape{label: label}
}

// looksRandom reports whether b is no more printable than random bytes
// tend to be (37%): a message of another shape in the clear, full of
// names, is not taken for an encrypted envelope.
func looksRandom(b []byte) bool { return printableRatio(b) < 0.6 }

// gossipStream classifies the start of a TCP gossip stream (push/pull
// state exchange, or a fallback ping).
func gossipStream(b []byte) gossipShape {
	b, label := stripLabel(b)
	if len(b) >= 5+memberlistOverhead && b[0] == mlEncrypt && b[5] <= 1 && looksRandom(b[6:]) {
		n := int(binary.BigEndian.Uint32(b[1:5]))
		if n >= memberlistOverhead {
			end := min(len(b), 5+n)
			return gossipShape{kind: gossipEncrypted, version: b[5], label: label, body: b[6:end]}
		}
	}
	if t, ok := plainMessage(b, 0); ok {
		return gossipShape{kind: gossipPlain, msgType: t, label: label}
	}
	return gossipShape{label: label}
}

// rpcPlainShape checks that what follows a plaintext Consul RPC type byte
// looks like that protocol, so that a verdict does not rest on one byte.
func rpcPlainShape(typ byte, rest []byte) bool {
	switch typ {
	case 0, 1, 9: // msgpack RPC, raft: a msgpack map or array
		return len(rest) > 0 && (rest[0] >= 0x80 && rest[0] <= 0x9f || rest[0] >= 0xdc && rest[0] <= 0xdf)
	case 4: // yamux header: version 0, type 0-3
		return len(rest) >= 12 && rest[0] == 0 && rest[1] <= 3
	case 8: // gRPC: the HTTP/2 preface
		return len(rest) >= 3 && string(rest[:3]) == "PRI"
	case 5, 6:
		return len(rest) > 0
	}
	return false
}
