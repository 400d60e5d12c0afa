// Package fortune is the lab's Fortune Cookie Service and its consumer:
// stand-ins for the seeds' `socat tcp-l:8181,fork exec:/usr/games/fortune`
// (a server that writes one fortune per connection, then closes it) and
// `nc fcs00 8181` (a client that reads to EOF), plus the consumer loop the
// resilience scenes count failures with.
package fortune

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"
)

// Source hands out fortunes, one per call. A fortune is the text exactly as
// it goes on the wire; fortune(6) and the embedded fortunes end it with a
// newline. Sources are safe for concurrent use.
type Source interface {
	Next(ctx context.Context) (string, error)
}

// Deck deals fortunes in a shuffled order, every fortune once before any
// repeats, like a deck of cards. The order depends only on the seed, so a
// recording made with one seed can be made again.
type Deck struct {
	mu       sync.Mutex
	fortunes []string
	seed     int64
	rng      *rand.Rand
	order    []int // indexes into fortunes, in dealing order
	next     int   // position in order of the next fortune to deal
}

// deckStream is the second word of the deck's PCG state, fixed so that the
// seed alone decides the order. It spells "fortune" in ASCII.
const deckStream = 0x666f7274756e65

// NewDeck returns a deck of a copy of fortunes, shuffled from seed. Seed 0
// picks a random seed; Seed tells which one.
func NewDeck(fortunes []string, seed int64) *Deck {
	for seed == 0 {
		seed = rand.Int64()
	}
	d := &Deck{
		fortunes: slices.Clone(fortunes),
		seed:     seed,
		rng:      rand.New(rand.NewPCG(uint64(seed), deckStream)),
		order:    make([]int, len(fortunes)),
	}
	for i := range d.order {
		d.order[i] = i
	}
	d.rng.Shuffle(len(d.order), func(i, j int) { d.order[i], d.order[j] = d.order[j], d.order[i] })
	return d
}

// Seed returns the seed the deck was shuffled from: pass it to NewDeck to
// deal the same sequence again.
func (d *Deck) Seed() int64 { return d.seed }

// Next deals the next fortune, reshuffling when the deck runs out.
func (d *Deck) Next(context.Context) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := len(d.order)
	if n == 0 {
		return "", errors.New("the deck holds no fortunes")
	}
	if d.next == n {
		last := d.order[n-1]
		d.rng.Shuffle(n, func(i, j int) { d.order[i], d.order[j] = d.order[j], d.order[i] })
		// Across a reshuffle, never hand out the same fortune twice in a row.
		if n > 1 && d.order[0] == last {
			j := 1 + d.rng.IntN(n-1)
			d.order[0], d.order[j] = d.order[j], d.order[0]
		}
		d.next = 0
	}
	f := d.fortunes[d.order[d.next]]
	d.next++
	return f, nil
}

// ExecSource returns a Source that runs path with args for every fortune,
// as socat's exec:/usr/games/fortune does, and hands out what it prints on
// stdout. A run that fails or prints nothing is an error.
func ExecSource(path string, args ...string) Source {
	return &program{path: path, args: slices.Clone(args)}
}

type program struct {
	path string
	args []string
}

func (p *program) Next(ctx context.Context) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, p.path, p.args...)
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	// A child that outlives the program and keeps its stdout open must not
	// hold the connection forever.
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		if msg, _, _ := strings.Cut(strings.TrimSpace(stderr.String()), "\n"); msg != "" {
			return "", fmt.Errorf("run %s: %w: %s", p.path, err, msg)
		}
		return "", fmt.Errorf("run %s: %w", p.path, err)
	}
	if stdout.Len() == 0 {
		return "", fmt.Errorf("run %s: it printed nothing", p.path)
	}
	return stdout.String(), nil
}
