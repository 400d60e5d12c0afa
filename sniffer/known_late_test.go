package sniffer

import (
	"strings"
	"testing"
)

// A fortune learnt after the flow was first judged is still found: the
// sniffer hears what the service sent a moment after it went out, and a
// screen may ask for verdicts in between.
func TestAFortuneLearntLateIsStillFoundOnTheWire(t *testing.T) {
	c := fortuneConv(t, 80)
	a := NewAnalyzer(labNames)
	a.FeedAll(c.pkts)
	if fs := a.Flows(); len(fs) != 1 || fs[0].Verdict.Fortune != "" {
		t.Fatalf("before the fortune is known: %+v", fs)
	}
	a.AddKnown(seedFortune)
	fs := a.Flows()
	if len(fs) != 1 || fs[0].Verdict.Fortune != strings.TrimSpace(seedFortune) || fs[0].Verdict.KnownBytes == 0 {
		t.Fatalf("after AddKnown: fortune %q, %d known bytes; want the fortune found", fs[0].Verdict.Fortune, fs[0].Verdict.KnownBytes)
	}
}
