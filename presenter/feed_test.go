package presenter

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
)

func TestAFeedReadsStatesUntilTheEnd(t *testing.T) {
	var b bytes.Buffer
	for _, st := range []State{state(0, "The lab"), state(1, "Man in the middle")} {
		line, _ := json.Marshal(st)
		b.Write(append(line, '\n'))
	}
	b.WriteString("{not a state\n")
	f := newFeed(io.NopCloser(&b))
	for _, want := range []string{"The lab", "Man in the middle"} {
		if st, err := f.Next(); err != nil || st.Scene.Title != want {
			t.Fatalf("got %+v, %v; want %q", st, err, want)
		}
	}
	if _, err := f.Next(); err == nil || !strings.Contains(err.Error(), "no state") {
		t.Errorf("a broken line: %v", err)
	}
}

func FuzzFeed(f *testing.F) {
	line, _ := json.Marshal(state(1, "Man in the middle"))
	f.Add(append(line, '\n'))
	f.Add([]byte("{}\n{\"scene\":{\"index\":-4}}\n"))
	f.Add([]byte("\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		feed := newFeed(io.NopCloser(bytes.NewReader(data)))
		for range bytes.Count(data, []byte("\n")) + 2 {
			st, err := feed.Next()
			if err != nil {
				return
			}
			_ = st.Next() // any index, any outline: no panic
		}
		t.Fatal("the feed read more states than it had lines")
	})
}
