package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const mitText = `MIT License

Copyright (c) 2024 Jane Example

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated documentation files (the "Software"), to deal in the Software without restriction, including without limitation the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.`

func TestIdentify(t *testing.T) {
	apache, err := os.ReadFile("../../LICENSE")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, text, want string
		wantText         bool
	}{
		{"mit", mitText, "Expat", true},
		{"apache is referred to", string(apache), "Apache-2.0", false},
		{"go", goLicense(t), "BSD-3-clause", true},
	} {
		l, err := identify(tc.text)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if l.Name != tc.want || (l.Text != "") != tc.wantText {
			t.Errorf("%s: got %q (text %d bytes), want %q (text copied: %v)", tc.name, l.Name, len(l.Text), tc.want, tc.wantText)
		}
	}
	if l, err := identify("Do what you like with this, but tell nobody.\nSigned, me."); err == nil {
		t.Errorf("an unknown license was identified as %q", l.Name)
	}
}

// goroot is the Go distribution that builds the binaries (go env GOROOT).
func goroot(t *testing.T) string {
	t.Helper()
	r, err := goEnv("GOROOT")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func goLicense(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(goroot(t), "LICENSE"))
	if err != nil {
		t.Skipf("no Go distribution license: %v", err)
	}
	return string(b)
}

func TestCopyrights(t *testing.T) {
	text := "Copyright (c) 2009 The Go Authors. All rights reserved.\n" +
		"Copyright © 2015-2022 Go Opus Authors\n" +
		"   Copyright [yyyy] [name of copyright owner]\n" +
		"Copyright (c) <year> <copyright holders>\n" +
		"// Copyright 2016 The Periph Authors.\n" +
		"Copyright (c) 2009 The Go Authors. All rights reserved.\n" +
		"the copyright holders may not be named\n"
	got := strings.Join(copyrights(text), "|")
	want := "2009 The Go Authors. All rights reserved.|2015-2022 Go Opus Authors|2016 The Periph Authors."
	if got != want {
		t.Errorf("copyrights:\n got %q\nwant %q", got, want)
	}
	if strings.Contains(withoutCopyrights(mitText), "Jane Example") {
		t.Errorf("withoutCopyrights kept the copyright line")
	}
}

// TestMiniaudioDualLicense: a C file whose closing comment offers a choice of licenses
// gets an "or" expression and both texts.
func TestMiniaudioDualLicense(t *testing.T) {
	src := "int x;\n/*\nThis software is available as a choice of the following licenses. Choose\nwhichever you prefer.\n\n" +
		"ALTERNATIVE 1 - Public Domain (www.unlicense.org)\n" + unlicense + "\n\nALTERNATIVE 2 - MIT No Attribution\n" + mit0 + "\n*/\n"
	p, err := paragraph("m/miniaudio.*", "test", []string{trailingComment(src)}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	fields := map[string]string{}
	for _, f := range p.fields {
		fields[f.Name] = f.Value
	}
	if !strings.HasPrefix(fields["License"], "Unlicense or MIT-0\n") {
		t.Errorf("License: %q", firstLine(fields["License"]))
	}
	if fields["Copyright"] != "2025 David Reid" {
		t.Errorf("Copyright: %q", fields["Copyright"])
	}
}

func firstLine(s string) string { return strings.SplitN(s, "\n", 2)[0] }

const unlicense = `This is free and unencumbered software released into the public domain.

Anyone is free to copy, modify, publish, use, compile, sell, or distribute this
software, either in source code form or as a compiled binary, for any purpose,
commercial or non-commercial, and by any means.

In jurisdictions that recognize copyright laws, the author or authors of this
software dedicate any and all copyright interest in the software to the public
domain. We make this dedication for the benefit of the public at large and to
the detriment of our heirs and successors. We intend this dedication to be an
overt act of relinquishment in perpetuity of all present and future rights to
this software under copyright law.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN
ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION
WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.

For more information, please refer to <http://unlicense.org/>`

const mit0 = `Copyright 2025 David Reid

Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files (the "Software"), to deal in
the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies
of the Software, and to permit persons to whom the Software is furnished to do
so.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY,
WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN
CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.`

// TestFromTestBinary runs the whole chain on this test binary, which links
// github.com/google/licensecheck: build information, the module cache (offline), the
// license files, the document.
func TestFromTestBinary(t *testing.T) {
	mods, goVersions, err := linkedModules([]string{os.Args[0]})
	if err != nil {
		t.Fatal(err)
	}
	var lc *Module
	for _, m := range mods {
		if m.Path == "github.com/google/licensecheck" {
			lc = m
		}
	}
	if lc == nil {
		t.Fatalf("the test binary's modules %v do not include github.com/google/licensecheck", mods)
	}
	if err := locate(mods); err != nil {
		t.Fatal(err)
	}
	d, err := build(mods, goroot(t), strings.Join(goVersions, ", "), []string{"/usr/bin/x"})
	if err != nil {
		t.Fatal(err)
	}
	out := d.String()
	for _, want := range []string{
		"Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n",
		"\nFiles: *\nCopyright: 2026 the edgevoice authors\nLicense: Apache-2.0\n",
		"\nFiles: go/src/*\nCopyright: 2009 The Go Authors.",
		"\nFiles: github.com/google/licensecheck/*\nCopyright: 2019 The Go Authors. All rights reserved.\nLicense: BSD-3-clause\n",
		"\nLicense: Apache-2.0\n On Debian systems, the full text of the Apache-2.0 license can be found in\n /usr/share/common-licenses/Apache-2.0.\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the document lacks %q:\n%s", want, out)
		}
	}
	for i, l := range strings.Split(out, "\n") {
		if l == " " || strings.HasPrefix(l, "\t") {
			t.Errorf("line %d is not a valid deb822 line: %q", i+1, l)
		}
	}
}

