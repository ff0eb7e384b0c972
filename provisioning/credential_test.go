package provisioning

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgevoice/edgevoice/provisioning/internal/provtest"
	"github.com/edgevoice/edgevoice/realtime"
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
	if got, _ := CredentialPath("", dir, "api-key", ""); got != p {
		t.Errorf("credentials dir: %s", got)
	}
	if got, _ := CredentialPath("/etc/x", dir, "api-key", ""); got != "/etc/x" {
		t.Errorf("configured path: %s", got)
	}
	if _, err := CredentialPath("", "", "api-key", ""); err == nil || !strings.Contains(err.Error(), "LoadCredential") {
		t.Errorf("none: %v", err)
	}
}

// TestCredentialLookupOrder: credential_file if set; else $CREDENTIALS_DIRECTORY/<name>
// if it holds it; else the default file; with none, an error that wraps
// ErrNoCredential (realtime's, for the appliance) and names every place looked at.
func TestCredentialLookupOrder(t *testing.T) {
	dir := t.TempDir()
	credDir := filepath.Join(dir, "creds")
	os.Mkdir(credDir, 0o700)
	def := filepath.Join(dir, "etc-credential") // stands for /etc/edgevoice/credential
	inDir := filepath.Join(credDir, "credential")

	_, err := CredentialPath("", credDir, "credential", def)
	if !errors.Is(err, ErrNoCredential) || !errors.Is(err, realtime.ErrNoCredential) {
		t.Fatalf("nothing anywhere: %v, want ErrNoCredential", err)
	}
	for _, w := range []string{inDir, def, "credential_file is not set", "mode 0600"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("the error does not name %q: %v", w, err)
		}
	}
	if _, err := CredentialPath("", "", "credential", def); err == nil || !strings.Contains(err.Error(), "$CREDENTIALS_DIRECTORY (not set") {
		t.Errorf("no credentials directory: %v", err)
	}

	os.WriteFile(def, []byte("default\n"), 0o600)
	for _, dirArg := range []string{"", credDir} { // an empty or unrelated credentials dir falls through
		if got, err := CredentialPath("", dirArg, "credential", def); got != def || err != nil {
			t.Errorf("credentials dir %q without the file: %q %v, want the default", dirArg, got, err)
		}
	}
	os.WriteFile(inDir, []byte("loaded\n"), 0o600)
	if got, _ := CredentialPath("", credDir, "credential", def); got != inDir {
		t.Errorf("with $CREDENTIALS_DIRECTORY/credential: %q", got)
	}
	if got, _ := CredentialPath("/x/configured", credDir, "credential", def); got != "/x/configured" {
		t.Errorf("credential_file set: %q", got)
	}
	if DefaultCredentialFile != "/etc/edgevoice/credential" {
		t.Errorf("DefaultCredentialFile = %q: the README and the units name /etc/edgevoice/credential", DefaultCredentialFile)
	}
}

// TestLookupCredentialRereads: the credential is looked up and read at every mint, so a
// credential put in place or replaced after start is used by the next mint (no restart):
// none -> ErrNoCredential; a wrong key -> rejected by the backend; the right key ->
// minted, each against the same provider.
func TestLookupCredentialRereads(t *testing.T) {
	provtest.CheckGoroutines(t)
	clk := provtest.NewClock(provtest.Start)
	b := provtest.NewBackend(t, clk)
	b.Handle = func(w http.ResponseWriter, r *http.Request, rec provtest.Recorded) bool {
		if rec.APIKey != provtest.APIKey {
			http.Error(w, `{"error":{"message":"bad key"}}`, http.StatusUnauthorized)
			return true
		}
		return false
	}
	def := filepath.Join(t.TempDir(), "credential")
	p := azureGA(t, b, WithCredential(LookupCredential("", "", "credential", def)))
	ctx := context.Background()

	if _, err := p.Mint(ctx, nil); !errors.Is(err, ErrNoCredential) {
		t.Fatalf("no credential file: %v, want ErrNoCredential", err)
	}
	if n := b.N.Load(); n != 0 {
		t.Errorf("the backend was asked %d times without a credential", n)
	}
	if err := WriteFileAtomic(def, []byte("sk-wrong-key-0000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := p.Mint(ctx, nil)
	if !errors.Is(err, ErrCredentialRejected) {
		t.Fatalf("wrong key: %v, want rejected", err)
	}
	// Replaced (atomically, as an installer does) between two mints.
	if err := WriteFileAtomic(def, []byte(provtest.APIKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := p.Mint(ctx, nil)
	noSecret(t, err)
	if err != nil || k.Value == "" {
		t.Fatalf("after replacing the credential: %v", err)
	}
	reqs := b.Requests()
	if len(reqs) != 2 || reqs[0].APIKey != "sk-wrong-key-0000" || reqs[1].APIKey != provtest.APIKey {
		t.Errorf("the backend saw %d requests; want the old key then the new one", len(reqs))
	}
}

// TestCredentialVersion: the fingerprint changes when the file is replaced (atomically,
// same size) and is stable otherwise; it never holds the content.
func TestCredentialVersion(t *testing.T) {
	def := filepath.Join(t.TempDir(), "credential")
	v := CredentialVersion("", "", "credential", def)
	if got := v(); got != "" {
		t.Errorf("no file: %q", got)
	}
	WriteFileAtomic(def, []byte("sk-aaaa\n"), 0o600)
	v1 := v()
	if v1 == "" || v1 != v() || strings.Contains(v1, "sk-aaaa") {
		t.Errorf("version %q (again %q)", v1, v())
	}
	WriteFileAtomic(def, []byte("sk-bbbb\n"), 0o600)
	if v2 := v(); v2 == v1 || strings.Contains(v2, "sk-bbbb") {
		t.Errorf("replaced file: %q, before %q", v2, v1)
	}
}
