package tui

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/ztlab/zt-lab/check"
	"github.com/ztlab/zt-lab/infra"
	"github.com/ztlab/zt-lab/scenes"
	"github.com/ztlab/zt-lab/sniffer"
)

// The seed's addresses: fcs00 answering the consumer (seeds/000).
var (
	fcs00Addr = netip.MustParseAddr("147.75.98.161")
	fcc00Addr = netip.MustParseAddr("139.178.82.107")
	seedTime  = time.Date(2021, 3, 4, 1, 20, 20, 84000, time.UTC)
	seedNames = sniffer.Names{fcs00Addr: "fcs00", fcc00Addr: "fcc00"}
)

// seedFortune is the fortune the seed's man in the middle read.
const seedFortune = "The holy passion of Friendship is of so sweet and steady and loyal and\n" +
	"enduring a nature that it will last through a whole lifetime, if not asked to\n" +
	"lend money.\n" +
	"\t\t-- Mark Twain, \"Pudd'nhead Wilson's Calendar\"\n"

var (
	macA = net.HardwareAddr{0x02, 0x5a, 0x54, 0, 0, 0x01}
	macB = net.HardwareAddr{0x02, 0x5a, 0x54, 0, 0, 0x02}
)

// frame builds an Ethernet frame from src to dst with gopacket, lengths
// and checksums computed.
func frame(tb testing.TB, src, dst netip.AddrPort, tcp layers.TCP, payload string) []byte {
	tb.Helper()
	ip := &layers.IPv4{
		Version: 4, IHL: 5, Id: 48043, Flags: layers.IPv4DontFragment, TTL: 56,
		Protocol: layers.IPProtocolTCP, SrcIP: src.Addr().AsSlice(), DstIP: dst.Addr().AsSlice(),
	}
	tcp.SrcPort, tcp.DstPort = layers.TCPPort(src.Port()), layers.TCPPort(dst.Port())
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		tb.Fatal(err)
	}
	buf := gopacket.NewSerializeBuffer()
	err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		&layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeIPv4}, ip, &tcp, gopacket.Payload(payload))
	if err != nil {
		tb.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

// seedTimestamps is the TCP timestamp option of the seed's packet.
var seedTimestamps = []layers.TCPOption{
	{OptionType: layers.TCPOptionKindNop, OptionLength: 1},
	{OptionType: layers.TCPOptionKindNop, OptionLength: 1},
	{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: []byte{0x09, 0x19, 0x16, 0x6c, 0x69, 0xd7, 0x29, 0x0d}},
}

// fortuneFlow is one fortune fetched in the clear: the handshake, the
// seed's 261-byte packet (from the client's port port), the ACK and the
// close; times start at at.
func fortuneFlow(tb testing.TB, port uint16, at time.Time, seq uint64) []sniffer.Packet {
	c, s := netip.AddrPortFrom(fcc00Addr, port), netip.AddrPortFrom(fcs00Addr, 8181)
	const cseq, sseq = 300437031, 666152398
	n := uint32(len(seedFortune))
	frames := [][]byte{
		frame(tb, c, s, layers.TCP{Seq: cseq, SYN: true, Window: 64240}, ""),
		frame(tb, s, c, layers.TCP{Seq: sseq, Ack: cseq + 1, SYN: true, ACK: true, Window: 65160}, ""),
		frame(tb, c, s, layers.TCP{Seq: cseq + 1, Ack: sseq + 1, ACK: true, Window: 502}, ""),
		frame(tb, s, c, layers.TCP{Seq: sseq + 1, Ack: cseq + 1, PSH: true, ACK: true, Window: 114, Options: seedTimestamps}, seedFortune),
		frame(tb, c, s, layers.TCP{Seq: cseq + 1, Ack: sseq + 1 + n, ACK: true, Window: 501}, ""),
		frame(tb, s, c, layers.TCP{Seq: sseq + 1 + n, Ack: cseq + 1, FIN: true, ACK: true, Window: 114}, ""),
		frame(tb, c, s, layers.TCP{Seq: cseq + 1, Ack: sseq + 2 + n, FIN: true, ACK: true, Window: 501}, ""),
		frame(tb, s, c, layers.TCP{Seq: sseq + 2 + n, Ack: cseq + 2, ACK: true, Window: 114}, ""),
	}
	ps := make([]sniffer.Packet, len(frames))
	for i, f := range frames {
		ps[i] = sniffer.Packet{Seq: seq + uint64(i), Time: at.Add(time.Duration(i) * 37 * time.Microsecond), Data: f, Length: len(f)}
	}
	return ps
}

// fakeHost is a lab host that is only a name and a state.
type fakeHost struct {
	name  string
	role  infra.Role
	addr  netip.Addr
	state infra.HostState
}

func (h *fakeHost) Name() string     { return h.name }
func (h *fakeHost) Role() infra.Role { return h.role }
func (h *fakeHost) Addr() netip.Addr { return h.addr }

// fakeMu guards the fake hosts' state, which the screen reads while a
// command changes it, as with real hosts.
var fakeMu sync.Mutex

func (h *fakeHost) State() infra.HostState {
	fakeMu.Lock()
	defer fakeMu.Unlock()
	return h.state
}
func (h *fakeHost) Procs() []infra.Proc { return nil }
func (h *fakeHost) DataDir() string     { return "/nonexistent" }
func (h *fakeHost) Recover(context.Context) error {
	fakeMu.Lock()
	defer fakeMu.Unlock()
	h.state = infra.StateUp
	return nil
}

// Fail records the failure: the screen's x key is tested by it.
func (h *fakeHost) Fail(_ context.Context, mode infra.FailMode) error {
	states := map[infra.FailMode]infra.HostState{infra.Crash: infra.StateCrashed, infra.Partition: infra.StatePartitioned, infra.Freeze: infra.StateFrozen, infra.PowerOff: infra.StatePoweredOff}
	fakeMu.Lock()
	defer fakeMu.Unlock()
	if h.state != infra.StateUp {
		return errors.New(h.name + " is already " + string(h.state))
	}
	h.state = states[mode]
	return nil
}
func (h *fakeHost) Start(context.Context, infra.ProcSpec) (infra.Proc, error) {
	return nil, errors.New("fake host")
}
func (h *fakeHost) Run(context.Context, ...string) ([]byte, error) {
	return nil, errors.New("fake host")
}
func (h *fakeHost) DialContext(context.Context, string, string) (net.Conn, error) {
	return nil, errors.New("fake host")
}
func (h *fakeHost) WriteFile(context.Context, string, []byte, os.FileMode) (string, error) {
	return "", errors.New("fake host")
}

// cloudHost is a fake host on a cloud machine, which can also lose power.
type cloudHost struct{ *fakeHost }

func (cloudHost) FailModes() []infra.FailMode { return append(infra.FailModes, infra.PowerOff) }

// fakeLab is the seeds' five hosts, all up.
type fakeLab struct{ hosts []infra.Host }

func newFakeLab() *fakeLab {
	return &fakeLab{hosts: []infra.Host{
		&fakeHost{"consul00", infra.RoleConsul, netip.MustParseAddr("198.18.0.10"), infra.StateUp},
		&fakeHost{"consul01", infra.RoleConsul, netip.MustParseAddr("198.18.0.11"), infra.StateUp},
		&fakeHost{"consul02", infra.RoleConsul, netip.MustParseAddr("198.18.0.12"), infra.StateUp},
		&fakeHost{"fcs00", infra.RoleService, fcs00Addr, infra.StateUp},
		&fakeHost{"fcc00", infra.RoleConsumer, fcc00Addr, infra.StateUp},
	}}
}

func (l *fakeLab) ID() string                  { return "test" }
func (l *fakeLab) Hosts() []infra.Host         { return l.hosts }
func (l *fakeLab) Wire() infra.WireTap         { return infra.WireTap{Interface: "fake0", Names: seedNames} }
func (l *fakeLab) Close(context.Context) error { return nil }
func (l *fakeLab) Host(name string) (infra.Host, bool) {
	for _, h := range l.hosts {
		if h.Name() == name {
			return h, true
		}
	}
	return nil, false
}
func (l *fakeLab) AddHost(context.Context, infra.HostSpec) (infra.Host, error) {
	return nil, errors.New("fake lab")
}

// fakeSource is a lab the screens can read without one: scenes.Env takes
// its packets from a real capture only.
type fakeSource struct {
	mu       sync.Mutex
	lab      infra.Lab
	packets  []sniffer.Packet
	analyzer *sniffer.Analyzer
	stats    sniffer.Stats
	capture  bool
	consumer []string
	served   []string
	meshed   bool
	pcaps    []string
}

func (s *fakeSource) Lab() (scenes.LabView, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lab == nil {
		return scenes.LabView{}, false
	}
	return scenes.ViewOf(s.lab), true
}

// host is a host of the fake lab; a fake source fails its hosts itself,
// without an engine.
func (s *fakeSource) host(name string) (infra.Host, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lab == nil {
		return nil, errors.New("no lab")
	}
	h, ok := s.lab.Host(name)
	if !ok {
		return nil, errors.New("no host " + name)
	}
	return h, nil
}

func (s *fakeSource) Fail(ctx context.Context, host string, mode infra.FailMode) error {
	h, err := s.host(host)
	if err != nil {
		return err
	}
	return h.Fail(ctx, mode)
}

func (s *fakeSource) Recover(ctx context.Context, host string) error {
	h, err := s.host(host)
	if err != nil {
		return err
	}
	return h.Recover(ctx)
}

func (s *fakeSource) Packets(n int) []sniffer.Packet {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sniffer.Packet(nil), tail(s.packets, n)...)
}

