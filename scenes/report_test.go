package scenes

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ztlab/zt-lab/check"
)

// reportedEngine runs a small walkthrough whose checks pass, fail and err.
func reportedEngine(t *testing.T) *Engine {
	t.Helper()
	pass := func(name string) Step {
		return Step{Title: "step " + name, Shell: "echo " + name, Do: func(context.Context, *Env) error { return nil },
			Verify: func(context.Context, *Env) check.Check { return check.Passf(name, "saw %s", name) }}
	}
	e := New(&Env{}, []Scene{
		{ID: "wire", Title: "The wire", AnyStage: true, Steps: []Step{
			pass("fortune in the clear"),
			{Title: "look again", Verify: func(context.Context, *Env) check.Check {
				return check.Failed("no fortune bytes on the wire", "fcs00:8181 → fcc00: \"You will be audited\"", "14 bytes in the clear")
			}},
		}},
		{ID: "quiet", Title: "Nothing to check", AnyStage: true, Steps: []Step{{Title: "just narrate"}, {Title: "no attacker here",
			Verify: func(context.Context, *Env) check.Check {
				return check.Skipf("mallory tampers", "this lab has no attacker host")
			}}}},
		{ID: "mesh", Title: "The mesh", AnyStage: true, Steps: []Step{
			pass("leader elected"),
			{Title: "sidecars", Do: func(context.Context, *Env) error { return errors.New("sidecar for fcs did not start") }},
		}},
	})
	for i := range e.Scenes {
		if err := e.RunScene(context.Background(), i); err != nil && !errors.Is(err, ErrCheckFailed) {
			t.Logf("scene %d: %v", i+1, err)
		}
	}
	return e
}

var testInfo = RunInfo{Version: "v0.9.0", Commit: "abc123", Consul: "v1.22.7", Provider: "local",
	Started: time.Date(2026, 12, 4, 19, 0, 0, 0, time.UTC), Took: 38 * time.Second}

func TestRunJSONIsOneObject(t *testing.T) {
	var b bytes.Buffer
	if err := NewReport(reportedEngine(t), testInfo).WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Version  string    `json:"zt_lab_version"`
		Commit   string    `json:"commit"`
		Consul   string    `json:"consul_version"`
		Provider string    `json:"provider"`
		Started  time.Time `json:"started"`
		Took     int64     `json:"duration_ns"`
		Totals   struct {
			Passed, Failed, Skipped int
		} `json:"totals"`
		Scenes []struct {
			Number int    `json:"number"`
			ID     string `json:"id"`
			Title  string `json:"title"`
			Steps  []struct {
				Title string       `json:"title"`
				Shell string       `json:"shell"`
				Check *check.Check `json:"check"`
				Error string       `json:"error"`
				Took  *int64       `json:"took_ns"`
			} `json:"steps"`
		} `json:"scenes"`
	}
	dec := json.NewDecoder(&b)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("the report is not one object of the documented shape: %v", err)
	}
	if dec.More() {
		t.Error("more than one JSON value in the report")
	}
	if got.Version != "v0.9.0" || got.Commit != "abc123" || got.Consul != "v1.22.7" || got.Provider != "local" ||
		!got.Started.Equal(testInfo.Started) || got.Took != int64(38*time.Second) {
		t.Errorf("run info %+v", got)
	}
	if got.Totals.Passed != 2 || got.Totals.Failed != 2 || got.Totals.Skipped != 1 {
		t.Errorf("totals %+v, want 2 passed (two checks), 2 failed (one check, one error), 1 skipped", got.Totals)
	}
	if len(got.Scenes) != 3 || got.Scenes[0].Number != 1 || got.Scenes[2].ID != "mesh" || got.Scenes[2].Title != "The mesh" {
		t.Fatalf("scenes %+v", got.Scenes)
	}
	wire := got.Scenes[0].Steps
	if len(wire) != 2 || wire[0].Shell != "echo fortune in the clear" || !wire[0].Check.Pass || wire[0].Took == nil ||
		wire[1].Check.Pass || len(wire[1].Check.Evidence) != 2 {
		t.Errorf("scene 1 steps %+v", wire)
	}
	if s := got.Scenes[1].Steps; len(s) != 2 || s[0].Check != nil || s[0].Error != "" || s[1].Check.Skipped != "this lab has no attacker host" {
		t.Errorf("a step with no check and a skipped one: %+v", s)
	}
	if s := got.Scenes[2].Steps[1]; s.Error != "sidecar for fcs did not start" || s.Check != nil {
		t.Errorf("the step that erred: %+v", s)
	}
}

