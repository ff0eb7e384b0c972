package broker

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Store holds the broker's state: the device records (token hashes, enabled or not), the
// rate-limit buckets shared by every replica and each device's audit trail. OpenSQLite
// (one broker, nothing to run) and OpenPostgres (N stateless replicas) implement it; Open
// picks one from a database setting.
//
// Every call goes to the database: a token is looked up by its hash through an index, so
// a change made by any replica or by `edgevoice-broker device …` applies to the next
// request on every replica, and an unknown token costs one indexed read (no reload).
// An error other than ErrNoDevice means the store could not be read: the broker then
// refuses to mint (fails closed).
type Store interface {
	// Add creates an enabled device and returns its new token (shown once; only its
	// SHA-256 is stored).
	Add(ctx context.Context, name string, now time.Time) (token string, err error)
	// Import adds a device record read from a legacy directory (token hash only).
	Import(ctx context.Context, d Device, now time.Time) error
	// Rotate gives name a new token; the old one keeps working for grace.
	Rotate(ctx context.Context, name string, grace time.Duration, now time.Time) (token string, err error)
	// SetDisabled disables or re-enables name.
	SetDisabled(ctx context.Context, name string, disabled bool, now time.Time) error
	// Remove deletes name (its audit trail stays).
	Remove(ctx context.Context, name string, now time.Time) error
	// Device returns the record of name, or ErrNoDevice.
	Device(ctx context.Context, name string) (Device, error)
	// Devices lists the records by name.
	Devices(ctx context.Context) ([]Device, error)
	// Audit returns the last limit events of name, newest first.
	Audit(ctx context.Context, name string, limit int) ([]Event, error)
	// ByToken returns the enabled device whose current token, or previous token still in
	// its grace period, is token; ErrNoDevice if none.
	ByToken(ctx context.Context, token string, now time.Time) (Device, error)
	// ByName returns the enabled device named name; ErrNoDevice if none.
	ByName(ctx context.Context, name string) (Device, error)
	// Take takes one token from the bucket key (refilled at perSecond up to burst) and
	// returns 0, or how long until one is available (nothing is taken then).
	Take(ctx context.Context, key string, perSecond float64, burst int, now time.Time) (time.Duration, error)
	// RecordMint counts a key issued to name and sets its last-seen time.
	RecordMint(ctx context.Context, name string, now time.Time) error
	// RecordError sets name's last error and adds it to its audit trail. msg must hold
	// no secret.
	RecordError(ctx context.Context, name, msg string, now time.Time) error
	// Close releases the database.
	Close() error
}

// Device is one device a broker accepts.
type Device struct {
	Name        string
	TokenSHA256 string // hex; the token itself is never stored
	Created     time.Time
	Disabled    bool
	// PrevUntil is when the token replaced by the last rotation stops working (zero:
	// none).
	PrevUntil   time.Time
	Mints       int64
	LastSeen    time.Time // last key issued
	LastError   string
	LastErrorAt time.Time
}

// Event is one entry of a device's audit trail.
type Event struct {
	At     time.Time
	Kind   string // added, imported, rotated, disabled, enabled, removed, error
	Detail string
}

// ErrNoDevice is returned for an unknown (or disabled, for ByToken and ByName) device.
var ErrNoDevice = errors.New("no such device")

// tokenPrefix marks edgevoice device tokens (handy for secret scanners).
const tokenPrefix = "evd_"

var deviceNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// checkName refuses a name that is not a device name.
func checkName(name string) error {
	if !deviceNameRE.MatchString(name) {
		return fmt.Errorf("broker: bad device name %q (letters, digits, '.', '_', '-'; at most 64)", name)
	}
	return nil
}

// hashToken is the hex SHA-256 of a token. A device token holds 256 random bits, so a
// fast hash is enough: nothing can be guessed from it, and a lookup stays cheap.
func hashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// plausibleToken reports whether token can be a device token (cheap check before any
// store access).
func plausibleToken(token string) bool {
	return strings.HasPrefix(token, tokenPrefix) && len(token) <= 128
}

// newToken returns a fresh device token.
func newToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("broker: rand.Read: %w", err)
	}
	return tokenPrefix + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// Open opens the store a [broker] database setting names: a postgres:// or
// postgresql:// URL is PostgreSQL, anything else the path of a SQLite file (created
// with mode 0600). The schema is migrated to the current version.
func Open(ctx context.Context, database string) (Store, error) {
	switch {
	case database == "":
		return nil, errors.New("broker: no database configured ([broker] database)")
	case strings.HasPrefix(database, "postgres://"), strings.HasPrefix(database, "postgresql://"):
		return OpenPostgres(ctx, database)
	default:
		return OpenSQLite(ctx, strings.TrimPrefix(database, "sqlite:"))
	}
}

// RedactDatabase is database with any password replaced by "xxxxx", for logs.
func RedactDatabase(database string) string {
	scheme, rest, ok := strings.Cut(database, "://")
	if !ok {
		return database
	}
	// userinfo ends at the last '@' before the first '/'
	host, path, _ := strings.Cut(rest, "/")
	if at := strings.LastIndex(host, "@"); at >= 0 {
		user, _, hasPass := strings.Cut(host[:at], ":")
		if hasPass {
			host = user + ":xxxxx" + host[at:]
		}
	}
	out := scheme + "://" + host
	if path != "" || strings.Contains(rest, "/") {
		out += "/" + path
	}
	// a password may also be a query parameter
	if i := strings.Index(out, "password="); i >= 0 {
		j := strings.IndexAny(out[i:], "&#")
		if j < 0 {
			j = len(out) - i
		}
		out = out[:i] + "password=xxxxx" + out[i+j:]
	}
	return out
}
