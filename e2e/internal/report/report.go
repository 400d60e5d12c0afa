// Package report checks a walkthrough's JSON report the same way for every
// provider: the run exited 0, every step ran without error, every check
// passed with evidence, and every claim of the story was checked.
package report

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// Claims are the checks a full walkthrough must make, by name, in the
// order of the scenes.
var Claims = slices.Concat(
	[]string{
		"five hosts up on one wire",
		"consumer received a fortune",
		"the sniffer read the fortune in the clear",
	},
	tamperingBefore,
	[]string{
		"leader elected",
		"3 servers, all raft voters",
		"5 members alive",
		"fcs registered in plaintext, with no sidecar",
		"sidecars healthy",
		"consumer received a fortune through the mesh",
		"no fortune bytes on the wire through the mesh",
		"Consul gossip and RPC on the wire are encrypted",
		"fortune service listens on 127.0.0.1:8181",
		"fcc00 → fcs00:8181 refused",
		"fcc is still allowed to fcs",
		"rogue → fcs denied",
		"the rogue cannot change the rules",
	},
	tamperingAfter,
	[]string{
		"every service carries an identity from the active root",
		"fortunes flow through a CA rotation, with leaves from the new root",
		"no private key crossed the wire",
	},
	ResilienceClaims,
	SummaryClaims,
)

// SummaryClaims is the report card's own claim: every check that ran
// passed, counted, on the provider that ran them.
var SummaryClaims = []string{"every check that ran passed"}

// ResilienceClaims are the claims of the resilience scene, the timed
// failures.
var ResilienceClaims = []string{
	"three fcs instances healthy",
	"the consumer kept getting fortunes while instances failed",
	"a new leader took over and the mesh kept serving",
}

// tamperingBefore and tamperingAfter are the claims of the two attacker
// scenes: Tampering, before the mesh, and Tampering, refused, after the
// intentions.
var (
	tamperingBefore = []string{
		"fcc00's ARP cache maps fcs00 to mallory's MAC",
		"the consumer printed a fortune that fcs00 never served",
		"the sniffer sees the served and the tampered fortune on the two legs",
		"mallory gone: ARP caches clean, fortunes untampered",
	}
	tamperingAfter = []string{
		"fcc00's ARP cache maps fcs00 to mallory's MAC, in front of the mesh",
		"0 tampered fortunes accepted by the consumer",
		"mallory's impersonation of fcs00 refused",
		"fcs00's sidecar refuses mallory without a lab leaf",
		"mallory cannot reach an agent's API to change the rules",
		"mallory gone: ARP caches clean, mesh fortunes flow",
	}
)

// TamperingClaims are the claims of the man in the middle before and
// after the mesh: a lab without an attacker host skips them, saying why.
var TamperingClaims = slices.Concat(tamperingBefore, tamperingAfter)

// Run is one `zt-lab run --json Report` and what it printed.
type Run struct {
	Name           string // the command, as the log names it
	Report         string // the path given to --json
	Stdout, Stderr string
	Code           int
	Claims         []string // the checks it must make; nil: Claims
	JUnit          string   // the path given to --junit, if any
	// MaySkip are the claims that may be skipped (with a reason) rather
	// than passed: those of a scene this provider cannot stage.
	MaySkip []string
}

// Check fails t for a non-zero exit, every step that erred, every check
// that failed or has no evidence, every claim never checked, and a missing
// report card. The failures come first, a line each, and the transcript
// last: a CI summary may show only the head of a long log, and the head
// must say what failed.
func (r Run) Check(t testing.TB) {
	t.Helper()
	for _, f := range r.failures() {
		t.Error(f)
	}
	t.Logf("%s (exit %d):\n%s\n%s", r.Name, r.Code, r.Stdout, r.Stderr)
}

// reportScene is a scene of the JSON report, as this package reads it.
type reportScene struct {
	Number int          `json:"number"`
	Steps  []reportStep `json:"steps"`
}

type reportStep struct {
	Title string       `json:"title"`
	Error string       `json:"error"`
	Check *reportCheck `json:"check"`
}

type reportCheck struct {
	Name     string   `json:"name"`
	Pass     bool     `json:"pass"`
	Evidence []string `json:"evidence"`
	Skipped  string   `json:"skipped"`
}

// counts are a report's steps by outcome, as its totals count them.
type counts struct{ passed, failed, skipped int }

func (n *counts) add(st reportStep) {
	switch c := st.Check; {
	case st.Error != "":
		n.failed++
	case c == nil:
	case c.Pass:
		n.passed++
	case c.Skipped != "":
		n.skipped++
	default:
		n.failed++
	}
}

// summaryFailures holds the report card's check to the run's own data:
// it names the provider of the report, and counts exactly the checks of
// the other scenes. A run without the report card has nothing to hold.
func summaryFailures(provider string, scenes []reportScene) []string {
	var n counts
	var card []string
	found := false
	for _, sc := range scenes {
		for _, st := range sc.Steps {
			if c := st.Check; c != nil && slices.Contains(SummaryClaims, c.Name) {
				card, found = c.Evidence, true
				continue
			}
			n.add(st)
		}
	}
	if !found {
		return nil
	}
	want := fmt.Sprintf(": %d checks passed, %d failed, %d skipped", n.passed, n.failed, n.skipped)
	if len(card) == 0 || !strings.HasPrefix(card[0], "on "+provider+" (") || !strings.HasSuffix(card[0], want) {
		return []string{fmt.Sprintf("the report card says %q; the report's provider is %q and its other scenes hold%s", card, provider, want)}
	}
	return nil
}

