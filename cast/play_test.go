package cast

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sceneTitles marks the test walkthrough's window titles, as zt-lab
// record marks the TUI's.
var sceneTitles = map[string]string{
	"zt-lab · The lab":                    MarkLabel("lab", "The lab"),
	"zt-lab · The Fortune Cookie Service": MarkLabel("fortune", "The Fortune Cookie Service"),
	"zt-lab · Man in the middle":          MarkLabel("mitm", "Man in the middle"),
}

func marks(title string) (string, bool) {
	l, ok := sceneTitles[title]
	return l, ok
}

const (
	altOn  = "\x1b[?1049h"
	altOff = "\x1b[?1049l"
	home   = "\x1b[H\x1b[2J"
)

func title(t string) string { return "\x1b]2;" + t + "\x07" }

// walkthroughChunks is a short TUI session as a terminal receives it, in
// chunks cut where a pty might cut it: inside a title, inside its
// terminator, inside a character.
func walkthroughChunks() []string {
	check := "✓"
	return []string{
		altOn + home + "\x1b]2;zt-lab · The ",
		"lab\x07" + home + "1/3 The lab\r\n ○ Deploy five hosts",
		home + "1/3 The lab\r\n " + check[:1],
		check[1:] + " Deploy five hosts: five hosts up on one wire",
		"\x1b]2;zt-lab · The Fortune Cookie Service\x1b",
		"\\" + home + "2/3 The Fortune Cookie Service\r\n ○ Fetch a fortune",
		home + "2/3 The Fortune Cookie Service\r\n ✓ Fetch a fortune: consumer received a fortune",
		title("not a scene") + title("zt-lab · Man in the middle") + home + "3/3 Man in the middle\r\n ✓ Sniff: PLAINTEXT",
		home, // the program's goodbye: a blank screen
		title("") + altOff + "bye\r\n",
	}
}

// recorded is the cast the writer makes of walkthroughChunks, a quarter
// of a second apart.
func recorded(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, header)
	if err != nil {
		t.Fatal(err)
	}
	w.MarkTitles(marks)
	for i, c := range walkthroughChunks() {
		if err := w.Output(time.Duration(i)*250*time.Millisecond, []byte(c)); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func TestWriterMarksEachSceneWhereItsTitleIsSet(t *testing.T) {
	got := recorded(t)
	golden(t, "marked.cast", got)
	var markers []string
	for _, l := range strings.Split(string(got), "\n") {
		if strings.Contains(l, `,"m",`) {
			markers = append(markers, l)
		}
	}
	want := []string{
		`[0.25,"m","lab: The lab"]`,
		`[1.25,"m","fortune: The Fortune Cookie Service"]`,
		`[1.75,"m","mitm: Man in the middle"]`,
	}
	if strings.Join(markers, "\n") != strings.Join(want, "\n") {
		t.Errorf("markers:\n%s\nwant:\n%s", strings.Join(markers, "\n"), strings.Join(want, "\n"))
	}
}

func TestWriterWithoutMarksCutsNoTitle(t *testing.T) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, header)
	if err := w.Output(0, []byte(title("zt-lab · The lab")+"x")); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), "\n"); n != 2 || strings.Contains(buf.String(), `"m"`) {
		t.Errorf("want the header and one output line:\n%s", buf.String())
	}
}

func TestRecordMarksTheScenesAProgramShows(t *testing.T) {
	// One write: the terminal hands it over in one piece.
	cmd := exec.Command("sh", "-c", `printf '\033]2;zt-lab · The lab\007fcc00\033]2;zt-lab · Man in the middle\007PLAINTEXT'`)
	var buf bytes.Buffer
	if err := Record(cmd, &buf, header, clock(header.Started, 500*time.Millisecond), marks); err != nil {
		t.Fatal(err)
	}
	golden(t, "record-marked.cast", buf.Bytes())
}

func TestParseReadsWhatTheWriterWrote(t *testing.T) {
	c, err := Parse(bytes.NewReader(recorded(t)))
	if err != nil {
		t.Fatal(err)
	}
	if c.Header.Cols != 120 || c.Header.Rows != 36 || !c.Header.Started.Equal(header.Started) || c.Header.Title != header.Title {
		t.Errorf("header %+v", c.Header)
	}
	var out strings.Builder
	for _, ev := range c.Events {
		if ev.Code == "o" {
			out.WriteString(ev.Data)
		}
	}
	if want := strings.Join(walkthroughChunks(), ""); out.String() != want {
		t.Errorf("output %q\nwant %q", out.String(), want)
	}
	sc, err := c.Scenes()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range sc {
		got = append(got, s.ID+"|"+s.Title)
		if c.Events[s.Marker].Code != "m" || s.End <= s.Marker {
			t.Errorf("scene %s: marker %d, end %d", s.ID, s.Marker, s.End)
		}
	}
	if strings.Join(got, ",") != "lab|The lab,fortune|The Fortune Cookie Service,mitm|Man in the middle" {
		t.Errorf("scenes %v", got)
	}
	if sc[len(sc)-1].End != len(c.Events) || sc[0].End != sc[1].Marker {
		t.Errorf("scene ranges %+v", sc)
	}
}

