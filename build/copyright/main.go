// Command copyright writes the Debian copyright file (machine-readable format, DEP-5) of
// the edgevoice package from the Go modules that are actually linked into the packaged
// binaries:
//
//	go run ./build/copyright -o dist/deb-arm64/copyright bin/linux-arm64/edgevoice bin/linux-arm64/edgevoice-provisiond
//
// It reads each binary's build information (what `go version -m` prints: the modules the
// linker used, for the binary's own GOOS/GOARCH and build tags), finds each module in the
// module cache with `go mod download -json` (GOPROXY=off: it never touches the network; the
// build that produced the binaries filled the cache), reads the module's license files
// (LICENSE*, COPYING*, LICENCE*, the REUSE directory LICENSES/, and NOTICE* for Apache
// notices), identifies the license with github.com/google/licensecheck and writes one
// Files paragraph per module with its copyright lines and license. The Go standard
// library and runtime (linked into every Go binary) and C code compiled into a module
// (miniaudio in malgo) get paragraphs of their own.
//
// Licenses whose text Debian ships in /usr/share/common-licenses (Apache-2.0, MPL-2.0,
// ...) are referred to there, as Debian policy asks; every other license text (MIT, BSD,
// ISC, ...) is copied from the module, because each names its own copyright holder.
//
// It fails, naming the module, when a linked module has no license file or its license
// is not recognised, so a package never ships with an incomplete copyright file.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	out := flag.String("o", "", "write the copyright file here (default: standard output)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: go run ./build/copyright [-o FILE] BINARY...\n\n"+
			"Writes the DEP-5 copyright file for the Go modules linked into the binaries.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*out, flag.Args()); err != nil {
		fmt.Fprintf(os.Stderr, "copyright: %v\n", err)
		os.Exit(1)
	}
}

func run(out string, binaries []string) error {
	mods, goVersions, err := linkedModules(binaries)
	if err != nil {
		return err
	}
	if err := locate(mods); err != nil {
		return err
	}
	goroot, err := goEnv("GOROOT")
	if err != nil {
		return err
	}
	var names []string
	for _, b := range binaries {
		names = append(names, "/usr/bin/"+filepath.Base(b))
	}
	doc, err := build(mods, goroot, strings.Join(goVersions, ", "), names)
	if err != nil {
		return err
	}
	var w io.Writer = os.Stdout
	if out != "" {
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	if _, err := io.WriteString(w, doc.String()); err != nil {
		return err
	}
	if f, ok := w.(*os.File); ok && out != "" {
		return f.Close()
	}
	return nil
}

// Document is a DEP-5 copyright file: the header and its paragraphs in order.
type Document struct {
	Header     []Field
	Paragraphs [][]Field
}

// Field is one field of a paragraph; Value may have several lines (the first is on the
// field's line, the others are continuation lines).
type Field struct {
	Name, Value string
}

// String formats the document: fields as "Name: first line" plus continuation lines
// indented by one space, empty lines as " .", paragraphs separated by an empty line.
func (d *Document) String() string {
	var b strings.Builder
	writePara := func(fs []Field) {
		for _, f := range fs {
			lines := strings.Split(strings.TrimRight(f.Value, "\n"), "\n")
			b.WriteString(f.Name + ":")
			if lines[0] != "" {
				b.WriteString(" " + lines[0])
			}
			b.WriteString("\n")
			for _, l := range lines[1:] {
				l = strings.TrimRight(l, " \t")
				if l == "" {
					b.WriteString(" .\n")
				} else {
					b.WriteString(" " + l + "\n")
				}
			}
		}
	}
	writePara(d.Header)
	for _, p := range d.Paragraphs {
		b.WriteString("\n")
		writePara(p)
	}
	return b.String()
}
