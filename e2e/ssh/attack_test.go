package ssh

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/ztlab/zt-lab/e2e/internal/report"
	"github.com/ztlab/zt-lab/infra"
)

// TestTamperingOverSSH gives the inventory a machine of role attacker on
// the same segment as fcc00 and fcs00: over SSH alone, zt-lab adds it to
// the lab, starts mallory on it, and both tampering scenes run, every
// check passing (none skipped); then the machines are as clean as before.
func TestTamperingOverSSH(t *testing.T) {
	m := newMachines(t, true, infra.HostSpec{Name: infra.AttackerHost, Role: infra.RoleAttacker})
	reportPath := filepath.Join(m.dir, "report.json")
	start := time.Now()
	stdout, stderr, code := m.zt(t, 10*time.Minute, "run", "--provider", "ssh", "--inventory", m.inventory, "--json", reportPath, "--scene", "4,11")
	name := fmt.Sprintf("zt-lab run --provider ssh --scene 4,11, with an attacker (%.1f s)", time.Since(start).Seconds())
	report.Run{Name: name, Report: reportPath, Stdout: stdout, Stderr: stderr, Code: code, Claims: report.TamperingClaims}.Check(t)
	m.assertNothingLeft(t)
}
