// Package check holds Check, the proof of one claim about the lab: passed
// or not, and the evidence seen. The mesh makes them, the scenes' steps
// return them, the engine reports them and the screens show them; it
// imports nothing of the project so that every one of them can use it.
package check

import "fmt"

// Check is a claim about the lab, proved or refuted, with what was seen.
// Screens show Name, a pass or fail mark, and the evidence lines; the JSON
// field names are those of `zt-lab run --json`.
type Check struct {
	Name     string   `json:"name"`
	Pass     bool     `json:"pass"`
	Evidence []string `json:"evidence,omitempty"`
	// Skipped, when set, says why the claim could not be put to the test
	// in this lab ("no attacker host in this lab"): neither a pass nor a
	// failure, and never shown as a pass.
	Skipped string `json:"skipped,omitempty"`
}

// Skipf is a check that could not be made here, with the reason.
func Skipf(name, format string, args ...any) Check {
	why := fmt.Sprintf(format, args...)
	return Check{Name: name, Skipped: why, Evidence: []string{"skipped: " + why}}
}

// Done reports whether the check did not fail: it passed, or was skipped
// with a reason.
func (c Check) Done() bool { return c.Pass || c.Skipped != "" }

// Failed is a failing check with the given evidence lines.
func Failed(name string, evidence ...string) Check {
	return Check{Name: name, Evidence: evidence}
}

// Passf is a passing check with one formatted line of evidence.
func Passf(name, format string, args ...any) Check {
	return Check{Name: name, Pass: true, Evidence: []string{fmt.Sprintf(format, args...)}}
}

// Failf is a failing check with one formatted line of evidence.
func Failf(name, format string, args ...any) Check {
	return Failed(name, fmt.Sprintf(format, args...))
}

// Seen adds a formatted line of evidence.
func (c *Check) Seen(format string, args ...any) {
	c.Evidence = append(c.Evidence, fmt.Sprintf(format, args...))
}

// String is the check as one line, for logs and test failures.
func (c Check) String() string {
	mark := "FAIL"
	switch {
	case c.Pass:
		mark = "PASS"
	case c.Skipped != "":
		mark = "SKIP"
	}
	return fmt.Sprintf("%s %s %q", mark, c.Name, c.Evidence)
}
