package scenes

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ztlab/zt-lab/check"
)

// RunInfo is what a report says of the run besides its results: which
// zt-lab and consul ran it, on which provider, and when.
type RunInfo struct {
	Version  string    `json:"zt_lab_version"`
	Commit   string    `json:"commit"`
	Consul   string    `json:"consul_version"`
	Provider string    `json:"provider"`
	Started  time.Time `json:"started"`
	// Took is the whole run, from the first scene to the report card.
	Took time.Duration `json:"duration_ns"`
}

// Report is a run's results: what `zt-lab run --json` writes, as one
// object, and what --junit renders.
type Report struct {
	RunInfo
	Totals Totals        `json:"totals"`
	Scenes []ReportScene `json:"scenes"`
}

// Totals counts the checks: a step that erred counts as failed, as on the
// report card; a check that could not be put to the test here is skipped.
type Totals struct {
	Passed  int `json:"passed"`
	Failed  int `json:"failed"`
	Skipped int `json:"skipped"`
}

// ReportScene is one scene that ran, with the steps that ran.
type ReportScene struct {
	Number int          `json:"number"` // 1-based, as --scene counts
	ID     string       `json:"id"`
	Title  string       `json:"title"`
	Steps  []ReportStep `json:"steps"`
}

// ReportStep is one step's outcome: its check with the evidence, or the
// error that stopped it.
type ReportStep struct {
	Title string        `json:"title"`
	Shell string        `json:"shell,omitempty"`
	Check *check.Check  `json:"check,omitempty"`
	Error string        `json:"error,omitempty"`
	Took  time.Duration `json:"took_ns"`
}

// add counts one step's result.
func (t *Totals) add(res Result) {
	switch {
	case res.Err != nil:
		t.Failed++
	case res.Check == nil:
	case res.Check.Pass:
		t.Passed++
	case res.Check.Skipped != "":
		t.Skipped++
	default:
		t.Failed++
	}
}

// Tally is what the walkthrough has checked so far, apart from one scene
// (the report card that asks): the totals of its checks, and which scenes
// ran a step and which did not.
type Tally struct {
	Totals
	Ran, NotRun []string // scene titles, in the walkthrough's order
}

// tally counts every result so far but those of scene except.
func (e *Engine) tally(except int) Tally {
	var t Tally
	ran := map[int]bool{}
	for _, res := range e.Results() {
		if res.Scene == except {
			continue
		}
		ran[res.Scene] = true
		t.add(res)
	}
	for i, sc := range e.Scenes {
		switch {
		case i == except:
		case ran[i]:
			t.Ran = append(t.Ran, sc.Title)
		default:
			t.NotRun = append(t.NotRun, sc.Title)
		}
	}
	return t
}

// NewReport collects every result of e so far under info.
func NewReport(e *Engine, info RunInfo) Report {
	r := Report{RunInfo: info, Scenes: []ReportScene{}}
	for _, res := range e.Results() {
		sc := e.Scenes[res.Scene]
		if n := len(r.Scenes); n == 0 || r.Scenes[n-1].Number != res.Scene+1 {
			r.Scenes = append(r.Scenes, ReportScene{Number: res.Scene + 1, ID: sc.ID, Title: sc.Title})
		}
		st := ReportStep{Title: res.Title, Check: res.Check, Took: res.Took}
		if res.Step < len(sc.Steps) {
			st.Shell = sc.Steps[res.Step].Shell
		}
		if res.Err != nil {
			st.Error = res.Err.Error()
		}
		r.Totals.add(res)
		last := &r.Scenes[len(r.Scenes)-1]
		last.Steps = append(last.Steps, st)
	}
	return r
}

// WriteJSON writes r as one indented JSON object.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// The JUnit XML shapes CI systems read (Jenkins, GitLab, GitHub's test
// reporters): a suite per scene, a test case per check, a failure with the
// check's evidence, an error for a step that could not finish.
type (
	junitSuites struct {
		XMLName  xml.Name     `xml:"testsuites"`
		Name     string       `xml:"name,attr"`
		Tests    int          `xml:"tests,attr"`
		Failures int          `xml:"failures,attr"`
		Errors   int          `xml:"errors,attr"`
		Skipped  int          `xml:"skipped,attr"`
		Time     string       `xml:"time,attr"`
		Suites   []junitSuite `xml:"testsuite"`
	}
	junitSuite struct {
		Name       string          `xml:"name,attr"`
		Tests      int             `xml:"tests,attr"`
		Failures   int             `xml:"failures,attr"`
		Errors     int             `xml:"errors,attr"`
		Skipped    int             `xml:"skipped,attr"`
		Time       string          `xml:"time,attr"`
		Timestamp  string          `xml:"timestamp,attr,omitempty"`
		Properties []junitProperty `xml:"properties>property,omitempty"`
		Cases      []junitCase     `xml:"testcase"`
	}
	junitProperty struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	}
	junitCase struct {
		Name      string        `xml:"name,attr"`
		Classname string        `xml:"classname,attr"`
		Time      string        `xml:"time,attr"`
		Failure   *junitProblem `xml:"failure,omitempty"`
		Error     *junitProblem `xml:"error,omitempty"`
		Skipped   *junitSkipped `xml:"skipped,omitempty"`
		SystemOut string        `xml:"system-out,omitempty"`
	}
	junitSkipped struct {
		Message string `xml:"message,attr"`
	}
	junitProblem struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Text    string `xml:",chardata"`
	}
)

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// WriteJUnit writes r as JUnit XML: each check a test case (its evidence
// as the case's output, or as the failure's text; a skipped check skipped
// with its reason), each step that erred an errored case named after the
// step.
func (r Report) WriteJUnit(w io.Writer) error {
	out := junitSuites{Name: "zt-lab walkthrough", Time: seconds(r.Took)}
	props := []junitProperty{
		{"zt_lab_version", r.Version}, {"commit", r.Commit},
		{"consul_version", r.Consul}, {"provider", r.Provider},
	}
	for _, sc := range r.Scenes {
		s := junitSuite{Name: fmt.Sprintf("%d. %s", sc.Number, sc.Title), Properties: props}
		if !r.Started.IsZero() {
			s.Timestamp = r.Started.UTC().Format("2006-01-02T15:04:05")
		}
		var took time.Duration
		for _, st := range sc.Steps {
			took += st.Took
			c := junitCase{Classname: "zt-lab." + sc.ID, Time: seconds(st.Took)}
			switch {
			case st.Error != "":
				c.Name = st.Title
				c.Error = &junitProblem{Message: st.Error, Type: "step error", Text: st.Error}
				s.Errors++
			case st.Check == nil:
				continue
			default:
				c.Name = st.Check.Name
				evidence := strings.Join(st.Check.Evidence, "\n")
				switch {
				case st.Check.Pass:
					c.SystemOut = evidence
				case st.Check.Skipped != "":
					c.Skipped = &junitSkipped{Message: st.Check.Skipped}
					s.Skipped++
				default:
					c.Failure = &junitProblem{Message: st.Check.Name, Type: "check failed", Text: evidence}
					s.Failures++
				}
			}
			s.Tests++
			s.Cases = append(s.Cases, c)
		}
		s.Time = seconds(took)
		out.Tests += s.Tests
		out.Failures += s.Failures
		out.Errors += s.Errors
		out.Skipped += s.Skipped
		out.Suites = append(out.Suites, s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
