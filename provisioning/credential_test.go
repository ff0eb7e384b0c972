package provisioning

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgevoice/edgevoice/provisioning/internal/provtest"
)

func TestCredentialFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "api-key")
	os.WriteFile(p, []byte("  "+provtest.APIKey+"\n"), 0o644)
	_, err := ReadCredentialFile(p)
	if err == nil || !strings.Contains(err.Error(), "mode 0644") || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("0644: %v", err)
	}
	noSecret(t, err)
	os.Chmod(p, 0o640)
	if _, err := ReadCredentialFile(p); err == nil {
		t.Error("0640 accepted")
	}
	os.Chmod(p, 0o600)
	if s, err := ReadCredentialFile(p); err != nil || s != provtest.APIKey {
		t.Errorf("0600: %q %v", s, err)
	}
	os.WriteFile(filepath.Join(dir, "empty"), nil, 0o600)
	if _, err := ReadCredentialFile(filepath.Join(dir, "empty")); err == nil {
		t.Error("empty file accepted")
	}
	if got, _ := CredentialPath("", dir, "api-key"); got != p {
		t.Errorf("credentials dir: %s", got)
	}
	if got, _ := CredentialPath("/etc/x", dir, "api-key"); got != "/etc/x" {
		t.Errorf("configured path: %s", got)
	}
	if _, err := CredentialPath("", "", "api-key"); err == nil || !strings.Contains(err.Error(), "LoadCredential") {
		t.Errorf("none: %v", err)
	}
}