// TestNoLicenseFails: a linked module without a license file fails the build, naming it.
func TestNoLicenseFails(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x.go"), []byte("package x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mods := []*Module{{Path: "example.com/nolicense", Version: "v1.0.0", Dir: dir, In: []string{"edgevoice"}}}
	_, err := build(mods, goroot(t), "go1", []string{"/usr/bin/edgevoice"})
	if err == nil || !strings.Contains(err.Error(), "example.com/nolicense@v1.0.0: no license file") {
		t.Fatalf("err = %v, want one naming the module without a license file", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "LICENSE"), []byte("All rights reserved. Ask me first.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = build(mods, goroot(t), "go1", []string{"/usr/bin/edgevoice"})
	if err == nil || !strings.Contains(err.Error(), "license not recognised") {
		t.Fatalf("err = %v, want an unrecognised license", err)
	}
}

// TestMixedLicenseFiles: a module whose license files name different licenses (as a
// module that bundles code under other terms does) gets one "A and B" paragraph with the
// texts that are not in /usr/share/common-licenses and a stand-alone paragraph for those
// that are; a text nobody reviewed still fails.
func TestMixedLicenseFiles(t *testing.T) {
	dir := t.TempDir()
	bsd, err := os.ReadFile(filepath.Join(goroot(t), "LICENSE"))
	if err != nil {
		t.Fatal(err)
	}
	apache, err := os.ReadFile("../../LICENSE")
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string][]byte{"LICENSE": bsd, "LICENSE-APACHE": apache} {
		if err := os.WriteFile(filepath.Join(dir, name), text, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mods := []*Module{{Path: "example.com/mixed", Version: "v1.0.0", Dir: dir, In: []string{"edgevoice"}}}
	d, err := build(mods, goroot(t), "go1", []string{"/usr/bin/edgevoice"})
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	for _, p := range d.Paragraphs {
		for _, f := range p {
			text.WriteString(f.Name + ": " + f.Value + "\n")
		}
		text.WriteString("\n")
	}
	out := text.String()
	for _, want := range []string{"License: BSD-3-clause and Apache-2.0\n", "Apache-2.0: see its stand-alone License paragraph", "License: Apache-2.0\nOn Debian systems"} {
		if !strings.Contains(out, want) {
			t.Errorf("copyright file lacks %q:\n%s", want, out)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "LICENSE-OTHER"), []byte("Use it as you like, but ask me first.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := build(mods, goroot(t), "go1", []string{"/usr/bin/edgevoice"}); err == nil || !strings.Contains(err.Error(), "license not recognised") {
		t.Fatalf("err = %v, want an unrecognised license for the unreviewed text", err)
	}
}
