package broker

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "modernc.org/sqlite"             // database/sql driver "sqlite" (pure Go)
)

// dialect is what differs between SQLite and PostgreSQL in the queries below.
type dialect struct {
	name     string
	dollar   bool   // placeholders $1, $2… instead of ?
	least    string // two-argument minimum and maximum functions
	greatest string
	identity string // type of an auto-numbered primary key
	lock     string // statement that serialises migrations across processes ("" none)
}

var (
	sqliteDialect   = dialect{name: "sqlite", least: "min", greatest: "max", identity: "INTEGER PRIMARY KEY"}
	postgresDialect = dialect{name: "postgres", dollar: true, least: "LEAST", greatest: "GREATEST",
		identity: "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", lock: "SELECT pg_advisory_xact_lock(1702174801)"}
)

// sqlStore is the Store of both databases through database/sql.
type sqlStore struct {
	db *sql.DB
	d  dialect
}

// OpenSQLite opens (creating it, mode 0600, in a directory made with mode 0700) the
// SQLite file path and migrates its schema. It is the embedded default: one broker and
// nothing to run. Writes go through one connection (SQLite serialises them anyway), in
// WAL mode so the `edgevoice-broker device` commands can change it while the broker runs.
func OpenSQLite(ctx context.Context, path string) (Store, error) {
	if path == "" {
		return nil, errors.New("broker: no SQLite file configured ([broker] database)")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("broker: os.MkdirAll: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("broker: opening the device database: %w", err)
	}
	f.Close()
	dsn := "file:" + path + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("broker: sql.Open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	s := &sqlStore{db: db, d: sqliteDialect}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("broker: device database %s: %w", path, err)
	}
	return s, nil
}

// OpenPostgres connects to the PostgreSQL database url (postgres://…, through pgx) and
// migrates its schema: N broker replicas share it and keep no state of their own. The
// error never holds url's password.
func OpenPostgres(ctx context.Context, url string) (Store, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("broker: PostgreSQL %s: %s", RedactDatabase(url), redactErr(err, url))
	}
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(32)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s := &sqlStore{db: db, d: postgresDialect}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("broker: PostgreSQL %s: %s", RedactDatabase(url), redactErr(err, url))
	}
	s.warm(ctx, 8)
	return s, nil
}

// redactErr is err's text with url's password, if any, masked.
func redactErr(err error, url string) string {
	msg := err.Error()
	if red := RedactDatabase(url); red != url {
		msg = strings.ReplaceAll(msg, url, red)
	}
	if _, rest, ok := strings.Cut(url, "://"); ok {
		host, _, _ := strings.Cut(rest, "/")
		if at := strings.LastIndex(host, "@"); at >= 0 {
			if _, pass, ok := strings.Cut(host[:at], ":"); ok && pass != "" {
				msg = strings.ReplaceAll(msg, pass, "xxxxx")
			}
		}
	}
	return msg
}

