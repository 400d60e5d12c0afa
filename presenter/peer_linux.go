//go:build linux

package presenter

import (
	"fmt"
	"net"
	"os"

	"github.com/ztlab/zt-lab/infra"
)

// checkPeer refuses a caller that is not this user (or root, which is
// this user inside the lab's sandbox, where the screen runs).
func checkPeer(c *net.UnixConn) error {
	uid, err := infra.PeerUID(c)
	if err != nil {
		return err
	}
	if uid != uint32(os.Getuid()) && uid != 0 {
		return fmt.Errorf("uid %d is not you", uid)
	}
	return nil
}