func (s *fakeSource) Analyzer() *sniffer.Analyzer { return s.analyzer }
func (s *fakeSource) CaptureStats() (sniffer.Stats, bool) {
	return s.stats, s.capture
}
func (s *fakeSource) ConsumerLog(n int) []string { return tail(s.consumer, n) }
func (s *fakeSource) Served() []string           { return s.served }
func (s *fakeSource) Names() map[netip.Addr]string {
	return seedNames
}
func (s *fakeSource) Meshed() bool { return s.meshed }
func (s *fakeSource) WritePcap(path string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pcaps = append(s.pcaps, path)
	return nil
}

// sniffed is a source that caught n fortune flows on the wire.
func sniffed(tb testing.TB, flows int) *fakeSource {
	var ps []sniffer.Packet
	for i := range flows {
		ps = append(ps, fortuneFlow(tb, uint16(53396+i%10000), seedTime.Add(time.Duration(i)*time.Millisecond), uint64(len(ps)+1))...)
	}
	a := sniffer.NewAnalyzer(seedNames)
	a.AddKnown(seedFortune)
	a.FeedAll(ps)
	a.Flush()
	return &fakeSource{
		lab:      newFakeLab(),
		packets:  ps,
		analyzer: a,
		capture:  true,
		stats:    sniffer.Stats{Seen: uint64(len(ps)), Delivered: uint64(len(ps)), Ring: len(ps)},
		consumer: []string{"You will have long and healthy life.", "You love peace."},
		served:   []string{"You will have long and healthy life.", "You love peace.", seedFortune},
	}
}

