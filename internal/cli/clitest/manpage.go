package clitest

import (
	"bytes"
	"flag"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/edgevoice/edgevoice/internal/cli"
)

// manSections are the sections every man page of a binary has.
var manSections = []string{"NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "COMMANDS", "EXIT STATUS", "ENVIRONMENT", "FILES", "SEE ALSO"}

// optionTag matches the tag line of an option paragraph: .B \-json, .BI \-config " file",
// .BR \-h ", " \-help.
var optionTag = regexp.MustCompile(`^\.(?:B|BI|BR) \\-([a-z][a-z0-9\\-]*)`)

// CheckManPage checks the man page of app (groff source at path): it has the usual
// sections, a subsection (.SS) named after every command (version included), and in
// each command's subsection every flag of the command as \-NAME; every option paragraph
// (.TP followed by .B/.BI/.BR \-NAME) in a subsection names a flag the command has; and
// `man --warnings` renders it without a warning (skipped when man is not installed).
func CheckManPage(t *testing.T, app *cli.App, path string) {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(src), "\n")
	sections := map[string]bool{}
	subsections := map[string][]string{} // command name -> its lines
	cur := ""
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, ".SH "):
			sections[strings.Trim(strings.TrimPrefix(l, ".SH "), `"`)] = true
			cur = ""
		case strings.HasPrefix(l, ".SS "):
			cur = strings.ReplaceAll(strings.Trim(strings.TrimPrefix(l, ".SS "), `"`), `\-`, "-")
			subsections[cur] = nil
		case cur != "":
			subsections[cur] = append(subsections[cur], l)
		}
	}
	for _, s := range manSections {
		if !sections[s] {
			t.Errorf("%s: no section %s", path, s)
		}
	}

	cmds := append([]*cli.Command{}, app.Commands...)
	if !hasCommand(cmds, "version") {
		cmds = append(cmds, &cli.Command{Name: "version"})
	}
	for _, c := range cmds {
		body, ok := subsections[c.Name]
		if !ok {
			t.Errorf("%s: command %s has no subsection (.SS %s)", path, c.Name, strings.ReplaceAll(c.Name, "-", `\-`))
			continue
		}
		flags := map[string]bool{}
		if c.Flags != nil {
			fs := flag.NewFlagSet(c.Name, flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			c.Flags(fs, &cli.Env{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard})
			fs.VisitAll(func(f *flag.Flag) { flags[f.Name] = true })
		}
		text := strings.Join(body, "\n") + "\n"
		for name := range flags {
			esc := `\-` + strings.ReplaceAll(name, "-", `\-`)
			if !regexp.MustCompile(regexp.QuoteMeta(esc) + `([^a-z0-9\\]|\\[^-]|$)`).MatchString(text) {
				t.Errorf("%s: %s %s: flag -%s is not described (want %s in its subsection)", path, app.Name, c.Name, name, esc)
			}
		}
		for i, l := range body {
			if i == 0 || body[i-1] != ".TP" {
				continue
			}
			if m := optionTag.FindStringSubmatch(l); m != nil {
				name := strings.ReplaceAll(m[1], `\-`, "-")
				if !flags[name] {
					t.Errorf("%s: %s %s: the page describes -%s, which the command does not have", path, app.Name, c.Name, name)
				}
			}
		}
	}
	for name := range subsections {
		if !hasCommand(cmds, name) {
			t.Errorf("%s: subsection %q is not a command of %s", path, name, app.Name)
		}
	}

	if _, err := exec.LookPath("man"); err != nil {
		return
	}
	cmd := exec.Command("man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z", path)
	cmd.Env = append(os.Environ(), "MANWIDTH=80", "LC_ALL=C.UTF-8")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Errorf("man --warnings %s: %v\n%s", path, err, stderr.String())
	}
}

func hasCommand(cmds []*cli.Command, name string) bool {
	for _, c := range cmds {
		if c.Name == name {
			return true
		}
	}
	return false
}
