package report

import (
	"strings"
	"testing"
)

// The tampering claims are exactly those of the two attacker scenes.
func TestTamperingClaimsAreTheAttackersScenes(t *testing.T) {
	if len(TamperingClaims) != 10 {
		t.Fatalf("%d tampering claims: %q", len(TamperingClaims), TamperingClaims)
	}
	for _, c := range TamperingClaims {
		if !strings.Contains(c, "mallory") && !strings.Contains(c, "tampered") && !strings.Contains(c, "never served") {
			t.Errorf("claim %q is not the attacker's", c)
		}
	}
}
