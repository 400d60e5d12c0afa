package main

import (
	"errors"
	"os"

	"github.com/ztlab/zt-lab/cast"
)

// loadFallback reads the recording --fallback names: a cast that
// zt-lab record wrote, with its scenes marked. What is wrong with it is a
// usage error, said in one line before the lab starts.
func loadFallback(path string) (*cast.Player, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, usagef("--fallback: %v; record the walkthrough first: zt-lab record --cast %s", err, path)
	}
	defer f.Close()
	c, err := cast.Parse(f)
	if err != nil {
		return nil, usagef("--fallback %s: not an asciinema v2 cast: %v; record one with zt-lab record --cast %s", path, err, path)
	}
	p, err := cast.NewPlayer(c)
	if errors.Is(err, cast.ErrNoMarkers) {
		return nil, usagef("--fallback %s: the cast has no scene markers: re-record it with zt-lab record --cast %s", path, path)
	}
	return p, err
}
