package main

import (
	"testing"

	"github.com/edgevoice/edgevoice/internal/cli/clitest"
)

// TestManPage: edgevoice-provisiond(1) describes every command of the table and every
// flag of each, with the usual sections, and renders without groff warnings.
func TestManPage(t *testing.T) {
	clitest.CheckManPage(t, app, "../../build/deb/edgevoice-provisiond.1")
}
