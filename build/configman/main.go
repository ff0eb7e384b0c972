// Command configman writes the man page edgevoice.toml(5) from its template
// (build/deb/edgevoice.toml.5.in) and the config section structs, so the page lists
// every section and key with its default and description and cannot drift from the
// code:
//
//	go run ./build/configman -o dist/deb-arm64/edgevoice.toml.5 build/deb/edgevoice.toml.5.in
//
// The template is a complete man page except for one line, `.\" @KEYS@`, which is
// replaced by one subsection per table ([appliance], [board.talk], [[session.tools]],
// ...) and one tagged paragraph per key ("talk_mode = 'hold'" and the field's doc
// comment). The defaults come from config.Default() as config.Encode writes them
// (configman reads no TOML itself); the descriptions are the doc comments of the struct
// fields in internal/config, read with go/parser, as the generated reference config
// reads them.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
)

// keysMarker is the template line that the generated key reference replaces.
const keysMarker = `.\" @KEYS@`

func main() {
	out := flag.String("o", "", "write the man page here (default: standard output)")
	src := flag.String("src", "internal/config", "the directory of the config package (doc comments)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: go run ./build/configman [-o FILE] [-src DIR] TEMPLATE\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	page, err := render(flag.Arg(0), *src)
	if err == nil {
		if *out == "" {
			_, err = os.Stdout.Write(page)
		} else {
			err = os.WriteFile(*out, page, 0o644)
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "configman: %v\n", err)
		os.Exit(1)
	}
}

// render reads the template and the doc comments in src and returns the man page.
func render(template, src string) ([]byte, error) {
	tpl, err := os.ReadFile(template)
	if err != nil {
		return nil, err
	}
	if bytes.Count(tpl, []byte(keysMarker+"\n")) != 1 {
		return nil, fmt.Errorf("%s: want exactly one line %s", template, keysMarker)
	}
	docs, err := parseStructDocs(src)
	if err != nil {
		return nil, err
	}
	keys, err := generate(docs)
	if err != nil {
		return nil, err
	}
	return bytes.Replace(tpl, []byte(keysMarker+"\n"), keys, 1), nil
}
