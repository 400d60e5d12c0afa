package scenes

import (
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ztlab/zt-lab/assets"
	"github.com/ztlab/zt-lab/mesh"
)

// narration is the embedded text of a scene file (ID.md or ID.notes.md).
func narration(t *testing.T, name string) string {
	t.Helper()
	b, err := assets.FS.ReadFile("scenes/" + name)
	if err != nil {
		t.Fatalf("narration %s: %v", name, err)
	}
	return string(b)
}

// The identity scene shows the SPIFFE URI a sidecar's leaf carries; the
// check compares each leaf with mesh.ServiceURI. The two must be one name,
// with the CA's trust domain in its placeholder.
func TestTheIdentityNarrationShowsTheURITheCheckWants(t *testing.T) {
	var shown string
	for l := range strings.SplitSeq(narration(t, "identity.md"), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "spiffe://") {
			shown = strings.TrimSpace(l)
		}
	}
	if shown == "" {
		t.Fatal("identity.md shows no spiffe:// URI")
	}
	if want := mesh.ServiceURI("<trust-domain>.consul", mesh.DefaultDatacenter, mesh.FortuneService); shown != want {
		t.Errorf("identity.md shows %s; the check wants %s", shown, want)
	}
	// And the leaf's life it states is the one the check allows.
	if want := fmt.Sprintf("valid for **%d hours**", int(mesh.LeafTTL.Hours())); !strings.Contains(narration(t, "identity.md"), want) {
		t.Errorf("identity.md does not say %q, the mesh.LeafTTL the check holds each leaf to", want)
	}
}

