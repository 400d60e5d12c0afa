package sniffer

import (
	"flag"
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	flag.Parse()
	// A fuzz run of 10 s spends it minimizing the first interesting
	// input (60 s by default) unless told to stop sooner: bound it, when
	// the caller did not choose.
	chosen := false
	flag.Visit(func(f *flag.Flag) { chosen = chosen || f.Name == "test.fuzzminimizetime" })
	if !chosen {
		flag.Set("test.fuzzminimizetime", "100x")
	}
	os.Exit(m.Run())
}
