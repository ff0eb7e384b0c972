package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/edgevoice/edgevoice/internal/cli"
)

// app is the command table of edgevoice; each command is built in its own file.
var app = &cli.App{
	Name:    "edgevoice",
	Summary: "The edgevoice appliance and its device and developer tools.",
	Commands: append(append([]*cli.Command{
		runCommand(), statusCommand(), ctlCommand(), toolsCommand(), demoCommand(), emulatorCommand(), cli.CheckConfig(checkToolSchemas),
	}, hwCommands()...), audioCommands()...),
}

func main() {
	cli.NoMemProfile()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := app.Main(ctx, os.Args[1:], cli.OSEnv())
	stop()
	os.Exit(code)
}
