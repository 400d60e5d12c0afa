package e2e

import (
	"encoding/json"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// TestCompletionAndStatusJSON: with a lab up, `status --json` is one
// object a script can read, and a host argument completes to the lab's
// host names.
func TestCompletionAndStatusJSON(t *testing.T) {
	u := newUser(t)
	u.must("up", "--detach")

	var st struct {
		ID     string       `json:"id"`
		Subnet netip.Prefix `json:"subnet"`
		Hosts  []struct {
			Name  string     `json:"name"`
			Role  string     `json:"role"`
			Addr  netip.Addr `json:"addr"`
			State string     `json:"state"`
			Procs []struct {
				Name string `json:"name"`
				PID  int    `json:"pid"`
			} `json:"procs"`
		} `json:"hosts"`
	}
	out := u.must("status", "--json")
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	var names []string
	fortune := false
	for _, h := range st.Hosts {
		names = append(names, h.Name)
		if !st.Subnet.Contains(h.Addr) || h.State != "up" {
			t.Errorf("host %s: address %s (lab subnet %s), state %q", h.Name, h.Addr, st.Subnet, h.State)
		}
		for _, p := range h.Procs {
			if h.Name == "fcs00" && p.PID > 0 && strings.Contains(p.Name, "fortune") {
				fortune = true
			}
		}
	}
	if want := []string{"consul00", "consul01", "consul02", "fcs00", "fcc00"}; !sameSet(names, want) || st.ID == "" {
		t.Errorf("status --json: lab %q, hosts %q, want %q", st.ID, names, want)
	}
	if !fortune {
		t.Errorf("status --json shows no fortune process on fcs00:\n%s", out)
	}

	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"__complete", "shell", ""}, []string{"consul00", "consul01", "consul02", "fcs00", "fcc00"}},
		{[]string{"__complete", "fail", "fc"}, []string{"fcs00", "fcc00"}},
		{[]string{"__complete", "recover", "consul0"}, []string{"consul00", "consul01", "consul02"}},
		{[]string{"__complete", "exec", "fcc"}, []string{"fcc00"}},
		{[]string{"__complete", "shell", "fcc00", ""}, nil},
	} {
		out := u.must(tc.args...)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		var got []string
		for _, l := range lines[:len(lines)-1] {
			name, _, _ := strings.Cut(l, "\t")
			got = append(got, name)
		}
		if !sameSet(got, tc.want) || lines[len(lines)-1] != ":4" {
			t.Errorf("zt-lab %q completes %q (%q), want %q and :4", tc.args, got, out, tc.want)
		}
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