// q rewrites a query written with ? placeholders and {least}/{greatest} for s's database.
func (s *sqlStore) q(query string) string {
	query = strings.NewReplacer("{least}", s.d.least, "{greatest}", s.d.greatest, "{identity}", s.d.identity).Replace(query)
	if !s.d.dollar {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// migrations are the schema versions in order; migration i+1 brings the schema to
// version i+1. Never edit one that has shipped: add a new one.
var migrations = []string{
	// 1: devices (token hashes, rotation grace, audit counters), the shared rate-limit
	// buckets and the audit trail. Times are Unix milliseconds.
	`CREATE TABLE devices (
		name          TEXT PRIMARY KEY,
		token_sha256  TEXT NOT NULL UNIQUE,
		prev_sha256   TEXT,
		prev_until    BIGINT NOT NULL DEFAULT 0,
		created       BIGINT NOT NULL,
		disabled      INTEGER NOT NULL DEFAULT 0,
		mints         BIGINT NOT NULL DEFAULT 0,
		last_seen     BIGINT NOT NULL DEFAULT 0,
		last_error    TEXT NOT NULL DEFAULT '',
		last_error_at BIGINT NOT NULL DEFAULT 0
	);
	CREATE INDEX devices_prev_sha256 ON devices (prev_sha256);
	CREATE TABLE rate_buckets (
		bucket  TEXT PRIMARY KEY,
		tokens  DOUBLE PRECISION NOT NULL,
		updated BIGINT NOT NULL
	);
	CREATE TABLE audit (
		id     {identity},
		device TEXT NOT NULL,
		at     BIGINT NOT NULL,
		kind   TEXT NOT NULL,
		detail TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX audit_device_id ON audit (device, id);`,
}

// SchemaVersion is the schema version this broker migrates to.
var SchemaVersion = len(migrations)

// migrate brings the schema to SchemaVersion, one transaction per version; it is a no-op
// on a current schema, and replicas starting together take turns (PostgreSQL advisory
// lock, SQLite's write lock). A schema newer than this broker is refused.
func (s *sqlStore) migrate(ctx context.Context) error {
	for {
		done, err := s.migrateOne(ctx)
		if err != nil || done {
			return err
		}
	}
}

func (s *sqlStore) migrateOne(ctx context.Context) (bool, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	if s.d.lock != "" {
		if _, err := tx.ExecContext(ctx, s.d.lock); err != nil {
			return false, err
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied BIGINT NOT NULL)`); err != nil {
		return false, err
	}
	var v int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return false, err
	}
	switch {
	case v > len(migrations):
		return false, fmt.Errorf("the schema is version %d, newer than this broker's %d: upgrade the broker", v, len(migrations))
	case v == len(migrations):
		return true, tx.Commit()
	}
	for _, stmt := range strings.Split(s.q(migrations[v]), ";") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return false, fmt.Errorf("migration %d: %w", v+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO schema_migrations (version, applied) VALUES (?, ?)`), v+1, time.Now().UnixMilli()); err != nil {
		return false, err
	}
	return false, tx.Commit()
}

func (s *sqlStore) Close() error { return s.db.Close() }

// warm opens n connections at once and keeps them idle, so the first burst of requests
// does not wait for PostgreSQL to start a backend per connection (measured: p99 148 ms
// in the first second at 500 mints/s, 45 ms after). Failures are left to the requests.
func (s *sqlStore) warm(ctx context.Context, n int) {
	conns := make([]*sql.Conn, 0, n)
	for range n {
		c, err := s.db.Conn(ctx)
		if err != nil {
			break
		}
		conns = append(conns, c)
	}
	for _, c := range conns {
		c.Close()
	}
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// event adds an audit entry within tx.
func (s *sqlStore) event(ctx context.Context, tx *sql.Tx, name, kind, detail string, now time.Time) error {
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO audit (device, at, kind, detail) VALUES (?, ?, ?, ?)`), name, ms(now), kind, detail)
	return err
}

// inTx runs f in a transaction and commits it.
func (s *sqlStore) inTx(ctx context.Context, f func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("broker: device store: %w", err)
	}
	defer tx.Rollback()
	if err := f(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("broker: device store: %w", err)
	}
	return nil
}

func (s *sqlStore) Add(ctx context.Context, name string, now time.Time) (string, error) {
	if err := checkName(name); err != nil {
		return "", err
	}
	token, err := newToken()
	if err != nil {
		return "", err
	}
	err = s.insert(ctx, Device{Name: name, TokenSHA256: hashToken(token), Created: now}, "added", now)
	if err != nil {
		return "", err
	}
	return token, nil
}

func (s *sqlStore) Import(ctx context.Context, d Device, now time.Time) error {
	if err := checkName(d.Name); err != nil {
		return err
	}
	if !validHash(d.TokenSHA256) {
		return fmt.Errorf("broker: device %q: token_sha256 is not 64 hex digits", d.Name)
	}
	if d.Created.IsZero() {
		d.Created = now
	}
	return s.insert(ctx, d, "imported", now)
}

func validHash(h string) bool {
	if len(h) != 64 {
		return false
	}
	for _, c := range h {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func (s *sqlStore) insert(ctx context.Context, d Device, kind string, now time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM devices WHERE name = ?`), d.Name).Scan(&n); err != nil {
			return fmt.Errorf("broker: device store: %w", err)
		}
		if n > 0 {
			return fmt.Errorf("broker: device %q already exists; `edgevoice-broker device rotate %s` issues a new token", d.Name, d.Name)
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO devices (name, token_sha256, created, disabled) VALUES (?, ?, ?, ?)`),
			d.Name, strings.ToLower(d.TokenSHA256), ms(d.Created), boolInt(d.Disabled)); err != nil {
			return fmt.Errorf("broker: adding device %q: %w", d.Name, err)
		}
		detail := ""
		if d.Disabled {
			detail = "disabled"
		}
		return s.event(ctx, tx, d.Name, kind, detail, now)
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// update runs an UPDATE of name's row and records kind in its audit trail; ErrNoDevice
// if there is no such row.
func (s *sqlStore) update(ctx context.Context, name, kind, detail string, now time.Time, query string, args ...any) error {
	if err := checkName(name); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(query), args...)
		if err != nil {
			return fmt.Errorf("broker: device store: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("broker: device store: %w", err)
		} else if n == 0 {
			return fmt.Errorf("broker: device %q: %w", name, ErrNoDevice)
		}
		return s.event(ctx, tx, name, kind, detail, now)
	})
}

func (s *sqlStore) Rotate(ctx context.Context, name string, grace time.Duration, now time.Time) (string, error) {
	token, err := newToken()
	if err != nil {
		return "", err
	}
	until := int64(0)
	if grace > 0 {
		until = now.Add(grace).UnixMilli()
	}
	err = s.update(ctx, name, "rotated", "old token valid until "+fmtTime(fromMS(until)), now,
		`UPDATE devices SET prev_sha256 = token_sha256, prev_until = ?, token_sha256 = ? WHERE name = ?`, until, hashToken(token), name)
	if err != nil {
		return "", err
	}
	return token, nil
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func (s *sqlStore) SetDisabled(ctx context.Context, name string, disabled bool, now time.Time) error {
	kind := "enabled"
	if disabled {
		kind = "disabled"
	}
	return s.update(ctx, name, kind, "", now, `UPDATE devices SET disabled = ? WHERE name = ?`, boolInt(disabled), name)
}

func (s *sqlStore) Remove(ctx context.Context, name string, now time.Time) error {
	if err := s.update(ctx, name, "removed", "", now, `DELETE FROM devices WHERE name = ?`, name); err != nil {
		return err
	}
	// its rate bucket goes too (a new device of the same name starts afresh)
	if _, err := s.db.ExecContext(ctx, s.q(`DELETE FROM rate_buckets WHERE bucket = ?`), "device:"+name); err != nil {
		return fmt.Errorf("broker: device store: %w", err)
	}
	return nil
}

const deviceColumns = `name, token_sha256, created, disabled, prev_until, mints, last_seen, last_error, last_error_at`

func scanDevice(row interface{ Scan(...any) error }) (Device, error) {
	var d Device
	var created, prevUntil, lastSeen, lastErrAt int64
	var disabled int
	if err := row.Scan(&d.Name, &d.TokenSHA256, &created, &disabled, &prevUntil, &d.Mints, &lastSeen, &d.LastError, &lastErrAt); err != nil {
		return Device{}, err
	}
	d.Created, d.PrevUntil, d.LastSeen, d.LastErrorAt = fromMS(created), fromMS(prevUntil), fromMS(lastSeen), fromMS(lastErrAt)
	d.Disabled = disabled != 0
	return d, nil
}

// one returns the device a single-row query finds.
func (s *sqlStore) one(ctx context.Context, query string, args ...any) (Device, error) {
	d, err := scanDevice(s.db.QueryRowContext(ctx, s.q(query), args...))
	if errors.Is(err, sql.ErrNoRows) {
		return Device{}, ErrNoDevice
	}
	if err != nil {
		return Device{}, fmt.Errorf("broker: device store: %w", err)
	}
	return d, nil
}

func (s *sqlStore) Device(ctx context.Context, name string) (Device, error) {
	return s.one(ctx, `SELECT `+deviceColumns+` FROM devices WHERE name = ?`, name)
}

func (s *sqlStore) ByName(ctx context.Context, name string) (Device, error) {
	if checkName(name) != nil {
		return Device{}, ErrNoDevice
	}
	return s.one(ctx, `SELECT `+deviceColumns+` FROM devices WHERE name = ? AND disabled = 0`, name)
}

func (s *sqlStore) ByToken(ctx context.Context, token string, now time.Time) (Device, error) {
	if !plausibleToken(token) {
		return Device{}, ErrNoDevice
	}
	h := hashToken(token)
	return s.one(ctx, `SELECT `+deviceColumns+` FROM devices WHERE disabled = 0 AND (token_sha256 = ? OR (prev_sha256 = ? AND prev_until > ?))`,
		h, h, ms(now))
}

func (s *sqlStore) Devices(ctx context.Context) ([]Device, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+deviceColumns+` FROM devices ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("broker: device store: %w", err)
	}
	defer rows.Close()
	var out []Device
	for rows.Next() {
		d, err := scanDevice(rows)
		if err != nil {
			return nil, fmt.Errorf("broker: device store: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("broker: device store: %w", err)
	}
	return out, nil
}

func (s *sqlStore) Audit(ctx context.Context, name string, limit int) ([]Event, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT at, kind, detail FROM audit WHERE device = ? ORDER BY id DESC LIMIT ?`), name, limit)
	if err != nil {
		return nil, fmt.Errorf("broker: device store: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var at int64
		if err := rows.Scan(&at, &e.Kind, &e.Detail); err != nil {
			return nil, fmt.Errorf("broker: device store: %w", err)
		}
		e.At = fromMS(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("broker: device store: %w", err)
	}
	return out, nil
}

// Take refills and takes from the bucket in one statement, so replicas taking from the
// same bucket at once serialise on its row: an upsert that updates only when a whole
// token is there, and returns the row only then.
func (s *sqlStore) Take(ctx context.Context, key string, perSecond float64, burst int, now time.Time) (time.Duration, error) {
	if perSecond <= 0 || math.IsNaN(perSecond) || burst < 1 {
		return 0, fmt.Errorf("BUG: broker: bad bucket %g/s burst %d", perSecond, burst)
	}
	perMS, t := perSecond/1000, ms(now)
	// the refilled level: min(burst, tokens + max(0, now - updated) * rate)
	level := `{least}(CAST(? AS DOUBLE PRECISION), rate_buckets.tokens + CAST({greatest}(0, ? - rate_buckets.updated) AS DOUBLE PRECISION) * CAST(? AS DOUBLE PRECISION))`
	query := `INSERT INTO rate_buckets (bucket, tokens, updated) VALUES (?, CAST(? AS DOUBLE PRECISION), ?)
		ON CONFLICT (bucket) DO UPDATE SET tokens = ` + level + ` - 1, updated = {greatest}(rate_buckets.updated, ?)
		WHERE ` + level + ` >= 1
		RETURNING tokens`
	var left float64
	b := float64(burst)
	err := s.db.QueryRowContext(ctx, s.q(query), key, b-1, t, b, t, perMS, t, b, t, perMS).Scan(&left)
	if err == nil {
		if strings.HasPrefix(key, "ip:") && rand.IntN(1000) == 0 {
			s.prune(ctx, t)
		}
		return 0, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("broker: rate limits: %w", err)
	}
	var tokens float64
	var updated int64
	if err := s.db.QueryRowContext(ctx, s.q(`SELECT tokens, updated FROM rate_buckets WHERE bucket = ?`), key).Scan(&tokens, &updated); err != nil {
		return 0, fmt.Errorf("broker: rate limits: %w", err)
	}
	level0 := min(b, tokens+float64(max(0, t-updated))*perMS)
	wait := time.Duration((1 - level0) / perMS * float64(time.Millisecond))
	return max(wait, time.Millisecond), nil
}

// prune drops client-address buckets idle for a day (they are full again long before);
// device buckets go with their device.
func (s *sqlStore) prune(ctx context.Context, now int64) {
	s.db.ExecContext(ctx, s.q(`DELETE FROM rate_buckets WHERE bucket LIKE 'ip:%' AND updated < ?`), now-24*3600*1000)
}

func (s *sqlStore) RecordMint(ctx context.Context, name string, now time.Time) error {
	if _, err := s.db.ExecContext(ctx, s.q(`UPDATE devices SET mints = mints + 1, last_seen = {greatest}(last_seen, ?) WHERE name = ?`), ms(now), name); err != nil {
		return fmt.Errorf("broker: device store: %w", err)
	}
	return nil
}

// keepErrors is how many error entries the audit trail keeps per device (an upstream
// outage must not grow it without bound); the other entries are all kept.
const keepErrors = 100

func (s *sqlStore) RecordError(ctx context.Context, name, msg string, now time.Time) error {
	err := s.update(ctx, name, "error", msg, now, `UPDATE devices SET last_error = ?, last_error_at = ? WHERE name = ?`, msg, ms(now), name)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, s.q(`DELETE FROM audit WHERE device = ? AND kind = 'error' AND id <= (
		SELECT id FROM audit WHERE device = ? AND kind = 'error' ORDER BY id DESC LIMIT 1 OFFSET ?)`), name, name, keepErrors)
	if err != nil {
		return fmt.Errorf("broker: device store: %w", err)
	}
	return nil
}
