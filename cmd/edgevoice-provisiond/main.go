// Command edgevoice-provisiond is the key daemon the edgevoice-provisioning unit runs: it
// holds the device credential and serves short-lived keys to the appliance on a unix
// socket. Commands: provisiond, check, keys, check-config, version. It links no WebRTC,
// audio, codec or GPIO code and not the broker server.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/edgevoice/edgevoice/internal/cli"
	"github.com/edgevoice/edgevoice/internal/provcmd"
)

// app is the command table of edgevoice-provisiond.
var app = &cli.App{
	Name:     "edgevoice-provisiond",
	Summary:  "The edgevoice key daemon: ephemeral keys for the appliance, minted with the device credential.",
	Commands: append(provcmd.Commands(), cli.CheckConfig()),
}

func main() {
	cli.NoMemProfile()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := app.Main(ctx, os.Args[1:], cli.OSEnv())
	stop()
	os.Exit(code)
}
