package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/google/licensecheck"
)

// debianName maps the SPDX identifiers licensecheck reports to the short names of the
// Debian copyright format where they differ (MIT is "Expat" there).
var debianName = map[string]string{
	"MIT":          "Expat",
	"BSD-2-Clause": "BSD-2-clause",
	"BSD-3-Clause": "BSD-3-clause",
}

// commonLicenses are the licenses whose full text Debian ships in
// /usr/share/common-licenses (base-files), by Debian short name. Their text is referred
// to, not copied (lintian: copyright-file-contains-full-*-license).
var commonLicenses = map[string]bool{
	"Apache-2.0": true, "CC0-1.0": true, "MPL-1.1": true, "MPL-2.0": true,
	"GPL-2": true, "GPL-3": true, "LGPL-2.1": true, "LGPL-3": true,
}

// embeddedC lists C sources that a module compiles into the binary under their own
// license, stated in a comment at the end of the file: the module path, the file, and
// how it is named in the copyright file.
var embeddedC = []struct{ module, file, name string }{
	{"github.com/gen2brain/malgo", "miniaudio.h", "miniaudio (C, compiled into malgo)"},
}

// minCoverage is how much of a license file (in words) must match known licenses.
const minCoverage = 75

// License is an identified license: its Debian short name (an "or" expression when the
// text offers a choice) and the text to put in the copyright file ("" for the licenses
// in /usr/share/common-licenses).
type License struct {
	Name string
	Text string
}

// reviewedText is a license file that licensecheck cannot name on its own, read by a
// person and pinned by the SHA-256 of its text: a new version whose text changed fails
// again until someone reads it.
type reviewedText struct {
	// name is the Debian short name to use; "" keeps licensecheck's names whatever the
	// coverage (a listing of third-party licenses with prose between them).
	name string
	// skip: the file is not a license of anything compiled into the binary.
	skip bool
	why  string
}

var reviewed = map[string]reviewedText{
	"14088888f59c8feb910cb6cad319c6f5cddc751201662f3c09ac7b3d4ae04bfa": {name: "public-domain",
		why: "modernc.org/sqlite LICENSE-SQLITE: SQLite's public-domain dedication"},
	"ce9c578c2968e316b80b180c3f5a5d70a8f32f37256c1bcf944a5de4f9f4eb59": {skip: true,
		why: "modernc.org/memory LICENSE-LOGO: a link to the project logo's source; the logo is not in the binary"},
	"de2e7c240a45e22cd9f3e4e627cee0f64e23425dee2ab3adb89862f208deb83a": {
		why: "modernc.org/libc LICENSE-3RD-PARTY.md: the licenses of the code it translated, with headings between them"},
	"b72c0d9bdf260373108b700c37b22ad84098560807625e8172a43394ad6bc6a7": {
		why: "modernc.org/sqlite LICENSE-3RD-PARTY.md: the licenses of the code it translated, with headings between them"},
}

// errSkip reports a reviewed file that is not a license of anything in the binary.
var errSkip = fmt.Errorf("not a license of compiled code")

