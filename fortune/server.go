package fortune

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// serveTimeout bounds the work for one connection: getting the fortune
// and writing it. A client that never reads must not hold a goroutine.
const serveTimeout = 10 * time.Second

// lingerTimeout is how long a connection waits, its fortune sent, for the
// client to close its side: socat's default -t.
const lingerTimeout = 500 * time.Millisecond

// Server is the Fortune Cookie Service: every connection it accepts gets
// exactly one fortune, then the server closes it, as socat's fork+exec
// does. A Server is safe for concurrent use once its fields are set.
type Server struct {
	// Source hands out the fortunes.
	Source Source
	// OnServe, if set, is called after a fortune was written to a
	// connection, with the connection's remote address.
	OnServe func(remote, fortune string)
	// OnError, if set, is called when a connection got no fortune, or when
	// accepting one failed (remote is then empty).
	OnError func(remote string, err error)

	hooks sync.Mutex // calls to OnServe and OnError never overlap
}

// Serve accepts connections on ln until ctx ends, then closes ln, waits
// for the connections in progress and returns nil. It returns an error if
// ln fails for good before that. Serve closes ln in every case.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	defer ln.Close()
	if s.Source == nil {
		return errors.New("fortune server has no Source")
	}
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()

	var conns sync.WaitGroup
	defer conns.Wait()
	var delay time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("accept: %w", err)
			}
			// Running out of file descriptors and the like passes: wait a
			// little, as net/http does, rather than give up the service.
			s.failed("", fmt.Errorf("accept: %w", err))
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(delay):
			}
			continue
		}
		delay = 0
		conns.Go(func() { s.serveConn(ctx, conn) })
	}
}

func (s *Server) serveConn(ctx context.Context, conn net.Conn) {
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, serveTimeout)
	defer cancel()

	remote := conn.RemoteAddr().String()
	fortune, err := s.Source.Next(ctx)
	if err != nil {
		s.failed(remote, fmt.Errorf("get a fortune: %w", err))
		return
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetWriteDeadline(dl)
	}
	if _, err := io.WriteString(conn, fortune); err != nil {
		s.failed(remote, fmt.Errorf("write: %w", err))
		return
	}
	if s.OnServe != nil {
		s.hooks.Lock()
		s.OnServe(remote, fortune)
		s.hooks.Unlock()
	}
	linger(conn)
}

// linger closes the way socat does at EOF (its -t 0.5): shut down the
// sending side, then read and drop what the client sends until it closes
// too, for at most lingerTimeout. Closing with the client's bytes unread
// would send a RST, which may destroy the fortune still waiting in the
// client's receive buffer.
func linger(conn net.Conn) {
	hc, ok := conn.(interface{ CloseWrite() error })
	if !ok || hc.CloseWrite() != nil {
		return
	}
	conn.SetReadDeadline(time.Now().Add(lingerTimeout))
	io.Copy(io.Discard, io.LimitReader(conn, maxReply))
}

func (s *Server) failed(remote string, err error) {
	if s.OnError != nil {
		s.hooks.Lock()
		defer s.hooks.Unlock()
		s.OnError(remote, err)
	}
}

// Listen listens on TCP addr (HOST:PORT; an empty host means every
// address, port 0 a free one). Its errors are one plain sentence a person
// can act on; the one for a port already taken wraps syscall.EADDRINUSE.
func Listen(ctx context.Context, addr string) (net.Listener, error) {
	host, port, err := splitAddr(addr, false)
	if err != nil {
		return nil, err
	}
	// An IPv4 address means IPv4 only, as socat's tcp-l: Go would otherwise
	// bind 0.0.0.0 on both families and report it as [::].
	network := "tcp"
	if ip := net.ParseIP(host); ip != nil && ip.To4() != nil {
		network = "tcp4"
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, network, addr)
	if err == nil {
		return ln, nil
	}
	if host == "" {
		host = "every address"
	}
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return nil, plainError{fmt.Sprintf("port %s on %s is already in use", port, host), err}
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return nil, plainError{fmt.Sprintf("%s is not an address of this host", host), err}
	case errors.Is(err, syscall.EACCES):
		return nil, plainError{fmt.Sprintf("port %s needs privileges: pick one above 1023, or run as root", port), err}
	}
	return nil, fmt.Errorf("listen on %s: %w", addr, err)
}

// CheckAddr reports whether addr is a HOST:PORT a client can dial: a
// non-empty host (an IP address or a name such as fcs00) and a port from
// 1 to 65535. It does not resolve the host.
func CheckAddr(addr string) error {
	_, _, err := splitAddr(addr, true)
	return err
}

// ErrBadAddr is wrapped by the errors of Listen and CheckAddr for an
// address that is not HOST:PORT.
var ErrBadAddr = errors.New("not HOST:PORT")

func splitAddr(addr string, dialing bool) (host, port string, err error) {
	bad := func(why string) error {
		return plainError{fmt.Sprintf("%q is not HOST:PORT: %s", addr, why), ErrBadAddr}
	}
	host, port, err = net.SplitHostPort(addr)
	if err != nil {
		var ae *net.AddrError
		if errors.As(err, &ae) {
			return "", "", bad(ae.Err)
		}
		return "", "", bad(err.Error())
	}
	lowest := 0
	if dialing {
		lowest = 1
		if host == "" {
			return "", "", bad("the host is missing")
		}
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || int(n) < lowest {
		return "", "", bad(fmt.Sprintf("the port must be a number from %d to 65535", lowest))
	}
	return host, port, nil
}

// plainError is an error whose message is written for a person, while it
// still wraps the system error for errors.Is.
type plainError struct {
	msg string
	err error
}

func (e plainError) Error() string { return e.msg }
func (e plainError) Unwrap() error { return e.err }
