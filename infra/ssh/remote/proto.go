// Package remote is the half of the SSH provider that runs on a lab's
// hosts: a supervisor that starts and signals the lab's processes, streams
// their output back, writes files, partitions the host with a firewall rule
// and, when its controller goes away, ends everything it started and
// removes every file. It speaks to its controller over the SSH session's
// standard input and output.
package remote

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"fmt"
	"io"
	"sync"
	"time"
)

// Op is what a Request asks the supervisor to do.
type Op string

const (
	OpStart     Op = "start"     // start a long-lived process: Name, Argv, Env, Dir
	OpRun       Op = "run"       // run a command to completion: Argv; reply Out
	OpCancel    Op = "cancel"    // end the run request Ref
	OpWrite     Op = "write"     // write Data to Path (under the host's dir) with Perm
	OpSignal    Op = "signal"    // send Signal to process Proc's group
	OpPartition Op = "partition" // drop traffic from and to Peers
	OpHeal      Op = "heal"      // undo OpPartition
	OpBeat      Op = "beat"      // the controller is there; no reply
)

// BeatEvery is how often a controller sends OpBeat. A supervisor that hears
// nothing for its Config.Silence (DefaultSilence unless set) takes the
// controller for gone, as after a network drop no TCP timeout would tell it
// about for hours, and ends everything it started.
const (
	BeatEvery      = 2 * time.Second
	DefaultSilence = 10 * time.Second
)

// Request is one thing the controller asks. ID is unique per connection;
// the Reply carries it back.
type Request struct {
	ID     uint64
	Op     Op
	Name   string
	Argv   []string
	Env    []string
	Dir    string
	Path   string
	Data   []byte
	Perm   uint32
	Proc   uint64
	Signal int
	Ref    uint64
	Peers  []string
}

// Message is what the supervisor sends: a reply to a request (ID set) or
// an event about a process (ID zero, Proc set).
type Message struct {
	ID   uint64
	Err  string
	Out  []byte // a run's combined output
	Path string // where a write put its file
	PID  int    // a started process's pid

	Proc   uint64 // the process an event is about (its start request's ID)
	Line   string // a line of its output
	Exited bool   // it has exited; Err says how ("" for status 0)

	Hello *Hello // the first message on a connection
}

// Hello is the supervisor's first word: who and where it is.
type Hello struct {
	Host string
	UID  int // not 0: the supervisor cannot partition or capture
	PID  int
}

// MaxMessage bounds one message on the wire. A run's output and a
// written file stay under MaxData, so every message fits; a length above
// MaxMessage is a broken or hostile stream, refused before anything is
// allocated for it.
const (
	MaxMessage = 16 << 20
	MaxData    = 8 << 20
)

// Codec reads and writes the protocol's messages on a stream: each is a
// 4-byte big-endian length, then a gob of that many bytes. Writes may come
// from several goroutines.
type Codec struct {
	mu  sync.Mutex
	w   io.Writer
	r   io.Reader
	buf []byte
}

// NewCodec speaks the protocol over r and w.
func NewCodec(r io.Reader, w io.Writer) *Codec {
	return &Codec{r: r, w: w}
}

// Send writes v (a Request or a Message).
func (c *Codec) Send(v any) error {
	var b bytes.Buffer
	b.Write([]byte{0, 0, 0, 0})
	if err := gob.NewEncoder(&b).Encode(v); err != nil {
		return err
	}
	n := b.Len() - 4
	if n > MaxMessage {
		return fmt.Errorf("protocol: a message of %d bytes is over the limit of %d", n, MaxMessage)
	}
	binary.BigEndian.PutUint32(b.Bytes(), uint32(n))
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := c.w.Write(b.Bytes())
	return err
}

// ReadMessage reads the supervisor's next message.
func (c *Codec) ReadMessage() (Message, error) {
	var m Message
	err := c.read(&m)
	return m, err
}

// ReadRequest reads the controller's next request.
func (c *Codec) ReadRequest() (Request, error) {
	var r Request
	err := c.read(&r)
	return r, err
}

// read decodes the next message into v. Reads come from one goroutine.
func (c *Codec) read(v any) error {
	var hdr [4]byte
	if _, err := io.ReadFull(c.r, hdr[:]); err != nil {
		return decodeErr(err)
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > MaxMessage {
		return fmt.Errorf("protocol: a message of %d bytes is over the limit of %d: is the other end a zt-lab of this version?", n, MaxMessage)
	}
	if cap(c.buf) < int(n) {
		c.buf = make([]byte, n)
	}
	buf := c.buf[:n]
	if _, err := io.ReadFull(c.r, buf); err != nil {
		return decodeErr(err)
	}
	if err := gob.NewDecoder(bytes.NewReader(buf)).Decode(v); err != nil {
		return fmt.Errorf("protocol: %w", err)
	}
	return nil
}

func decodeErr(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return io.EOF
	}
	return fmt.Errorf("protocol: %w", err)
}

// Banner is the line the supervisor writes before the protocol starts, so
// that a controller can skip whatever a login shell printed first.
const Banner = "zt-lab supervisor ready"
