package mallory

import (
	"net"
	"strconv"
	"testing"
)

func TestTamperedLinesReadBack(t *testing.T) {
	tp := Tampered{Client: &net.TCPAddr{IP: net.IPv4(198, 18, 0, 30), Port: 40000}, Original: "A \"quoted\" fortune.\n", Altered: Rewrite("A \"quoted\" fortune.\n")}
	c, o, a, ok := ParseTampered(TamperedLine(tp))
	if !ok || c != "198.18.0.30:40000" || o != tp.Original || a != tp.Altered {
		t.Fatalf("read back %q %q %q %v", c, o, a, ok)
	}
	for _, bad := range []string{"", "tampered", "tampered x", `tampered x "a"`, `tampered x "a" "b" extra`, `tampered x "a"  "b"`, `served 1.2.3.4:5 "a"`} {
		if _, _, _, ok := ParseTampered(bad); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}

// FuzzParseTampered: any line either is refused or reads back the same.
func FuzzParseTampered(f *testing.F) {
	f.Add(`tampered 198.18.0.30:1 "a\n" "b\n"`)
	f.Add(`tampered`)
	f.Fuzz(func(t *testing.T, line string) {
		c, o, a, ok := ParseTampered(line)
		if !ok {
			return
		}
		c2, o2, a2, ok := ParseTampered("tampered " + c + " " + quote(o) + " " + quote(a))
		if !ok || c2 != c || o2 != o || a2 != a {
			t.Fatalf("%q: read back differently", line)
		}
	})
}

func quote(s string) string { return strconv.Quote(s) }
