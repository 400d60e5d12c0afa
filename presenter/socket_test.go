package presenter

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ztlab/zt-lab/infra"
)

// runtimeDir is a runtime directory of the test's own that does not exist
// yet, with a path short enough for a Unix socket.
func runtimeDir(t *testing.T) string {
	t.Helper()
	base, err := os.MkdirTemp("", "zp")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	return filepath.Join(base, "zt-lab")
}

func listen(t *testing.T, path string) *Server {
	t.Helper()
	s, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func follow(t *testing.T, path string) *Feed {
	t.Helper()
	f, err := Follow(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func state(scene int, title string) State {
	return State{Scene: Scene{Index: scene, Title: title}, Scenes: []Outline{{Title: "The lab"}, {Title: "Man in the middle"}}}
}

func TestTheSocketIsTheUsersAlone(t *testing.T) {
	dir := runtimeDir(t)
	s := listen(t, filepath.Join(dir, SocketName))
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := di.Mode().Perm(); perm != 0o700 {
		t.Errorf("the runtime directory is %04o, want 0700", perm)
	}
	si, err := os.Lstat(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	if si.Mode().Type() != os.ModeSocket {
		t.Errorf("%s is %v, not a socket", s.Path(), si.Mode())
	}
	if perm := si.Mode().Perm(); perm != 0o600 {
		t.Errorf("the socket is %04o, want 0600", perm)
	}
}

func TestARuntimeDirectoryOthersCouldWriteIsRefused(t *testing.T) {
	dir := runtimeDir(t)
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	_, err := Listen(filepath.Join(dir, SocketName))
	var unsafe infra.UnsafePathError
	if !errors.As(err, &unsafe) {
		t.Fatalf("Listen in a 0777 directory: %v, want an UnsafePathError", err)
	}
	if _, err := Follow(context.Background(), filepath.Join(dir, SocketName)); !errors.As(err, &unsafe) {
		t.Fatalf("Follow in a 0777 directory: %v, want an UnsafePathError", err)
	}
}

func TestNotesFollowEveryChangeAndSeeTheScreenClose(t *testing.T) {
	path := filepath.Join(runtimeDir(t), SocketName)
	s := listen(t, path)
	s.Publish(state(0, "The lab"))
	f := follow(t, path)
	// A notes screen that connects late is sent the newest state at once.
	st, err := f.Next()
	if err != nil || st.Scene.Title != "The lab" || st.Next() != "Man in the middle" {
		t.Fatalf("first state: %+v, %v", st, err)
	}
	s.Publish(state(0, "The lab")) // no change: nothing sent
	s.Publish(state(1, "Man in the middle"))
	if st, err = f.Next(); err != nil || st.Scene.Index != 1 || st.Scene.Title != "Man in the middle" {
		t.Fatalf("after n: %+v, %v", st, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Next(); err != io.EOF {
		t.Fatalf("after the screen closed: %v, want io.EOF", err)
	}
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Errorf("the socket is left behind after Close: %v", err)
	}
}

func TestASlowNotesScreenGetsTheNewestState(t *testing.T) {
	path := filepath.Join(runtimeDir(t), SocketName)
	s := listen(t, path)
	f := follow(t, path)
	// Wait until the server knows the follower.
	s.Publish(state(0, "first"))
	if _, err := f.Next(); err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		s.Publish(state(i, "scene"))
	}
	s.Publish(state(0, "newest"))
	for {
		st, err := f.Next()
		if err != nil {
			t.Fatal(err)
		}
		if st.Scene.Title == "newest" {
			return
		}
	}
}

func TestNoScreenIsSaidSo(t *testing.T) {
	dir := runtimeDir(t)
	path := filepath.Join(dir, SocketName)
	if _, err := Follow(context.Background(), path); !errors.Is(err, ErrNoScreen) {
		t.Errorf("no socket: %v, want ErrNoScreen", err)
	}
	// A socket left by a screen that died (SIGKILL leaves it): nobody
	// answers.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	if _, err := Follow(context.Background(), path); !errors.Is(err, ErrNoScreen) {
		t.Errorf("a stale socket: %v, want ErrNoScreen", err)
	}
	// The next screen takes the stale socket's place.
	s := listen(t, path)
	s.Publish(state(0, "The lab"))
	if st, err := follow(t, path).Next(); err != nil || st.Scene.Title != "The lab" {
		t.Errorf("after replacing a stale socket: %+v, %v", st, err)
	}
}

func TestASecondScreenLeavesTheFirstOnesSocket(t *testing.T) {
	path := filepath.Join(runtimeDir(t), SocketName)
	listen(t, path)
	_, err := Listen(path)
	var taken TakenError
	if !errors.As(err, &taken) || !strings.Contains(err.Error(), "`zt-lab notes` follows that one") {
		t.Fatalf("a second Listen: %v, want a TakenError", err)
	}
	if _, err := Follow(context.Background(), path); err != nil {
		t.Errorf("the first screen's socket is gone: %v", err)
	}
}

func TestAFileInTheSocketsPlaceIsRefused(t *testing.T) {
	dir := runtimeDir(t)
	path := filepath.Join(dir, SocketName)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var unsafe infra.UnsafePathError
	if _, err := Follow(context.Background(), path); !errors.As(err, &unsafe) {
		t.Errorf("Follow a plain file: %v, want an UnsafePathError", err)
	}
	if _, err := Listen(path); !errors.As(err, &unsafe) {
		t.Errorf("Listen over a plain file: %v, want an UnsafePathError", err)
	}
}

func TestFollowEndsWithItsContext(t *testing.T) {
	path := filepath.Join(runtimeDir(t), SocketName)
	listen(t, path)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Follow(ctx, path); err == nil {
		t.Error("Follow with an ended context connected")
	}
}

func TestCloseDoesNotWaitForANotesScreenThatReadsNothing(t *testing.T) {
	path := filepath.Join(runtimeDir(t), SocketName)
	s := listen(t, path)
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// States far bigger than the socket's buffers, never read.
	big := state(0, strings.Repeat("a long title ", 1<<16))
	for i := range 20 {
		big.Scene.Index = i
		s.Publish(big)
	}
	done := make(chan error, 1)
	go func() { done <- s.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(writeTimeout - time.Second):
		t.Fatal("Close waited on a notes screen that reads nothing")
	}
}