// testScenes is a short walkthrough whose steps are plain functions: a
// test of the screens, not of the lab.
func testScenes() []scenes.Scene {
	pass := func(name, ev string) func(context.Context, *scenes.Env) check.Check {
		return func(context.Context, *scenes.Env) check.Check { return check.Passf(name, "%s", ev) }
	}
	return []scenes.Scene{
		{
			ID: "lab", Title: "The lab", Panel: scenes.PanelTopology, Reaches: 1,
			Narrative: "Five hosts on one wire: three **Consul servers**, the Fortune Cookie Service on `fcs00` and its consumer on `fcc00`.",
			Notes:     "Point at the wire: everything between the hosts crosses it.\n\n- five hosts\n- one wire",
			Steps: []scenes.Step{{
				Title:  "Deploy five hosts",
				Shell:  "zt-lab up",
				Do:     func(_ context.Context, env *scenes.Env) error { env.Logf("consul00 198.18.0.10 up"); return nil },
				Verify: pass("five hosts up on one wire", "consul00 consul01 consul02 fcs00 fcc00 up"),
			}},
		},
		{
			ID: "fortune", Title: "The Fortune Cookie Service", Panel: scenes.PanelConsumer, Needs: 1, Reaches: 2,
			Narrative: "The service answers every connection on port 8181 with a fortune, unauthenticated and unencrypted:\n\n```\nnc fcs00 8181\n```",
			Steps: []scenes.Step{
				{
					Title:  "Start the fortune service",
					Shell:  "socat -v tcp-l:8181,bind=0,fork exec:/usr/games/fortune",
					Verify: pass("fcs00 listens on 8181", "fcs00:8181 accepts connections"),
				},
				{
					Title: "Fetch a fortune from fcc00",
					Shell: "nc fcs00 8181",
					Verify: func(context.Context, *scenes.Env) check.Check {
						return check.Failf("consumer received a fortune", "fcc00 -> fcs00:8181: connection refused")
					},
				},
			},
		},
		{
			ID: "mitm", Title: "Man in the middle", Panel: scenes.PanelSniffer, Needs: 2, Reaches: 3,
			Narrative: "Anyone on the wire reads the fortune: **tcpdump -X** shows it in the ASCII column.",
			Steps: []scenes.Step{{
				Title:  "Sniff the wire",
				Shell:  "tcpdump -i lab0 -X port 8181",
				Verify: pass("sniffer read fortune text in the clear", "known fortune found whole on the wire, fcs00.8181 > fcc00.53396, 208 bytes"),
			}},
		},
		{
			ID: "summary", Title: "Summary", Panel: scenes.PanelReport, Needs: 3, Reaches: 3,
			Narrative: "Every check of the walkthrough, with its evidence.",
		},
	}
}

// newTestEngine is an engine over testScenes whose Env builds nothing.
func newTestEngine(sc []scenes.Scene) *scenes.Engine {
	return scenes.New(&scenes.Env{Build: func(context.Context) (infra.Lab, error) { return newFakeLab(), nil }}, sc)
}
