package check

import (
	"encoding/json"
	"testing"
)

func TestChecksSayWhatWasSeen(t *testing.T) {
	seen := Passf("leader elected", "consul00 leads")
	seen.Seen("%d raft peers", 3)
	for _, tc := range []struct {
		name string
		c    Check
		want string
	}{
		{"passf", Passf("fortune served", "fcc00 printed %q", "a"), `PASS fortune served ["fcc00 printed \"a\""]`},
		{"failf", Failf("door closed", "fcs00:%d answered", 8181), `FAIL door closed ["fcs00:8181 answered"]`},
		{"failed without evidence", Failed("no mesh"), `FAIL no mesh []`},
		{"seen appends", seen, `PASS leader elected ["consul00 leads" "3 raft peers"]`},
	} {
		if got := tc.c.String(); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

// The report of `zt-lab run --json` is parsed by the e2e tests by these
// field names.
func TestJSONFieldNamesAreTheReports(t *testing.T) {
	for _, tc := range []struct {
		c    Check
		want string
	}{
		{Passf("a", "b"), `{"name":"a","pass":true,"evidence":["b"]}`},
		{Failed("a"), `{"name":"a","pass":false}`},
	} {
		b, err := json.Marshal(tc.c)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tc.want {
			t.Errorf("json %s, want %s", b, tc.want)
		}
	}
}
