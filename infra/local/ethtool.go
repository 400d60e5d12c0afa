//go:build linux

package local

import (
	"runtime"
	"unsafe"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// ethtool's "set TX checksumming" command, and its argument.
const ethtoolSetTxCsum = 0x17

type ethtoolValue struct {
	cmd  uint32
	data uint32
}

// ifreqData is struct ifreq with ifr_data, for SIOCETHTOOL.
type ifreqData struct {
	name [unix.IFNAMSIZ]byte
	data unsafe.Pointer
	_    [16]byte
}

// noTxChecksumOffload makes the host compute TCP and UDP checksums itself.
// A veth otherwise hands packets on with the checksum left to hardware that
// does not exist, and every capture prints "cksum ... (incorrect)", where
// the seeds' tcpdump said "(correct)".
func noTxChecksumOffload(ns netns.NsHandle, link string) error {
	return inNetns(ns, func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		v := ethtoolValue{cmd: ethtoolSetTxCsum}
		var ifr ifreqData
		copy(ifr.name[:], link)
		ifr.data = unsafe.Pointer(&v)
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(&ifr)))
		runtime.KeepAlive(&v)
		if errno != 0 {
			return errno
		}
		return nil
	})
}
