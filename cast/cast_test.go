package cast

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// clock is a fake time.Now that moves on by step on every call.
func clock(start time.Time, step time.Duration) func() time.Time {
	t := start.Add(-step)
	return func() time.Time { t = t.Add(step); return t }
}

var header = Header{
	Cols: 120, Rows: 36,
	Started: time.Date(2026, 12, 4, 18, 0, 0, 0, time.UTC),
	Env:     map[string]string{"TERM": "xterm-256color", "SHELL": "/bin/sh"},
	Title:   "zt-lab: from plaintext to a zero-trust service mesh",
}

func TestWriterKeepsCharactersWhole(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, header)
	if err != nil {
		t.Fatal(err)
	}
	check := []byte("✓") // three bytes
	for i, chunk := range [][]byte{
		[]byte("\x1b[1mfcs00\x1b[0m served a fortune "),
		check[:1], // the character's first byte waits for the rest
		check[1:],
		append([]byte("PLAINTEXT "), check[:2]...),
		append(check[2:], "\r\n"...),
		{0xff, 0xfe}, // not UTF-8 at all: written as it is
	} {
		if err := w.Output(time.Duration(i)*250*time.Millisecond, chunk); err != nil {
			t.Fatal(err)
		}
	}
	golden(t, "split.cast", buf.Bytes())
}

func TestRecordAShortProgram(t *testing.T) {
	// One write with no newline: the terminal hands it over in one piece.
	cmd := exec.Command("sh", "-c", `printf 'fcc00 got a fortune \342\234\223'`)
	var buf bytes.Buffer
	if err := Record(cmd, &buf, header, clock(header.Started, 500*time.Millisecond), nil); err != nil {
		t.Fatal(err)
	}
	golden(t, "printf.cast", buf.Bytes())
}

func TestRecordSaysHowTheProgramEnded(t *testing.T) {
	cmd := exec.Command("sh", "-c", "exit 3")
	var buf bytes.Buffer
	err := Record(cmd, &buf, header, time.Now, nil)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("Record = %v, want exit status 3", err)
	}
	if !strings.HasPrefix(buf.String(), `{"env":`) {
		t.Errorf("no header before the program's end: %q", buf.String())
	}
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in         string
		cols, rows int
		ok         bool
	}{
		{"120x36", 120, 36, true},
		{"80x24", 80, 24, true},
		{"1000x1000", 1000, 1000, true},
		{"79x24", 0, 0, false},
		{"80x23", 0, 0, false},
		{"1001x40", 0, 0, false},
		{"120X36", 0, 0, false},
		{"120x", 0, 0, false},
		{"x36", 0, 0, false},
		{"120", 0, 0, false},
		{"", 0, 0, false},
		{"-120x36", 0, 0, false},
		{"120x36x2", 0, 0, false},
	} {
		cols, rows, err := ParseSize(tc.in)
		if (err == nil) != tc.ok || cols != tc.cols || rows != tc.rows {
			t.Errorf("ParseSize(%q) = %d, %d, %v; want %d, %d, ok %v", tc.in, cols, rows, err, tc.cols, tc.rows, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "want COLSxROWS, at least 80x24") {
			t.Errorf("ParseSize(%q): %v does not say what to write", tc.in, err)
		}
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"120x36", "80x24", "1x1", "x", "999999999999999999999x1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cols, rows, err := ParseSize(s)
		if err != nil {
			return
		}
		if cols < 80 || rows < 24 || cols > 1000 || rows > 1000 {
			t.Errorf("ParseSize(%q) = %dx%d, outside 80x24 to 1000x1000", s, cols, rows)
		}
	})
}
