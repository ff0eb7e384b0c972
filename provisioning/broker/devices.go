package broker

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/edgevoice/edgevoice/provisioning"
)

// Device is one device a broker accepts. Only the SHA-256 of its token is stored;
// the token itself is printed once by AddDevice and never again.
type Device struct {
	Name        string    `json:"name"`
	TokenSHA256 string    `json:"token_sha256"` // hex
	Created     time.Time `json:"created"`
	Disabled    bool      `json:"disabled,omitempty"` // set by hand to lock a device out
}

// tokenPrefix marks edgevoice device tokens (handy for secret scanners).
const tokenPrefix = "evd_"

var deviceNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Store is a directory of device records, one <name>.json file each. The broker
// re-reads it when the directory changes, so devices can be added while it runs and
// several broker instances can share it.
type Store struct {
	dir string

	mu      sync.Mutex
	mod     time.Time // directory mtime when last read
	settled bool      // mod was old enough at that read to trust it (coarse timestamps)
	byHash  map[string]Device
}

// OpenStore opens (creating it with mode 0700 if needed) the records directory.
func OpenStore(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("broker: no device records directory configured")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("broker: os.MkdirAll: %w", err)
	}
	s := &Store{dir: dir}
	if err := s.reload(true); err != nil {
		return nil, err
	}
	return s, nil
}

func hashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// AddDevice creates a record for name and returns its new token. The token is not
// stored and cannot be shown again.
func (s *Store) AddDevice(name string, now time.Time) (string, error) {
	if !deviceNameRE.MatchString(name) {
		return "", fmt.Errorf("broker: bad device name %q (letters, digits, '.', '_', '-'; at most 64)", name)
	}
	path := filepath.Join(s.dir, name+".json")
	if _, err := os.Lstat(path); err == nil {
		return "", fmt.Errorf("broker: device %q already exists (%s); remove it first to issue a new token", name, path)
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("broker: rand.Read: %w", err)
	}
	token := tokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	rec := Device{Name: name, TokenSHA256: hashToken(token), Created: now.UTC()}
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return "", fmt.Errorf("broker: json.Marshal: %w", err)
	}
	if err := provisioning.WriteFileAtomic(path, append(data, '\n'), 0o600); err != nil {
		return "", err
	}
	return token, nil
}

// RemoveDevice deletes the record of name.
func (s *Store) RemoveDevice(name string) error {
	if !deviceNameRE.MatchString(name) {
		return fmt.Errorf("broker: bad device name %q", name)
	}
	if err := os.Remove(filepath.Join(s.dir, name+".json")); err != nil {
		return fmt.Errorf("broker: removing device %q: %w", name, err)
	}
	return nil
}

// Devices lists the records.
func (s *Store) Devices() ([]Device, error) {
	if err := s.reload(true); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Device, 0, len(s.byHash))
	for _, r := range s.byHash {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Authenticate returns the enabled device whose token this is.
func (s *Store) Authenticate(token string) (Device, bool) {
	if !strings.HasPrefix(token, tokenPrefix) || len(token) > 128 {
		return Device{}, false
	}
	_ = s.reload(false) // on error keep the records already loaded
	h := hashToken(token)
	s.mu.Lock()
	rec, ok := s.byHash[h]
	s.mu.Unlock()
	if !ok || rec.Disabled || subtle.ConstantTimeCompare([]byte(rec.TokenSHA256), []byte(h)) != 1 {
		return Device{}, false
	}
	return rec, true
}

// Lookup returns the enabled device named name (for a device authenticated by its TLS
// client certificate).
func (s *Store) Lookup(name string) (Device, bool) {
	_ = s.reload(false)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.byHash {
		if r.Name == name && !r.Disabled {
			return r, true
		}
	}
	return Device{}, false
}

// reload re-reads the records if the directory changed (or always if force).
func (s *Store) reload(force bool) error {
	fi, err := os.Stat(s.dir)
	if err != nil {
		return fmt.Errorf("broker: device records: %w", err)
	}
	s.mu.Lock()
	// A directory changed twice within one timestamp tick keeps its mtime, so an mtime
	// that was fresh at the last read is not trusted: read again until it has settled.
	same := !force && s.byHash != nil && s.settled && fi.ModTime().Equal(s.mod)
	s.mu.Unlock()
	if same {
		return nil
	}
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("broker: device records: %w", err)
	}
	m := make(map[string]Device, len(ents))
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(s.dir, e.Name()))
		if err != nil {
			return fmt.Errorf("broker: device record: %w", err)
		}
		var r Device
		if err := json.Unmarshal(data, &r); err != nil || len(r.TokenSHA256) != 64 {
			return fmt.Errorf("broker: device record %s is broken (want {\"name\",\"token_sha256\"})", e.Name())
		}
		m[strings.ToLower(r.TokenSHA256)] = r
	}
	s.mu.Lock()
	s.byHash, s.mod = m, fi.ModTime()
	s.settled = time.Since(fi.ModTime()) > 2*time.Second
	s.mu.Unlock()
	return nil
}
