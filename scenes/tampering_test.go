package scenes

import (
	"bytes"
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/ztlab/zt-lab/infra"
)

func TestTamperingInALabWithoutAnAttackerIsSkippedSayingWhy(t *testing.T) {
	env := checkEnv(newCheckLab(), "", nil, nil)
	e := New(env, []Scene{sceneTampering()})
	e.setStage(StageFortune)
	var out bytes.Buffer
	if err := Headless(context.Background(), e, &out, nil); err != nil {
		t.Fatalf("headless: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		"   [SKIP] fcc00's ARP cache maps fcs00 to mallory's MAC",
		"          skipped: no attacker host in this lab",
		"  - 1. mallory gone: ARP caches clean, fortunes untampered: skipped: no attacker host in this lab",
		"0 checks passed, 0 failed, 4 skipped",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	for _, r := range e.Results() {
		if r.Check == nil || r.Check.Pass || r.Check.Skipped == "" {
			t.Errorf("%s: %v, want skipped, not passed", r.Title, r.Check)
		}
	}
}

// attackerLab is a paper lab that says it can have an attacker, and then
// cannot add it.
type attackerLab struct{ *checkLab }

func (attackerLab) Attacker() (infra.HostSpec, string, bool) {
	return infra.HostSpec{Name: infra.AttackerHost, Role: infra.RoleAttacker}, "", true
}

func TestTamperingFailsWhenTheAttackerCannotJoin(t *testing.T) {
	env := checkEnv(newCheckLab(), "", nil, nil)
	env.lab = attackerLab{newCheckLab()}
	e := New(env, []Scene{sceneTampering()})
	e.setStage(StageFortune)
	var out bytes.Buffer
	if err := Headless(context.Background(), e, &out, nil); err == nil {
		t.Fatalf("a lab that promised an attacker and could not add it passed:\n%s", out.String())
	}
	if strings.Contains(out.String(), "skipped") {
		t.Errorf("the failure was reported as a skip:\n%s", out.String())
	}
}

func TestARPCacheAndLinkLinesAreReadFromIP(t *testing.T) {
	h := &checkHost{name: "fcc00", addr: netip.MustParseAddr("198.18.0.30"), run: func(argv []string) ([]byte, error) {
		switch strings.Join(argv, " ") {
		case "ip -o -4 addr show":
			return []byte("1: lo    inet 127.0.0.1/8 scope host lo\n2: eth0    inet 198.18.0.30/24 brd 198.18.0.255 scope global eth0\n"), nil
		case "ip -o link show dev eth0":
			return []byte("2: eth0@if7: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT group default qlen 1000\\    link/ether 22:d0:c2:ff:13:3f brd ff:ff:ff:ff:ff:ff link-netnsid 0\n"), nil
		case "ip neigh show 198.18.0.20":
			return []byte("198.18.0.20 dev eth0 lladdr 92:59:61:11:67:d7 REACHABLE\n"), nil
		case "ip neigh show 198.18.0.21":
			return nil, nil
		}
		return nil, nil
	}}
	ctx := context.Background()
	mac, dev, err := hostMAC(ctx, h)
	if err != nil || mac != "22:d0:c2:ff:13:3f" || dev != "eth0" {
		t.Errorf("hostMAC = %q %q %v", mac, dev, err)
	}
	for _, tc := range []struct{ addr, mac string }{{"198.18.0.20", "92:59:61:11:67:d7"}, {"198.18.0.21", ""}} {
		if got, _, err := neighbour(ctx, h, netip.MustParseAddr(tc.addr)); err != nil || got != tc.mac {
			t.Errorf("neighbour %s = %q %v, want %q", tc.addr, got, err, tc.mac)
		}
	}
}

func TestLineDiffMarksWhatMalloryChanged(t *testing.T) {
	got := lineDiff("A journey begins.\n\t-- proverb\n", "A MALLORY begins.\n\t-- proverb\n…and send your password to mallory\n")
	want := []string{"  - A journey begins.", "  + A MALLORY begins.", "    \t-- proverb", "  + …and send your password to mallory"}
	if !slices.Equal(got, want) {
		t.Errorf("lineDiff = %q, want %q", got, want)
	}
}
