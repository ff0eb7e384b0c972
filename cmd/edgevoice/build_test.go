package main

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestDebVersion: build/debversion.sh turns `git describe` output into a Debian version
// (the .deb file name and the package's Version field).
func TestDebVersion(t *testing.T) {
	for in, want := range map[string]string{
		"v1.2.3":            "1.2.3",
		"1.0":               "1.0",
		"v1.2.3-4-gabc1234": "1.2.3+git4.abc1234",
		"v1.2.3-dirty":      "1.2.3+dirty",
		"33dbfeb":           `^0\.0~git[0-9]+\.33dbfeb$`, // a hash that starts with a digit is not a version
		"a614806-dirty":     `^0\.0~git[0-9]+\.a614806\+dirty$`,
	} {
		out, err := exec.Command("bash", "../../build/debversion.sh", in).Output()
		if err != nil {
			t.Fatalf("debversion.sh %s: %v", in, err)
		}
		got := strings.TrimSpace(string(out))
		if strings.HasPrefix(want, "^") {
			if !regexp.MustCompile(want).MatchString(got) {
				t.Errorf("debversion.sh %s = %q, want %s", in, got, want)
			}
		} else if got != want {
			t.Errorf("debversion.sh %s = %q, want %q", in, got, want)
		}
	}
}
