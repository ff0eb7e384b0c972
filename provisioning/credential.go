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

// CredentialFileError is a credential file that exists but cannot be used: unreadable by
// this user, readable by others, not a regular file, empty or too large. It matches
// ErrNoCredential with errors.Is: until it is fixed the device has no usable credential,
// so the key daemon keeps running and the appliance shows no-key. Its text says how to fix
// the file and never holds the file's content.
type CredentialFileError struct {
	Path    string
	Problem string // what is wrong and what to do
	Err     error  // the underlying error, if any
}

func (e *CredentialFileError) Error() string {
	return "provisioning: credential file " + e.Path + ": " + e.Problem
}

// Is makes errors.Is(err, ErrNoCredential) true.
func (e *CredentialFileError) Is(target error) bool { return target == ErrNoCredential }

// Unwrap returns the underlying error.
func (e *CredentialFileError) Unwrap() error { return e.Err }

// ReadCredentialFile reads a secret from path, refusing a file that group or others may
// read (or write) and trimming surrounding white space. A file that cannot be used gives
// a *CredentialFileError.
func ReadCredentialFile(path string) (string, error) {
	bad := func(err error, format string, a ...any) error {
		return &CredentialFileError{Path: path, Problem: fmt.Sprintf(format, a...), Err: err}
	}
	// O_NONBLOCK: opening a FIFO (or a device) must not wait for a writer, which hung
	// the daemon past SIGTERM; the regular-file check below refuses it.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if errors.Is(err, fs.ErrPermission) {
		return "", bad(err, "permission denied for uid %d: the key daemon's user must own it (sudo chown edgevoice-keys:edgevoice-keys %s && sudo chmod 600 %s)", os.Getuid(), path, path)
	}
	if err != nil {
		return "", bad(err, "%v", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", bad(err, "%v", err)
	}
	if !fi.Mode().IsRegular() {
		return "", bad(nil, "not a regular file")
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return "", bad(nil, "mode %04o: group or others may access it, so it is refused; run: chmod 600 %s", perm, path)
	}
	if fi.Size() > maxCredentialBytes {
		return "", bad(nil, "larger than %d bytes", maxCredentialBytes)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxCredentialBytes+1))
	if err != nil {
		return "", bad(err, "%v", err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", bad(nil, "empty")
	}
	return s, nil
}

// DefaultCredentialFile is where the credential is looked for when neither
// credential_file nor $CREDENTIALS_DIRECTORY names one: the documented place on a device
// (mode 0600, owned by the key daemon's user).
const DefaultCredentialFile = "/etc/edgevoice/credential"

// InstallCredentialCommand puts the credential in place at DefaultCredentialFile with
// the owner and mode the key daemon wants; the key is pasted on its standard input, so it
// appears in no command line or shell history.
const InstallCredentialCommand = "sudo install -m 0600 -o edgevoice-keys -g edgevoice-keys /dev/stdin " + DefaultCredentialFile

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