// identify names the license(s) of text with licensecheck. It fails when less than
// minCoverage percent of the text is a known license, unless the text is one of the
// reviewed ones; it returns errSkip for a reviewed file that licenses nothing compiled in.
func identify(text string) (License, error) {
	sum := sha256.Sum256([]byte(text))
	r, isReviewed := reviewed[hex.EncodeToString(sum[:])]
	switch {
	case isReviewed && r.skip:
		return License{}, errSkip
	case isReviewed && r.name != "":
		return License{Name: r.name, Text: text}, nil
	}
	cov := licensecheck.Scan([]byte(text))
	if (cov.Percent < minCoverage && !isReviewed) || len(cov.Match) == 0 {
		return License{}, fmt.Errorf("license not recognised (%.0f%% of the text matches a known license)", cov.Percent)
	}
	var ids []string
	seen := map[string]bool{}
	for _, m := range cov.Match {
		if m.IsURL {
			continue
		}
		id := m.ID
		if d, ok := debianName[id]; ok {
			id = d
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return License{}, fmt.Errorf("license not recognised (only URLs matched)")
	}
	l := License{Name: strings.Join(ids, " or ")}
	if isReviewed {
		// a listing: every license in it applies to its part of the code
		l.Name = strings.Join(ids, " and ")
	}
	if len(ids) > 1 || !commonLicenses[ids[0]] {
		l.Text = text
	}
	return l, nil
}

// copyrightRE matches a copyright statement: "Copyright (c) 2009 The Go Authors.",
// "Copyright © 2015-2022 Go Opus Authors", "Copyright 2018 CoreOS, Inc".
var copyrightRE = regexp.MustCompile(`(?i)^\s*(//|#|\*)?\s*copyright\s+(\(c\)\s*|©\s*)?(\d{4}.*)$`)

// copyrights returns the copyright statements of text (without the word "Copyright"
// and the sign), in order, without duplicates; template lines such as
// "Copyright [yyyy] [name of copyright owner]" do not count.
func copyrights(text string) []string {
	var out []string
	seen := map[string]bool{}
	for _, line := range strings.Split(text, "\n") {
		m := copyrightRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		c := strings.TrimSpace(m[3])
		if c == "" || seen[c] {
			continue
		}
		seen[c] = true
		out = append(out, c)
	}
	return out
}

// withoutCopyrights returns text without its copyright lines and the blank lines that
// follow them, so the license text in a Files paragraph does not repeat its Copyright
// field.
func withoutCopyrights(text string) string {
	var out []string
	skipBlank := false
	for _, line := range strings.Split(text, "\n") {
		if copyrightRE.MatchString(line) && len(copyrights(line)) > 0 {
			skipBlank = true
			continue
		}
		if skipBlank && strings.TrimSpace(line) == "" {
			continue
		}
		skipBlank = false
		out = append(out, line)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}

// licenseFiles returns the license texts of the module in dir: LICENSE*, LICENCE* and
// COPYING* at its root, else the files of the REUSE directory LICENSES/; and its NOTICE*
// files (Apache-2.0 asks that they travel with the binary).
func licenseFiles(dir string) (licenses, notices []string, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	var names, noticeNames []string
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		switch {
		case isNamed(e.Name(), "LICENSE", "LICENCE", "COPYING"):
			names = append(names, filepath.Join(dir, e.Name()))
		case isNamed(e.Name(), "NOTICE"):
			noticeNames = append(noticeNames, filepath.Join(dir, e.Name()))
		}
	}
	if len(names) == 0 {
		reuse, _ := filepath.Glob(filepath.Join(dir, "LICENSES", "*"))
		names = reuse
	}
	sort.Strings(names)
	sort.Strings(noticeNames)
	read := func(files []string) ([]string, error) {
		var texts []string
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			texts = append(texts, strings.TrimSpace(strings.ReplaceAll(string(b), "\r\n", "\n")))
		}
		return texts, nil
	}
	if licenses, err = read(names); err != nil {
		return nil, nil, err
	}
	notices, err = read(noticeNames)
	return licenses, notices, err
}

// isNamed reports whether file is one of names, in any case, alone or followed by a
// suffix ("LICENSE", "LICENSE.md", "COPYING-MIT"), and not source code ("license.go").
func isNamed(file string, names ...string) bool {
	up := strings.ToUpper(file)
	switch filepath.Ext(up) {
	case ".GO", ".C", ".H", ".S":
		return false
	}
	for _, n := range names {
		if up == n || (strings.HasPrefix(up, n) && strings.ContainsRune(".-_", rune(up[len(n)]))) {
			return true
		}
	}
	return false
}

// sourceCopyrights looks for copyright statements in the headers of the Go files at the
// root of the module in dir, for licenses (Apache-2.0) whose file names no holder.
func sourceCopyrights(dir string) []string {
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	sort.Strings(files)
	var out []string
	seen := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		head := string(b)
		if len(head) > 2000 {
			head = head[:2000]
		}
		for _, c := range copyrights(head) {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
		if len(out) >= 3 {
			break
		}
	}
	return out
}

// trailingComment returns the last /* ... */ comment of a C file, where single-file
// libraries such as miniaudio state their license.
func trailingComment(text string) string {
	i := strings.LastIndex(text, "/*")
	if i < 0 {
		return ""
	}
	c := strings.TrimPrefix(text[i:], "/*")
	if j := strings.Index(c, "*/"); j >= 0 {
		c = c[:j]
	}
	return strings.TrimSpace(c)
}

// wrap breaks lines longer than width at spaces (license files that put each paragraph
// on one line), keeping shorter lines as they are.
func wrap(text string, width int) string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		for len(line) > width {
			cut := strings.LastIndex(line[:width], " ")
			if cut <= 0 {
				break
			}
			out = append(out, line[:cut])
			line = strings.TrimLeft(line[cut:], " ")
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}