// Every figure a scene's narration or notes states is the one the code
// runs with, or the one its check holds the lab to: a narration that says
// "under a second" over a check that allows three is a claim nothing
// verifies. Each row finds the figure in its sentence (a rephrased
// sentence fails the row too: look at the figure again when it does).
func TestTheNarrationsFiguresAreTheCodes(t *testing.T) {
	ms := func(d time.Duration) string { return fmt.Sprint(d.Milliseconds()) }
	sec := func(d time.Duration) string { return fmt.Sprint(d.Seconds()) }
	count := map[int]string{1: "One", 2: "Two", 3: "three", 10: "ten"}
	raft := fastRaftTimeout(t)
	for _, tc := range []struct {
		file, sentence string // sentence: a regexp, the figure its one group
		want           string
	}{
		// The resilience scene: how soon a failure is seen, and why.
		{"resilience.md", `leaves the healthy set within (\d+) s`, sec(DetectTarget)},
		{"resilience.md", `elect a new one within (\d+) s`, sec(FailoverTarget)},
		{"resilience.md", `probes one of its peers every (\d+) ms`, ms(mesh.GossipProbeInterval)},
		{"resilience.md", `after (\d+) ms of suspicion`, ms(mesh.GossipSuspicionTimeout)},
		{"resilience.md", `\(Consul: every (\d+) s\)`, sec(mesh.ConsulProbeInterval)},
		{"resilience.md", `suspicion \(Consul: (\d+) s\)`, sec(mesh.ConsulSuspicionMult * mesh.ConsulProbeInterval)},
		// Consul's verdict: a probe interval to find the node silent, then
		// its suspicion.
		{"resilience.md", `Consul's defaults take about (\d+) s`, sec((mesh.ConsulSuspicionMult + 1) * mesh.ConsulProbeInterval)},
		{"resilience.md", `half of Raft's stock timeouts \((\d+) ms\)`, ms(mesh.RaftTimeout)},
		{"resilience.md", `no answer within (\d+) ms`, ms(LoadTryTimeout)},
		{"resilience.md", `on a new\s+connection \(up to (\w+) times\)`, count[LoadRetries]},
		{"resilience.md", `keeps asking\s+(\w+) times a second`, count[int(time.Second/LoadEvery)]},
		{"resilience.md", `(\w+) more fortune hosts join`, count[len(ScaleHosts)]},
		{"resilience.notes.md", `Serf gossip here: probe (\d+) ms`, ms(mesh.GossipProbeInterval)},
		{"resilience.notes.md", `suspicion ×(\d+):`, fmt.Sprint(mesh.GossipSuspicionMult)},
		{"resilience.notes.md", `failed (\d+) ms after the first failed probe`, ms(mesh.GossipSuspicionTimeout)},
		{"resilience.notes.md", `Consul's default: (\d+) s, ×\d`, sec(mesh.ConsulProbeInterval)},
		{"resilience.notes.md", `Consul's default: \d+ s, ×(\d)`, fmt.Sprint(mesh.ConsulSuspicionMult)},
		{"resilience.notes.md", `heartbeat and election timeouts (\d+) ms`, ms(mesh.RaftTimeout)},
		{"resilience.notes.md", `up to (\d+) times, \d+ ms each`, fmt.Sprint(LoadRetries)},
		{"resilience.notes.md", `up to \d+ times, (\d+) ms each`, ms(LoadTryTimeout)},
		// The seeds' ports.
		{"sidecars.md", "local sidecar on `127\\.0\\.0\\.1:(\\d+)`", fmt.Sprint(mesh.MeshPort)},
		{"sidecars.md", `fcc-sidecar :(\d+) ==mTLS==>`, fmt.Sprint(mesh.MeshPort)},
		{"sidecars.md", `==mTLS==> :(\d+) fcs-sidecar`, fmt.Sprint(mesh.MeshPort)},
		{"sidecars.md", `fcs-sidecar --> fcs :(\d+)`, fmt.Sprint(mesh.FortunePort)},
		{"sidecars.notes.md", `asks 127\.0\.0\.1:(\d+) instead`, fmt.Sprint(mesh.MeshPort)},
		{"sidecars.notes.md", `instead of fcs00:(\d+)`, fmt.Sprint(mesh.FortunePort)},
		{"door.md", "still listens on `0\\.0\\.0\\.0:(\\d+)`", fmt.Sprint(mesh.FortunePort)},
		{"door.md", `tcp-l:(\d+),bind=127\.0\.0\.1`, fmt.Sprint(mesh.FortunePort)},
		{"door.md", `From .fcc00.,\s+port (\d+) is \*\*refused\*\*`, fmt.Sprint(mesh.FortunePort)},
		{"door.notes.md", `the sidecar's (\d+)`, fmt.Sprint(mesh.MeshPort)},
		{"refused.md", `sidecar on port (\d+)`, fmt.Sprint(mesh.MeshPort)},
		{"refused.notes.md", `every agent's :(\d+) from the wire`, fmt.Sprint(mesh.HTTPPort)},
		// What the identity and encrypted scenes' checks hold the lab to.
		{"identity.md", `valid for \*\*(\d+) hours\*\*`, fmt.Sprint(int(mesh.LeafTTL.Hours()))},
		{"encrypted.notes.md", `under (\d+) % of the most its sample can show`, fmt.Sprint(math.Round(100 * noiseShare))},
		{"encrypted.notes.md", `\((\d\.\d) of 8 bits/byte for 256 bytes`, fmt.Sprintf("%.1f", noiseShare*maxEntropy(256))},
		// The lab's consul really is built with the raft timeout told.
		{"resilience.notes.md", `heartbeat and election timeouts (\d+) ms`, ms(raft)},
	} {
		t.Run(tc.file+": "+tc.sentence, func(t *testing.T) {
			m := regexp.MustCompile(tc.sentence).FindStringSubmatch(narration(t, tc.file))
			if m == nil {
				t.Fatalf("%s no longer says %q: find its figure and keep this row with it", tc.file, tc.sentence)
			}
			if m[1] != tc.want {
				t.Errorf("%s says %q, the code %q: %s", tc.file, m[1], tc.want, m[0])
			}
		})
	}
}

// fastRaftTimeout is the timeout tools/consul/fastraft.sh builds the
// lab's consul with: what its sed puts in place of raft's 1000 ms.
func fastRaftTimeout(t *testing.T) time.Duration {
	t.Helper()
	b, err := os.ReadFile("../tools/consul/fastraft.sh")
	if err != nil {
		t.Fatal(err)
	}
	var got []time.Duration
	for _, m := range regexp.MustCompile(`(HeartbeatTimeout|ElectionTimeout): \*\\\)1000 \\\* time\\\.Millisecond,\$/\\1(\d+) \* time\.Millisecond,/`).FindAllSubmatch(b, -1) {
		n, _ := strconv.Atoi(string(m[2]))
		got = append(got, time.Duration(n)*time.Millisecond)
	}
	if len(got) != 2 || got[0] != got[1] {
		t.Fatalf("fastraft.sh: heartbeat and election timeouts %v, want one of each, equal", got)
	}
	if got[0] != mesh.RaftTimeout {
		t.Errorf("fastraft.sh builds raft with %s, mesh.RaftTimeout says %s", got[0], mesh.RaftTimeout)
	}
	return got[0]
}
