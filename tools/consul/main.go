// Command consul is a consul binary built from HashiCorp's published Go
// packages, holding only the subcommands zt-lab runs. Consul's root command
// package does not compile as a dependency, so this main registers the
// subcommand packages one by one, under their usual names.
package main

import (
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/hashicorp/consul/command/agent"
	"github.com/hashicorp/consul/command/cli"
	"github.com/hashicorp/consul/command/connect/proxy"
	"github.com/hashicorp/consul/command/keygen"
	"github.com/hashicorp/consul/command/members"
	"github.com/hashicorp/consul/command/operator/raft/listpeers"
	cacreate "github.com/hashicorp/consul/command/tls/ca/create"
	certcreate "github.com/hashicorp/consul/command/tls/cert/create"
	"github.com/hashicorp/consul/command/version"
	mcli "github.com/mitchellh/cli"
)

func main() {
	os.Exit(run())
}

func run() int {
	log.SetOutput(io.Discard)
	ui := &cli.BasicUI{BasicUi: mcli.BasicUi{Writer: os.Stdout, ErrorWriter: os.Stderr}}

	cmd := func(f func() mcli.Command) mcli.CommandFactory {
		return func() (mcli.Command, error) { return f(), nil }
	}
	commands := map[string]mcli.CommandFactory{
		"agent":                    cmd(func() mcli.Command { return agent.New(ui) }),
		"connect proxy":            cmd(func() mcli.Command { return proxy.New(ui, shutdownCh()) }),
		"members":                  cmd(func() mcli.Command { return members.New(ui) }),
		"keygen":                   cmd(func() mcli.Command { return keygen.New(ui) }),
		"tls ca create":            cmd(func() mcli.Command { return cacreate.New(ui) }),
		"tls cert create":          cmd(func() mcli.Command { return certcreate.New(ui) }),
		"operator raft list-peers": cmd(func() mcli.Command { return listpeers.New(ui) }),
		"version":                  cmd(func() mcli.Command { return version.New(ui) }),
	}
	c := &mcli.CLI{
		Name:        "consul",
		Args:        os.Args[1:],
		Commands:    commands,
		HelpFunc:    mcli.BasicHelpFunc("consul"),
		HelpWriter:  os.Stdout,
		ErrorWriter: os.Stderr,
	}
	if c.IsVersion() {
		return version.New(ui).Run(nil)
	}
	code, err := c.Run()
	if err != nil {
		fmt.Fprintf(os.Stderr, "consul: %v\n", err)
		return 1
	}
	return code
}

// shutdownCh turns SIGINT and SIGTERM into the shutdown channel the proxy
// command waits on, as consul's own registry does.
func shutdownCh() <-chan struct{} {
	out := make(chan struct{})
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		for range sig {
			out <- struct{}{}
		}
	}()
	return out
}
