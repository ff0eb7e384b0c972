// Command alsarig writes the ALSA configuration of hw/audio/audiotest's file-plugin test
// devices into a directory and prints the ALSA_CONFIG_PATH value that selects them, so
// `make audio-devices` can run `edgevoice devices` against them:
//
//	ALSA_CONFIG_PATH=$(go run ./build/alsarig DIR) edgevoice devices -backend alsa
package main

import (
	"fmt"
	"os"

	"github.com/edgevoice/edgevoice/hw/audio/audiotest"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: alsarig DIR")
		os.Exit(2)
	}
	if err := os.MkdirAll(os.Args[1], 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "alsarig:", err)
		os.Exit(1)
	}
	path, err := audiotest.WriteALSAConfig(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "alsarig:", err)
		os.Exit(1)
	}
	fmt.Print(path)
}
