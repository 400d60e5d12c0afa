package equinix

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/ztlab/zt-lab/infra/equinix/metaltest"
)

// dialingRunner is a runner that can also connect from a device, as the
// SSH provider's host connection does.
type dialingRunner struct {
	fakeRunner
	dialed []string
}

func (r *dialingRunner) DialContext(_ context.Context, host, network, addr string) (net.Conn, error) {
	r.dialed = append(r.dialed, host+" "+network+" "+addr)
	c, s := net.Pipe()
	s.Close()
	return c, nil
}

// TestADeviceDialsThroughItsRunner: a device connects "from itself" only
// through a runner that can, and says so otherwise.
func TestADeviceDialsThroughItsRunner(t *testing.T) {
	lab := upLab(t, metaltest.New(t))
	h, _ := lab.Host("fcs00")
	ctx := context.Background()
	if _, err := h.DialContext(ctx, "tcp", "127.0.0.1:8500"); !errors.Is(err, ErrNotConnected) {
		t.Errorf("dial with no runner: %v, want not connected", err)
	}
	lab.Connect(&fakeRunner{})
	if _, err := h.DialContext(ctx, "tcp", "127.0.0.1:8500"); err == nil || !strings.Contains(err.Error(), "cannot connect from a device") {
		t.Errorf("dial through a runner that cannot: %v", err)
	}
	r := &dialingRunner{}
	lab.Connect(r)
	c, err := h.DialContext(ctx, "tcp", "127.0.0.1:8500")
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if len(r.dialed) != 1 || r.dialed[0] != "fcs00 tcp 127.0.0.1:8500" {
		t.Errorf("dialed %v, want fcs00's 127.0.0.1:8500", r.dialed)
	}
}
