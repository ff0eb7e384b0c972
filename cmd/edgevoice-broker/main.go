// Command edgevoice-broker is the reference key broker a fleet operator runs on a server
// (never on the device): it holds the model API key and hands each authenticated device
// an ephemeral key. Commands: broker, device (add, list, show, audit, disable, enable,
// rotate, remove), import-dir, check-config, version.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/edgevoice/edgevoice/internal/brokercmd"
	"github.com/edgevoice/edgevoice/internal/cli"
)

// app is the command table of edgevoice-broker.
var app = &cli.App{
	Name:     "edgevoice-broker",
	Summary:  "The edgevoice reference key broker: devices authenticate with a token and get ephemeral keys.",
	Commands: append(brokercmd.Commands(), cli.CheckConfig()),
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := app.Main(ctx, os.Args[1:], cli.OSEnv())
	stop()
	os.Exit(code)
}
