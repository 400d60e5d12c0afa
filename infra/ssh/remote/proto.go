// Package remote is the half of the SSH provider that runs on a lab's
// hosts: a supervisor that starts and signals the lab's processes, streams
// their output back, writes files, partitions the host with a firewall rule
// and, when its controller goes away, ends everything it started and
// removes every file. It speaks to its controller over the SSH session's
// standard input and output.
package remote

import (
	"encoding/gob"
	"fmt"
	"io"
	"sync"
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
	Version string // zt-lab's version, to catch a stale copy
	Host    string
	Dir     string
	UID     int
	PID     int
}

// Codec reads and writes the protocol's messages on a stream. Writes may
// come from several goroutines.
type Codec struct {
	mu  sync.Mutex
	enc *gob.Encoder
	dec *gob.Decoder
}

// NewCodec speaks the protocol over r and w.
func NewCodec(r io.Reader, w io.Writer) *Codec {
	return &Codec{enc: gob.NewEncoder(w), dec: gob.NewDecoder(r)}
}

// Send writes v (a Request or a Message).
func (c *Codec) Send(v any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.enc.Encode(v)
}

// ReadMessage reads the supervisor's next message.
func (c *Codec) ReadMessage() (Message, error) {
	var m Message
	err := c.dec.Decode(&m)
	if err != nil {
		return Message{}, decodeErr(err)
	}
	return m, nil
}

// ReadRequest reads the controller's next request.
func (c *Codec) ReadRequest() (Request, error) {
	var r Request
	if err := c.dec.Decode(&r); err != nil {
		return Request{}, decodeErr(err)
	}
	return r, nil
}

func decodeErr(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return io.EOF
	}
	return fmt.Errorf("protocol: %w", err)
}