func (r Run) failures() []string {
	var out []string
	if r.Code != 0 {
		out = append(out, fmt.Sprintf("%s: exit %d: %s", r.Name, r.Code, tail(r.Stderr, 10)))
	}
	claims := r.Claims
	if claims == nil {
		claims = Claims
	}
	b, err := os.ReadFile(r.Report)
	if err != nil {
		return append(out, fmt.Sprintf("no report: %v", err))
	}
	var rep struct {
		Version  string    `json:"zt_lab_version"`
		Consul   string    `json:"consul_version"`
		Provider string    `json:"provider"`
		Started  time.Time `json:"started"`
		Took     int64     `json:"duration_ns"`
		Totals   struct {
			Passed  int `json:"passed"`
			Failed  int `json:"failed"`
			Skipped int `json:"skipped"`
		} `json:"totals"`
		Scenes []reportScene `json:"scenes"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		return append(out, fmt.Sprintf("report %s: %v", r.Report, err))
	}
	if rep.Version == "" || rep.Consul == "" || rep.Provider == "" || rep.Started.IsZero() || rep.Took <= 0 {
		out = append(out, fmt.Sprintf("report %s: zt_lab_version %q, consul_version %q, provider %q, started %v, duration_ns %d: each must be set",
			r.Report, rep.Version, rep.Consul, rep.Provider, rep.Started, rep.Took))
	}
	checks := map[string]bool{}
	var n counts
	cases := 0
	for _, sc := range rep.Scenes {
		for _, res := range sc.Steps {
			n.add(res)
			if res.Error != "" || res.Check != nil {
				cases++ // a JUnit test case each
			}
			if res.Error != "" {
				out = append(out, fmt.Sprintf("scene %d, %s: %s", sc.Number, res.Title, res.Error))
			}
			if res.Check == nil {
				continue
			}
			checks[res.Check.Name] = true
			skip := res.Check.Skipped != "" && slices.Contains(r.MaySkip, res.Check.Name)
			if (!res.Check.Pass && !skip) || len(res.Check.Evidence) == 0 {
				out = append(out, fmt.Sprintf("scene %d: check %q pass=%v evidence:\n\t%s",
					sc.Number, res.Check.Name, res.Check.Pass, strings.Join(res.Check.Evidence, "\n\t")))
			}
		}
	}
	out = append(out, summaryFailures(rep.Provider, rep.Scenes)...)
	if rep.Totals.Passed != n.passed || rep.Totals.Failed != n.failed || rep.Totals.Skipped != n.skipped {
		out = append(out, fmt.Sprintf("report totals %+v, but its scenes hold %d passed, %d failed and %d skipped", rep.Totals, n.passed, n.failed, n.skipped))
	}
	if r.JUnit != "" {
		out = append(out, junitFailures(r.JUnit, cases, maps.Clone(checks))...)
	}
	for _, want := range claims {
		if !checks[want] {
			out = append(out, fmt.Sprintf("the walkthrough never checked %q", want))
		}
	}
	if !strings.Contains(r.Stdout, "checks passed, 0 failed") {
		out = append(out, "no report card in the output")
	}
	return out
}

// junitFailures checks the --junit file: JUnit XML whose test cases are
// the report's checks and erred steps, tests cases in all, each named,
// every claim checked among them, and no failure or error.
func junitFailures(path string, tests int, checks map[string]bool) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return []string{fmt.Sprintf("no JUnit report: %v", err)}
	}
	var doc struct {
		XMLName  xml.Name `xml:"testsuites"`
		Tests    int      `xml:"tests,attr"`
		Failures int      `xml:"failures,attr"`
		Errors   int      `xml:"errors,attr"`
		Suites   []struct {
			Name  string `xml:"name,attr"`
			Tests int    `xml:"tests,attr"`
			Cases []struct {
				Name    string    `xml:"name,attr"`
				Failure *struct{} `xml:"failure"`
				Error   *struct{} `xml:"error"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		return []string{fmt.Sprintf("JUnit report %s: %v", path, err)}
	}
	var out []string
	n := 0
	for _, s := range doc.Suites {
		if s.Tests != len(s.Cases) {
			out = append(out, fmt.Sprintf("JUnit suite %q says tests=%d and holds %d cases", s.Name, s.Tests, len(s.Cases)))
		}
		for _, c := range s.Cases {
			n++
			if c.Failure != nil || c.Error != nil {
				out = append(out, fmt.Sprintf("JUnit case %q failed", c.Name))
			}
			delete(checks, c.Name)
		}
	}
	if n != tests || doc.Tests != tests || doc.Failures != 0 || doc.Errors != 0 {
		out = append(out, fmt.Sprintf("JUnit report: %d cases, tests=%d failures=%d errors=%d; want %d cases, none failed", n, doc.Tests, doc.Failures, doc.Errors, tests))
	}
	for name := range checks {
		out = append(out, fmt.Sprintf("JUnit report has no case for the check %q", name))
	}
	return out
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
