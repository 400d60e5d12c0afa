package sniffer

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestPcapFilesAreOwnersOnly: a capture can hold what the hosts said in
// the clear, so every pcap zt-lab writes is 0600, an old file's mode too.
func TestPcapFilesAreOwnersOnly(t *testing.T) {
	dir := t.TempDir()
	saved := filepath.Join(dir, "saved.pcap")
	if err := SavePcap(saved, func(w io.Writer) error { return WritePcap(w, nil, 0) }); err != nil {
		t.Fatal(err)
	}
	created := filepath.Join(dir, "created.pcap")
	if err := os.WriteFile(created, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := CreatePcap(created)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	for _, p := range []string{saved, created} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s is %v, want -rw-------", filepath.Base(p), fi.Mode().Perm())
		}
		if p == created && fi.Size() != 0 {
			t.Errorf("%s was not truncated", p)
		}
	}
}
