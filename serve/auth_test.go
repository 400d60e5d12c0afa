//go:build linux

package serve

import (
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"
)

func testKey(t *testing.T) gossh.PublicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := gossh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func line(k gossh.PublicKey, comment string) string {
	return strings.TrimSpace(string(gossh.MarshalAuthorizedKey(k))) + " " + comment + "\n"
}

func TestWhoMayLogInAsWhat(t *testing.T) {
	alice, bob, teacher, stranger := testKey(t), testKey(t), testKey(t), testKey(t)
	attendees, err := ParseKeys([]byte("# the room\n\n" + line(alice, "Alice Liddell") + line(bob, "")))
	if err != nil {
		t.Fatal(err)
	}
	instructors, err := ParseKeys([]byte(line(teacher, "Ms Teacher")))
	if err != nil {
		t.Fatal(err)
	}
	closed := Policy{Attendees: attendees, Instructors: instructors}
	open := Policy{Open: true, Instructors: instructors}
	tests := []struct {
		name     string
		policy   Policy
		user     string
		key      gossh.PublicKey
		wantRole Role
		wantName string
	}{
		{"an attendee's key, named by its comment", closed, "alice", alice, RoleAttendee, "Alice Liddell"},
		{"a key without a comment is named by its ssh user", closed, "bob", bob, RoleAttendee, "bob"},
		{"a stranger's key is refused", closed, "mallory", stranger, 0, ""},
		{"an attendee's key is not an instructor's", closed, InstructorUser, alice, 0, ""},
		{"the instructor's key as instructor@", closed, InstructorUser, teacher, RoleInstructor, "Ms Teacher"},
		{"the instructor's key may join as an attendee", closed, "teacher", teacher, RoleAttendee, "Ms Teacher"},
		{"--open lets a stranger in, named by ssh user", open, "mallory", stranger, RoleAttendee, "mallory"},
		{"--open does not make strangers instructors", open, InstructorUser, stranger, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.policy.Decide(tt.user, tt.key)
			if d.Role != tt.wantRole || (d.Allowed() && d.Name != tt.wantName) {
				t.Errorf("got role %v name %q, want %v %q", d.Role, d.Name, tt.wantRole, tt.wantName)
			}
			if !d.Allowed() && d.Reason == "" {
				t.Error("a refusal without a reason")
			}
			if d.Fingerprint != gossh.FingerprintSHA256(tt.key) {
				t.Errorf("fingerprint %q", d.Fingerprint)
			}
		})
	}
}

func TestAuthorizedKeysFilesThatAreNot(t *testing.T) {
	for name, text := range map[string]string{
		"empty":          "",
		"only comments":  "# nobody\n\n",
		"a line of junk": line(testKey(t), "ok") + "ssh-ed25519 notbase64 x\n",
	} {
		if _, err := ParseKeys([]byte(text)); err == nil {
			t.Errorf("%s: parsed without an error", name)
		}
	}
	_, err := ParseKeys([]byte(line(testKey(t), "ok") + "junk\n"))
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("the error does not name the line: %v", err)
	}
}

func FuzzParseKeys(f *testing.F) {
	f.Add([]byte("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGbS2pDHc7m0vWZ1nB0r6JdJMv3d6Hh2yq1bR8WvYb5J alice\n"))
	f.Add([]byte("# c\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := ParseKeys(b)
		if err == nil && k.Len() == 0 {
			t.Error("no error and no keys")
		}
	})
}
