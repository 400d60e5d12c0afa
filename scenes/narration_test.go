package scenes

import (
	"fmt"
	"strings"
	"testing"

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