// The JUnit shape CI systems read, as the common XSD (Jenkins' junit-10)
// has it: testsuites of testsuite of testcase, a failure or error child,
// and counts that agree with the cases.
type junitDoc struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Errors   int      `xml:"errors,attr"`
	Skipped  int      `xml:"skipped,attr"`
	Suites   []struct {
		Name       string `xml:"name,attr"`
		Tests      int    `xml:"tests,attr"`
		Failures   int    `xml:"failures,attr"`
		Errors     int    `xml:"errors,attr"`
		Time       string `xml:"time,attr"`
		Timestamp  string `xml:"timestamp,attr"`
		Properties []struct {
			Name  string `xml:"name,attr"`
			Value string `xml:"value,attr"`
		} `xml:"properties>property"`
		Cases []struct {
			Name      string `xml:"name,attr"`
			Classname string `xml:"classname,attr"`
			Time      string `xml:"time,attr"`
			Failure   *struct {
				Message string `xml:"message,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
			Error *struct {
				Message string `xml:"message,attr"`
			} `xml:"error"`
			Skipped *struct {
				Message string `xml:"message,attr"`
			} `xml:"skipped"`
			SystemOut string `xml:"system-out"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func TestRunJUnitHasACasePerCheck(t *testing.T) {
	var b bytes.Buffer
	if err := NewReport(reportedEngine(t), testInfo).WriteJUnit(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites") {
		t.Errorf("no XML header and testsuites root:\n%s", b.String())
	}
	var doc junitDoc
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if doc.Tests != 5 || doc.Failures != 1 || doc.Errors != 1 || doc.Skipped != 1 || len(doc.Suites) != 3 {
		t.Fatalf("testsuites: %d tests, %d failures, %d errors, %d skipped, %d suites; want 5, 1, 1, 1, 3\n%s", doc.Tests, doc.Failures, doc.Errors, doc.Skipped, len(doc.Suites), b.String())
	}
	tests, failures, errs := 0, 0, 0
	for _, s := range doc.Suites {
		if s.Tests != len(s.Cases) || s.Time == "" || s.Timestamp != "2026-12-04T19:00:00" {
			t.Errorf("suite %q: tests=%d with %d cases, time %q, timestamp %q", s.Name, s.Tests, len(s.Cases), s.Time, s.Timestamp)
		}
		props := map[string]string{}
		for _, p := range s.Properties {
			props[p.Name] = p.Value
		}
		if props["consul_version"] != "v1.22.7" || props["provider"] != "local" || props["commit"] != "abc123" {
			t.Errorf("suite %q properties %v", s.Name, props)
		}
		for _, c := range s.Cases {
			tests++
			if c.Name == "" || c.Classname == "" || c.Time == "" {
				t.Errorf("case %+v lacks a name, classname or time", c)
			}
			if c.Failure != nil {
				failures++
			}
			if c.Error != nil {
				errs++
			}
		}
	}
	if tests != 5 || failures != 1 || errs != 1 {
		t.Errorf("cases: %d, failures %d, errors %d", tests, failures, errs)
	}
	if quiet := doc.Suites[1]; quiet.Name != "2. Nothing to check" || len(quiet.Cases) != 1 || quiet.Cases[0].Skipped == nil ||
		quiet.Cases[0].Skipped.Message != "this lab has no attacker host" || quiet.Cases[0].Failure != nil {
		t.Errorf("a scene with a narration step and a skipped check: %+v", quiet)
	}
	failed := doc.Suites[0].Cases[1]
	if failed.Name != "no fortune bytes on the wire" || failed.Classname != "zt-lab.wire" || failed.Failure == nil ||
		failed.Failure.Text != "fcs00:8181 → fcc00: \"You will be audited\"\n14 bytes in the clear" {
		t.Errorf("the failed check: %+v", failed)
	}
	if passed := doc.Suites[0].Cases[0]; passed.Failure != nil || passed.SystemOut != "saw fortune in the clear" {
		t.Errorf("the passed check: %+v", passed)
	}
	if erred := doc.Suites[2].Cases[1]; erred.Name != "sidecars" || erred.Error == nil || erred.Error.Message != "sidecar for fcs did not start" {
		t.Errorf("the step that erred: %+v", erred)
	}
}
