package scenes

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// notesFront is what a speaker notes file may say about its scene before
// the notes themselves, between two lines of "---":
//
//	---
//	budget: 3m
//	---
type notesFront struct {
	// Budget is how long the presenter means to spend on the scene; the
	// notes screen counts it down.
	Budget string `yaml:"budget"`
}

// MaxSceneBudget bounds one scene's budget: longer is a typo (3h for 3m).
const MaxSceneBudget = 2 * time.Hour

// splitNotes takes the front matter off a notes file: the notes as the
// screens show them, and the scene's time budget (zero when none is
// given). name is the file's, for the error.
func splitNotes(name, src string) (notes string, budget time.Duration, err error) {
	rest, ok := strings.CutPrefix(src, "---\n")
	if !ok {
		return src, 0, nil
	}
	head, body, ok := strings.Cut(rest, "\n---\n")
	if !ok {
		if head, ok = strings.CutSuffix(rest, "\n---"); !ok {
			return "", 0, fmt.Errorf("%s: the front matter opened with --- is never closed: end it with a line of ---", name)
		}
	}
	var fm notesFront
	dec := yaml.NewDecoder(bytes.NewReader([]byte(head)))
	dec.KnownFields(true)
	if err := dec.Decode(&fm); err != nil && !errors.Is(err, io.EOF) {
		return "", 0, fmt.Errorf("%s: front matter: %v: write it as `budget: 3m`", name, firstLine(err.Error()))
	}
	if fm.Budget != "" {
		budget, err = ParseBudget(fm.Budget, MaxSceneBudget)
		if err != nil {
			return "", 0, fmt.Errorf("%s: front matter: %w", name, err)
		}
	}
	return strings.TrimLeft(body, "\n"), budget, nil
}

// ParseBudget reads a time budget as a presenter writes it: a Go
// duration ("3m", "90s", "1h15m") above zero and at most limit. A bare
// number is refused with the unit it probably lacks.
func ParseBudget(s string, limit time.Duration) (time.Duration, error) {
	s = strings.TrimSpace(s)
	d, err := time.ParseDuration(s)
	switch {
	case err != nil && s != "" && strings.Trim(s, "0123456789") == "":
		return 0, fmt.Errorf("budget %q has no unit: write %sm for minutes", s, s)
	case err != nil:
		return 0, fmt.Errorf("budget %q is not a duration: write it like 3m, 90s or 1h15m", s)
	case d <= 0:
		return 0, fmt.Errorf("budget %q: give a time above zero, like 3m", s)
	case d > limit:
		return 0, fmt.Errorf("budget %q is over %v: write minutes as m (3m), hours as h", s, limit)
	}
	return d, nil
}
