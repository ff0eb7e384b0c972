package provisioning

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/edgevoice/edgevoice/realtime"
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

// DefaultCredentialFile is where the credential is looked for when neither
// credential_file nor $CREDENTIALS_DIRECTORY names one: the documented place on a device
// (mode 0600, owned by the key daemon's user).
const DefaultCredentialFile = "/etc/edgevoice/credential"

// ErrNoCredential means no credential is configured anywhere: the device is installed
// but not set up. It is realtime.ErrNoCredential, so the appliance shows no-key.
var ErrNoCredential = realtime.ErrNoCredential

// CredentialPath resolves where the credential lives, in this order: the configured
// file (credential_file) if set; else the file name inside $CREDENTIALS_DIRECTORY
// (systemd LoadCredential=) if that is set and holds it; else defaultPath (normally
// DefaultCredentialFile) if it exists. When there is none, the error wraps
// ErrNoCredential and names every place looked at.
func CredentialPath(configured, credDir, name, defaultPath string) (string, error) {
	if configured != "" {
		return configured, nil
	}
	// present: the file exists, or cannot be looked at (ReadCredentialFile says why).
	present := func(p string) bool {
		_, err := os.Stat(p)
		return err == nil || !errors.Is(err, fs.ErrNotExist)
	}
	var looked []string
	if credDir == "" {
		looked = append(looked, "$CREDENTIALS_DIRECTORY (not set: no systemd LoadCredential=)")
	} else {
		p := filepath.Join(credDir, name)
		if present(p) {
			return p, nil
		}
		looked = append(looked, p+" (does not exist)")
	}
	if defaultPath != "" {
		if present(defaultPath) {
			return defaultPath, nil
		}
		looked = append(looked, defaultPath+" (does not exist)")
	}
	return "", fmt.Errorf("provisioning: %w: credential_file is not set; looked at %s; put the key in %s (mode 0600) or set credential_file",
		ErrNoCredential, strings.Join(looked, ", "), cmp.Or(defaultPath, DefaultCredentialFile))
}

// LookupCredential returns a CredentialFunc that resolves the credential's place with
// CredentialPath and reads it (with the mode check) on every mint: a credential put in
// place or replaced after the daemon started is used at the next mint, without a
// restart. Until there is one, it returns an error wrapping ErrNoCredential.
func LookupCredential(configured, credDir, name, defaultPath string) CredentialFunc {
	return func(context.Context) (string, error) {
		path, err := CredentialPath(configured, credDir, name, defaultPath)
		if err != nil {
			return "", err
		}
		return ReadCredentialFile(path)
	}
}

// FileCredential returns a CredentialFunc that re-reads path (with the mode check) on
// every mint, so a rotated key or refreshed Entra token is used at once.
func FileCredential(path string) CredentialFunc {
	return func(context.Context) (string, error) { return ReadCredentialFile(path) }
}

// CredentialVersion returns a function that fingerprints the credential's file as
// CredentialPath resolves it: its path, device, inode, size and modification time (never
// its content). Replacing the file (an editor, install(1), an atomic rename) changes it.
// It is "" when there is no credential.
func CredentialVersion(configured, credDir, name, defaultPath string) func() string {
	return func() string {
		path, err := CredentialPath(configured, credDir, name, defaultPath)
		if err != nil {
			return ""
		}
		fi, err := os.Stat(path)
		if err != nil {
			return path + " " + err.Error()
		}
		v := fmt.Sprintf("%s %d %d", path, fi.Size(), fi.ModTime().UnixNano())
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			v += fmt.Sprintf(" %d:%d", st.Dev, st.Ino)
		}
		return v
	}
}
