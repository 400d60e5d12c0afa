//go:build linux

package serve

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	gossh "golang.org/x/crypto/ssh"
)

// InstructorUser is the SSH user name that asks for the class view.
const InstructorUser = "instructor"

// Keys is a set of public keys from an authorized_keys file, by SHA256
// fingerprint, each with its comment (the attendee's name, when given).
type Keys struct {
	comments map[string]string
}

// LoadKeys reads an authorized_keys file.
func LoadKeys(path string) (Keys, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Keys{}, err
	}
	k, err := ParseKeys(b)
	if err != nil {
		return Keys{}, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// ParseKeys parses authorized_keys lines; blank lines and # comments are
// skipped, and a line that is not a key is an error naming its number.
func ParseKeys(b []byte) (Keys, error) {
	k := Keys{comments: map[string]string{}}
	for n, line := range bytes.Split(b, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		pub, comment, _, _, err := gossh.ParseAuthorizedKey(line)
		if err != nil {
			return Keys{}, fmt.Errorf("line %d is not a public key: %w", n+1, err)
		}
		k.comments[gossh.FingerprintSHA256(pub)] = comment
	}
	if len(k.comments) == 0 {
		return Keys{}, errors.New("no public keys in it")
	}
	return k, nil
}

// Len is the number of keys.
func (k Keys) Len() int { return len(k.comments) }

// Lookup says whether the key with this fingerprint is in the set, and
// its comment.
func (k Keys) Lookup(fingerprint string) (comment string, ok bool) {
	comment, ok = k.comments[fingerprint]
	return comment, ok
}

// Role is what a login is for.
type Role int

// Roles.
const (
	RoleAttendee Role = iota + 1
	RoleInstructor
)

func (r Role) String() string {
	switch r {
	case RoleAttendee:
		return "attendee"
	case RoleInstructor:
		return "instructor"
	}
	return "none"
}

// Policy decides who may log in. Only public keys are ever accepted.
type Policy struct {
	// Attendees may join; with Open, anyone with any key may.
	Attendees Keys
	Open      bool
	// Instructors may log in as InstructorUser (and join as attendees).
	Instructors Keys
}

// Decision is the policy's answer for one login.
type Decision struct {
	Role        Role // zero when refused
	Name        string
	Fingerprint string
	Reason      string // why it was refused
}

// Allowed reports whether the login may proceed.
func (d Decision) Allowed() bool { return d.Role != 0 }

// Decide answers for a login as user with key.
func (p Policy) Decide(user string, key gossh.PublicKey) Decision {
	fp := gossh.FingerprintSHA256(key)
	d := Decision{Fingerprint: fp}
	name := func(comment string) string {
		if c := strings.TrimSpace(comment); c != "" {
			return c
		}
		return user
	}
	if user == InstructorUser {
		c, ok := p.Instructors.Lookup(fp)
		if !ok {
			d.Reason = "not an instructor key"
			return d
		}
		d.Role, d.Name = RoleInstructor, name(c)
		return d
	}
	if c, ok := p.Attendees.Lookup(fp); ok {
		d.Role, d.Name = RoleAttendee, name(c)
		return d
	}
	if c, ok := p.Instructors.Lookup(fp); ok {
		d.Role, d.Name = RoleAttendee, name(c)
		return d
	}
	if p.Open {
		d.Role, d.Name = RoleAttendee, user
		return d
	}
	d.Reason = "key not in the authorized keys"
	return d
}
