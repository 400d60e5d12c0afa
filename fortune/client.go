package fortune

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"
)

// maxReply bounds what Get reads: far more than any fortune, far less than
// a stream that never ends.
const maxReply = 64 << 10

// Get connects to addr, reads until the server closes the connection, as
// `nc fcs00 8181` does, and returns what it read. timeout, if positive,
// bounds the whole exchange. An empty reply is an error.
//
// Errors name the step that failed and its cause, not the address, which
// the caller knows: "connect: connection refused", "read: i/o timeout",
// "empty reply", "lookup fcs09: no such host". They wrap the system error,
// so errors.Is(err, syscall.ECONNREFUSED) works.
func Get(ctx context.Context, addr string, timeout time.Duration) (string, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", stepError("connect", err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetReadDeadline(dl)
	}
	// Cancelling ctx must end a read that has no deadline too.
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
	defer stop()

	b, err := io.ReadAll(io.LimitReader(conn, maxReply+1))
	switch {
	case err != nil && errors.Is(ctx.Err(), context.Canceled):
		return "", stepError("read", context.Canceled)
	case err != nil:
		return "", stepError("read", err)
	case len(b) > maxReply:
		return "", fmt.Errorf("read: the reply is longer than %d bytes", maxReply)
	case len(b) == 0:
		return "", errors.New("empty reply")
	}
	return string(b), nil
}

// stepError names the step and keeps the cause short: a *net.OpError
// repeats the address, an *os.SyscallError the system call.
func stepError(step string, err error) error {
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return dns
	}
	var op *net.OpError
	if errors.As(err, &op) {
		err = op.Err
	}
	var sys *os.SyscallError
	if errors.As(err, &sys) {
		err = sys.Err
	}
	return fmt.Errorf("%s: %w", step, err)
}
