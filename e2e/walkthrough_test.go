package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ztlab/zt-lab/e2e/internal/report"
)

// TestWalkthroughHeadless runs every scene of the walkthrough for real, as
// CI does, and asserts that every check passed with evidence.
func TestWalkthroughHeadless(t *testing.T) {
	u := newUser(t)
	reportPath := filepath.Join(u.dir, "..", filepath.Base(u.dir)+"-report.json")
	junitPath := strings.TrimSuffix(reportPath, ".json") + ".xml"
	t.Cleanup(func() { os.Remove(reportPath); os.Remove(junitPath) })
	r, err := u.runLong(600, "run", "--json", reportPath, "--junit", junitPath)
	if err != nil {
		t.Fatal(err)
	}
	report.Run{Name: "zt-lab run", Report: reportPath, JUnit: junitPath, Stdout: r.stdout, Stderr: r.stderr, Code: r.code}.Check(t)
}
