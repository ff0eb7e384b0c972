package provisioning

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// maxCredentialBytes bounds a credential file (an API key, an Entra token or a device
// token all fit easily).
const maxCredentialBytes = 16 << 10

// ReadCredentialFile reads a secret from path, refusing a file that group or others may
// read (or write) and trimming surrounding white space.
func ReadCredentialFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("provisioning: credential file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("provisioning: credential file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("provisioning: credential file %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return "", fmt.Errorf("provisioning: credential file %s has mode %04o: group or others may access it, so it is refused; run: chmod 600 %s (or use systemd LoadCredential=)",
			path, perm, path)
	}
	if fi.Size() > maxCredentialBytes {
		return "", fmt.Errorf("provisioning: credential file %s is larger than %d bytes", path, maxCredentialBytes)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxCredentialBytes+1))
	if err != nil {
		return "", fmt.Errorf("provisioning: credential file: %w", err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("provisioning: credential file %s is empty", path)
	}
	return s, nil
}

// CredentialPath resolves where the credential lives: the configured file, or, when that
// is empty and systemd passed credentials ($CREDENTIALS_DIRECTORY, LoadCredential=),
// the file name inside that directory.
func CredentialPath(configured, credDir, name string) (string, error) {
	switch {
	case configured != "":
		return configured, nil
	case credDir != "":
		return filepath.Join(credDir, name), nil
	}
	return "", fmt.Errorf("provisioning: no credential: set credential_file, or run under systemd with LoadCredential=%s:<path>", name)
}

// FileCredential returns a CredentialFunc that re-reads path (with the mode check) on
// every mint, so a rotated key or refreshed Entra token is used at once.
func FileCredential(path string) CredentialFunc {
	return func(context.Context) (string, error) { return ReadCredentialFile(path) }
}
