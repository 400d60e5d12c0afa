// Package integration_test runs the mesh in a real local lab: five hosts
// in network namespaces, real consul agents and sidecars, the fortune
// service behind them. The test binary re-executes itself into a sandbox
// (labtest.Main) and doubles as the fortune service and its consumer on
// the lab's hosts, so the tests need no zt-lab binary.
package integration_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"testing"

	"github.com/ztlab/zt-lab/assets"
	"github.com/ztlab/zt-lab/fortune"
	"github.com/ztlab/zt-lab/infra/local/labtest"
)

func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == "fortune" {
		os.Exit(fortuneMain(os.Args[2:]))
	}
	labtest.Main(m)
}

// fortuneMain is the part of `zt-lab fortune` the mesh runs on hosts:
// `fortune serve --listen ADDR [--seed N]` and
// `fortune get ADDR [--every D --for D]`.
func fortuneMain(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fs := flag.NewFlagSet("fortune "+args[0], flag.ContinueOnError)
	switch args[0] {
	case "serve":
		listen := fs.String("listen", "0.0.0.0:8181", "")
		seed := fs.Int64("seed", 0, "")
		if fs.Parse(args[1:]) != nil {
			return 2
		}
		ln, err := fortune.Listen(ctx, *listen)
		if err != nil {
			fmt.Fprintln(os.Stderr, "listen:", err)
			return 1
		}
		srv := &fortune.Server{
			Source:  fortune.NewDeck(assets.Fortunes(), *seed),
			OnServe: func(remote, f string) { fmt.Println(fortune.FormatServed(remote, f)) },
			OnError: func(remote string, err error) { fmt.Fprintf(os.Stderr, "no fortune for %s: %v\n", remote, err) },
		}
		fmt.Fprintf(os.Stderr, "serving on %s\n", ln.Addr())
		if err := srv.Serve(ctx, ln); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	case "get":
		if len(args) < 2 {
			return 2
		}
		addr := args[1]
		every := fs.Duration("every", 0, "")
		dur := fs.Duration("for", 0, "")
		if fs.Parse(args[2:]) != nil {
			return 2
		}
		if *every > 0 {
			sum := fortune.Loop(ctx, fortune.LoopOptions{Addr: addr, Every: *every, For: *dur}, nil)
			fmt.Printf("%d %d %d %d %d\n", sum.OK, sum.Failed, sum.P50.Microseconds(), sum.P99.Microseconds(), sum.Max.Microseconds())
			return 0
		}
		text, err := fortune.Get(ctx, addr, fortune.DefaultTimeout)
		if err != nil {
			fmt.Fprintf(os.Stderr, "get %s: %v\n", addr, err)
			return 1
		}
		fmt.Print(text)
		return 0
	}
	return 2
}
