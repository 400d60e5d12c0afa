package mesh

import "fmt"

// Check is a claim about the lab, proved or refuted, with what was seen.
// The scene engine shows Name, a pass or fail mark, and the evidence lines.
type Check struct {
	Name     string
	Pass     bool
	Evidence []string
}

// String is the check as one line, for logs and test failures.
func (c Check) String() string {
	mark := "FAIL"
	if c.Pass {
		mark = "PASS"
	}
	return fmt.Sprintf("%s %s %q", mark, c.Name, c.Evidence)
}

func (c *Check) seen(format string, args ...any) {
	c.Evidence = append(c.Evidence, fmt.Sprintf(format, args...))
}

func pass(name string, evidence ...string) Check {
	return Check{Name: name, Pass: true, Evidence: evidence}
}

func fail(name string, evidence ...string) Check {
	return Check{Name: name, Pass: false, Evidence: evidence}
}