func TestParseRefusesWhatIsNotACast(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "", "empty: want an asciinema v2 cast"},
		{"not json", "hello\n", "line 1: not an asciinema v2 header"},
		{"version 1", `{"version":1,"width":80,"height":24}`, "version 1, want 2"},
		{"no size", `{"version":2}`, "terminal 0x0"},
		{"huge", `{"version":2,"width":100000,"height":24}`, "terminal 100000x24"},
		{"bad event", `{"version":2,"width":80,"height":24}` + "\n[1,\"o\"]\n", "line 2: want an event"},
		{"negative time", `{"version":2,"width":80,"height":24}` + "\n[-1,\"o\",\"x\"]\n", "line 2: time -1"},
		{"time goes back", `{"version":2,"width":80,"height":24}` + "\n[2,\"o\",\"x\"]\n\n[1,\"o\",\"y\"]\n", "line 4: at 1.000000s, before"},
		{"text not a string", `{"version":2,"width":80,"height":24}` + "\n[1,\"o\",3]\n", "line 2: want an event"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestACastWithoutMarkersSaysHowToRecordOne(t *testing.T) {
	c, err := Parse(bytes.NewReader(mustRead(t, "printf.cast")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewPlayer(c); !errors.Is(err, ErrNoMarkers) || !strings.Contains(err.Error(), "zt-lab record --cast") {
		t.Errorf("NewPlayer = %v, want ErrNoMarkers", err)
	}
}

func TestPlayerShowsEachSceneAsItEnded(t *testing.T) {
	c, err := Parse(bytes.NewReader(recorded(t)))
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPlayer(c)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for i, want := range []string{
		"1/3 The lab\n ✓ Deploy five hosts: five hosts up on one wire",
		"2/3 The Fortune Cookie Service\n ✓ Fetch a fortune: consumer received a fortune",
		// Not the blank goodbye, nor the main screen after it.
		"3/3 Man in the middle\n ✓ Sniff: PLAINTEXT",
	} {
		f := p.At(p.End(i))
		if got := trimFrame(f.Text()); got != want || !f.Alt {
			t.Errorf("end of scene %d (alt %v):\n%s\nwant:\n%s", i, f.Alt, got, want)
		}
		if len(f.Lines) != 36 {
			t.Errorf("scene %d: %d lines, want 36", i, len(f.Lines))
		}
		for j, l := range f.Lines {
			if n := len([]rune(l)); n < 120 {
				t.Errorf("scene %d line %d: %d columns, want 120", i, j, n)
			}
		}
	}
	// Back to the first scene after the last: the player starts again.
	if got := trimFrame(p.At(p.Start(0)).Text()); got != "1/3 The lab\n ○ Deploy five hosts" {
		t.Errorf("start of scene 0:\n%s", got)
	}
	// Step by step through the first scene: each step shows a change.
	var steps []string
	for pos, ok := p.Start(0), true; ok; {
		steps = append(steps, trimFrame(p.At(pos).Text()))
		pos, ok = p.Next(pos, p.scenes[0].End)
	}
	// The second frame is the screen cleared and half drawn, as a
	// terminal would have shown it.
	want := []string{"1/3 The lab\n ○ Deploy five hosts", "1/3 The lab", "1/3 The lab\n ✓ Deploy five hosts: five hosts up on one wire"}
	if strings.Join(steps, "|") != strings.Join(want, "|") {
		t.Errorf("steps:\n%q\nwant\n%q", steps, want)
	}
	if p.SceneAt(p.End(1)) != 1 || p.SceneAt(0) != 0 || p.Find("mitm") != 2 || p.Find("nope") != -1 {
		t.Error("SceneAt or Find is wrong")
	}
}

// trimFrame is a frame's text without trailing blanks.
func trimFrame(s string) string {
	lines := strings.Split(s, "\n")
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], " ")
	}
	return strings.TrimRight(strings.Join(lines, "\n"), "\n")
}

func FuzzParse(f *testing.F) {
	f.Add(string(mustRead(f, "printf.cast")))
	f.Add(string(mustRead(f, "split.cast")))
	f.Add(`{"version":2,"width":80,"height":24}` + "\n[0.1,\"m\",\"lab: The lab\"]\n[0.2,\"o\",\"\\u001b[?1049hx\"]\n")
	f.Add(`{"version":2,"width":1,"height":1}` + "\n[1e300,\"o\",\"x\"]\n")
	f.Fuzz(func(t *testing.T, in string) {
		c, err := Parse(strings.NewReader(in))
		if err != nil {
			return
		}
		if c.Header.Cols < 1 || c.Header.Rows < 1 || c.Header.Cols > maxSide || c.Header.Rows > maxSide {
			t.Fatalf("accepted a %dx%d terminal", c.Header.Cols, c.Header.Rows)
		}
		for i := 1; i < len(c.Events); i++ {
			if c.Events[i].At < c.Events[i-1].At || c.Events[i].At < 0 {
				t.Fatalf("event %d goes back in time", i)
			}
		}
		if len(in) > 4096 || c.Header.Cols*c.Header.Rows > 200*60 {
			return // keep each run quick: the player is tested on small casts
		}
		p, err := NewPlayer(c)
		if err != nil {
			return
		}
		defer p.Close()
		for i := range p.Scenes() {
			if f := p.At(p.End(i)); len(f.Lines) < c.Header.Rows {
				t.Fatalf("scene %d: %d lines for %d rows", i, len(f.Lines), c.Header.Rows)
			}
		}
	})
}

func mustRead(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := readTestdata(name)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func readTestdata(name string) ([]byte, error) { return os.ReadFile(filepath.Join("testdata", name)) }
