// Package serve is the workshop server behind `zt-lab serve`: an SSH
// server where every attendee, known by their public key, gets a guided
// lab of their own — the same zt-lab TUI, run as a child process on a pty
// the server allocates, as an unprivileged user of its own, in a sandbox
// of its own — and the instructor gets a live view of the class.
//
// One file per concern: auth (who may in, as what), registry (attendees
// and reconnects), queue (how many labs run and start at once), limits
// (rate limits, rlimits, cgroups), child (one attendee's lab process and
// its screen), instructor (the class view), server (the SSH wiring).
package serve
