package broker

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/provisioning/broker/internal/pgtest"
	"github.com/edgevoice/edgevoice/provisioning/internal/provtest"
)

// post sends POST /v1/keys with token and body and returns the status and body.
func post(t testing.TB, url, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("POST", url+"/v1/keys", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// logBuffer collects log output safely across goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// TestBrokerRequestFindings covers the review's findings on request bodies: trailing
// JSON, tools of the wrong type, the size cap, and a bad request spending a rate token.
func TestBrokerRequestFindings(t *testing.T) {
	provtest.CheckGoroutines(t)
	f := newBrokerFixture(t, WithRateLimit(6, 1)) // one key, then one per 10 s
	for _, tc := range []struct{ name, body string }{
		{"trailing JSON", `{"session":{"voice":"cedar"}} {"session":{"voice":"ash"}}`},
		{"trailing garbage", `{}x`},
		{"tools an object", `{"session":{"tools":{"type":"function"}}}`},
		{"tools a string", `{"session":{"tools":"set_timer"}}`},
		{"tools of numbers", `{"session":{"tools":[1,2]}}`},
		{"tools null entry", `{"session":{"tools":[null]}}`},
		{"unknown field", `{"sesion":{}}`},
	} {
		if code, body := post(t, f.srv.URL, f.token, tc.body); code != 400 || !strings.Contains(body, "invalid_request_error") {
			t.Errorf("%s: %d %s, want 400", tc.name, code, body)
		}
	}
	big := `{"session":{"instructions":"` + strings.Repeat("a", maxRequest) + `"}}`
	if code, body := post(t, f.srv.URL, f.token, big); code != http.StatusRequestEntityTooLarge {
		t.Errorf("body over 16 KiB: %d %s, want 413", code, body)
	}
	if n := f.up.N.Load(); n != 0 {
		t.Errorf("bad requests reached the upstream %d times", n)
	}
	// none of the bad requests took the device's only token
	if code, body := post(t, f.srv.URL, f.token, `{"session":{"tools":[{"type":"function","name":"set_timer"}]}}`); code != 200 {
		t.Errorf("good request after bad ones: %d %s, want 200 (a bad request spent the rate token?)", code, body)
	}
	if code, _ := post(t, f.srv.URL, f.token, ``); code != 429 {
		t.Errorf("second key: %d, want 429", code)
	}
}

// TestBrokerClientGoneIsNotUpstreamFailure: a device that hangs up while its key is
// minted is logged as such, not as an upstream failure in the log or its audit trail.
func TestBrokerClientGoneIsNotUpstreamFailure(t *testing.T) {
	provtest.CheckGoroutines(t)
	var logs logBuffer
	f := newBrokerFixture(t, WithLogger(logs.logger()))
	entered := make(chan struct{})
	f.up.Handle = func(w http.ResponseWriter, r *http.Request, _ provtest.Recorded) bool {
		close(entered)
		<-r.Context().Done() // the broker gave up on the upstream
		return true
	}
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", f.srv.URL+"/v1/keys", nil)
	req.Header.Set("Authorization", "Bearer "+f.token)
	errc := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the mint never reached the upstream")
	}
	cancel()
	if err := <-errc; err == nil {
		t.Fatal("the request was not cancelled")
	}
	provtest.WaitFor(t, "the broker to see the device go", func() bool { return f.broker.metrics.clientGone.Load() == 1 })
	if strings.Contains(logs.String(), "upstream mint failed") || f.broker.metrics.upstreamErrors.Load() != 0 {
		t.Errorf("a client disconnect was logged as an upstream failure:\n%s", logs.String())
	}
	if d, _ := f.store.Device(context.Background(), "kitchen"); d.LastError != "" {
		t.Errorf("last error %q after a client disconnect", d.LastError)
	}
}

// TestBrokerDeviceLifecycle: disable, re-enable, rotate with a grace period, and the
// audit trail, each applied at the next request.
func TestBrokerDeviceLifecycle(t *testing.T) {
	provtest.CheckGoroutines(t)
	f := newBrokerFixture(t, WithRateLimit(6000, 100))
	ctx := context.Background()
	mint := func(tok string) int { code, _ := post(t, f.srv.URL, tok, ""); return code }
	if c := mint(f.token); c != 200 {
		t.Fatalf("enabled: %d", c)
	}
	if err := f.store.SetDisabled(ctx, "kitchen", true, f.clk.Now()); err != nil {
		t.Fatal(err)
	}
	if c := mint(f.token); c != 401 {
		t.Errorf("disabled: %d, want 401", c)
	}
	if err := f.store.SetDisabled(ctx, "kitchen", false, f.clk.Now()); err != nil {
		t.Fatal(err)
	}
	if c := mint(f.token); c != 200 {
		t.Errorf("re-enabled: %d", c)
	}
	newTok, err := f.store.Rotate(ctx, "kitchen", time.Minute, f.clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	if c1, c2 := mint(f.token), mint(newTok); c1 != 200 || c2 != 200 {
		t.Errorf("in the grace period: old %d new %d, want 200 200", c1, c2)
	}
	f.clk.Advance(time.Minute + time.Second)
	if c1, c2 := mint(f.token), mint(newTok); c1 != 401 || c2 != 200 {
		t.Errorf("after the grace period: old %d new %d, want 401 200", c1, c2)
	}
	if err := f.store.SetDisabled(ctx, "nosuch", true, f.clk.Now()); err == nil {
		t.Error("disabling an unknown device worked")
	}
	d, err := f.store.Device(ctx, "kitchen")
	if err != nil || d.Mints != 5 || d.Disabled {
		t.Errorf("device %+v %v, want 5 mints", d, err)
	}
	ev, err := f.store.Audit(ctx, "kitchen", 10)
	var kinds []string
	for _, e := range ev {
		kinds = append(kinds, e.Kind)
	}
	if err != nil || strings.Join(kinds, ",") != "rotated,enabled,disabled,added" {
		t.Errorf("audit %v %v", kinds, err)
	}
}

// TestBrokerFailsClosed: with the store unreadable no key is minted; the answer says so
// without a secret and the metric counts it.
func TestBrokerFailsClosed(t *testing.T) {
	provtest.CheckGoroutines(t)
	var logs logBuffer
	f := newBrokerFixture(t, WithLogger(logs.logger()))
	f.store.(*sqlStore).db.Close()
	code, body := post(t, f.srv.URL, f.token, "")
	if code != 503 || !strings.Contains(body, "store_unavailable") || strings.Contains(body, f.token) || strings.Contains(body, hashToken(f.token)) {
		t.Errorf("store down: %d %s, want 503 store_unavailable", code, body)
	}
	if f.up.N.Load() != 0 || f.broker.metrics.storeErrors.Load() == 0 || f.broker.metrics.storeUp.Load() != 0 {
		t.Errorf("upstream asked %d times, store errors %d", f.up.N.Load(), f.broker.metrics.storeErrors.Load())
	}
	resp, err := http.Get(f.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(m), "edgevoice_broker_store_up 0") || !strings.Contains(string(m), "edgevoice_broker_store_errors_total 1") {
		t.Errorf("metrics:\n%s", m)
	}
	if strings.Contains(logs.String(), f.token) || !strings.Contains(logs.String(), "device store unavailable") {
		t.Errorf("log:\n%s", logs.String())
	}
}

// TestBrokerClientLimitsAndAuthLog: the client address's bucket bounds unauthenticated
// requests, and failed authentications log one line per client per 10 s.
func TestBrokerClientLimitsAndAuthLog(t *testing.T) {
	provtest.CheckGoroutines(t)
	var logs logBuffer
	f := newBrokerFixture(t, WithLogger(logs.logger()), WithClientRateLimit(60, 50))
	bad := "evd_" + strings.Repeat("B", 43)
	for i := range 50 {
		if code, _ := post(t, f.srv.URL, bad, ""); code != 401 {
			t.Fatalf("bad token %d: %d, want 401", i, code)
		}
	}
	if code, _ := post(t, f.srv.URL, f.token, ""); code != 429 {
		t.Errorf("51st request from the address: %d, want 429", code)
	}
	if n := strings.Count(logs.String(), "device authentication failed"); n != 1 {
		t.Errorf("%d failed-auth log lines for 50 failures, want 1", n)
	}
	f.clk.Advance(11 * time.Second)
	post(t, f.srv.URL, bad, "")
	if !strings.Contains(logs.String(), "failures_not_logged=49") {
		t.Errorf("the next line does not count the left-out ones:\n%s", logs.String())
	}
}

// TestImportDeviceDir imports a legacy directory: broken records are skipped with a
// message naming the file, the others (disabled included) come in.
func TestImportDeviceDir(t *testing.T) {
	dir := t.TempDir()
	tok, _ := newToken()
	write := func(name, content string) {
		if err := writeFile(dir, name, content); err != nil {
			t.Fatal(err)
		}
	}
	write("kitchen.json", `{"name":"kitchen","token_sha256":"`+hashToken(tok)+`","created":"2026-01-02T03:04:05Z"}`)
	write("hall.json", `{"name":"hall","token_sha256":"`+strings.Repeat("ab", 32)+`","disabled":true}`)
	write("broken.json", `{"name":"broken",`)
	write("short.json", `{"name":"short","token_sha256":"abc"}`)
	write("alias.json", `{"name":"kitchen","token_sha256":"`+strings.Repeat("cd", 32)+`"}`)
	write("notes.txt", `not a record`)
	devs, problems, err := ReadDeviceDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(devs) != 2 || devs[0].Name != "hall" || !devs[0].Disabled || devs[1].Name != "kitchen" {
		t.Errorf("devices %+v", devs)
	}
	if p := strings.Join(problems, "\n"); len(problems) != 3 || !strings.Contains(p, "broken.json: skipped") ||
		!strings.Contains(p, "short.json: skipped") || !strings.Contains(p, "alias.json: skipped") {
		t.Errorf("problems:\n%s", p)
	}
	s := openSQLite(t)
	ctx := context.Background()
	for _, d := range devs {
		if err := s.Import(ctx, d, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if d, err := s.ByToken(ctx, tok, time.Now()); err != nil || d.Name != "kitchen" || d.Created.Year() != 2026 {
		t.Errorf("imported token: %+v %v", d, err)
	}
	if _, err := s.ByName(ctx, "hall"); err != ErrNoDevice {
		t.Errorf("imported disabled device: %v", err)
	}
	if err := s.Import(ctx, devs[0], time.Now()); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("second import: %v", err)
	}
}

// TestMigrations: opening again is a no-op, and a schema newer than the broker is
// refused.
func TestMigrations(t *testing.T) {
	path := t.TempDir() + "/b.db"
	ctx := context.Background()
	for range 2 {
		s, err := OpenSQLite(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		var n, v int
		db := s.(*sqlStore).db
		if err := db.QueryRow(`SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&n, &v); err != nil || n != SchemaVersion || v != SchemaVersion {
			t.Errorf("schema_migrations: %d rows, version %d, %v", n, v, err)
		}
		s.Close()
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	db.Exec(`INSERT INTO schema_migrations VALUES (?, 0)`, SchemaVersion+1)
	db.Close()
	if s, err := OpenSQLite(ctx, path); err == nil || !strings.Contains(err.Error(), "newer than this broker") {
		t.Errorf("newer schema: %v", err)
		if s != nil {
			s.Close()
		}
	}
}

func TestRedactDatabase(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://broker:s3cret@db.example/edgevoice?sslmode=verify-full": "postgres://broker:xxxxx@db.example/edgevoice?sslmode=verify-full",
		"postgres://db.example/edgevoice?password=s3cret&sslmode=require":   "postgres://db.example/edgevoice?password=xxxxx&sslmode=require",
		"postgresql://u@h":                    "postgresql://u@h",
		"/var/lib/edgevoice-broker/broker.db": "/var/lib/edgevoice-broker/broker.db",
	} {
		if got := RedactDatabase(in); got != want {
			t.Errorf("RedactDatabase(%q) = %q, want %q", in, got, want)
		}
	}
}

func writeFile(dir, name, content string) error {
	return os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600)
}

// countingStore counts the store calls the request path makes.
type countingStore struct {
	Store
	byToken, lists atomic.Int64
}

func (c *countingStore) ByToken(ctx context.Context, token string, now time.Time) (Device, error) {
	c.byToken.Add(1)
	return c.Store.ByToken(ctx, token, now)
}

func (c *countingStore) Devices(ctx context.Context) ([]Device, error) {
	c.lists.Add(1)
	return c.Store.Devices(ctx)
}

// TestBrokerNoReloadAmplification: a bad token costs at most one lookup by hash (none
// in the database without the device prefix), never a read of every record (the
// directory store re-read all of them when its mtime was recent).
func TestBrokerNoReloadAmplification(t *testing.T) {
	provtest.CheckGoroutines(t)
	clk := provtest.NewClock(provtest.Start)
	up := provtest.NewBackend(t, clk)
	cs := &countingStore{Store: openSQLite(t)}
	for i := range 200 {
		if _, err := cs.Add(context.Background(), fmt.Sprintf("dev%03d", i), clk.Now()); err != nil {
			t.Fatal(err)
		}
	}
	b, err := New(azureGA(t, up), cs, WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(b)
	defer srv.Close()
	for i := range 50 {
		post(t, srv.URL, fmt.Sprintf("evd_%043d", i), "")
		post(t, srv.URL, "not-a-device-token", "")
	}
	if n, l := cs.byToken.Load(), cs.lists.Load(); n != 100 || l != 0 {
		t.Errorf("100 bad tokens: %d lookups, %d full reads; want 100 and 0", n, l)
	}
}

// TestBrokenRowBlocksNothing: a row no token can match (written by hand, say) is listed
// and skipped; other devices are still served, disabled and removed.
func TestBrokenRowBlocksNothing(t *testing.T) { forEachStore(t, testBrokenRowBlocksNothing) }

func testBrokenRowBlocksNothing(t *testing.T, s Store) {
	ctx := context.Background()
	tok, _ := s.Add(ctx, "kitchen", time.Now())
	s.Add(ctx, "hall", time.Now())
	if _, err := s.(*sqlStore).db.Exec(`INSERT INTO devices (name, token_sha256, created) VALUES ('../bad name', 'not a hash', -5)`); err != nil {
		t.Fatal(err)
	}
	if devs, err := s.Devices(ctx); err != nil || len(devs) != 3 {
		t.Errorf("list with a broken row: %d %v", len(devs), err)
	}
	if d, err := s.ByToken(ctx, tok, time.Now()); err != nil || d.Name != "kitchen" {
		t.Errorf("kitchen: %v", err)
	}
	if err := s.SetDisabled(ctx, "kitchen", true, time.Now()); err != nil {
		t.Error(err)
	}
	if _, err := s.ByToken(ctx, tok, time.Now()); err != ErrNoDevice {
		t.Errorf("disabled kitchen: %v", err)
	}
	if err := s.Remove(ctx, "hall", time.Now()); err != nil {
		t.Error(err)
	}
}

// TestAuditKeepsErrorsBounded: an upstream outage adds one error entry per failed mint,
// but only the last keepErrors stay; the other entries are kept.
func TestAuditKeepsErrorsBounded(t *testing.T) { forEachStore(t, testAuditKeepsErrorsBounded) }

func testAuditKeepsErrorsBounded(t *testing.T, s Store) {
	ctx := context.Background()
	now := time.Now()
	s.Add(ctx, "kitchen", now)
	for i := range keepErrors + 20 {
		if err := s.RecordError(ctx, "kitchen", fmt.Sprintf("502 upstream_error: %d", i), now); err != nil {
			t.Fatal(err)
		}
	}
	ev, err := s.Audit(ctx, "kitchen", 1000)
	if err != nil || len(ev) != keepErrors+1 || ev[0].Detail != fmt.Sprintf("502 upstream_error: %d", keepErrors+19) || ev[len(ev)-1].Kind != "added" {
		t.Errorf("audit: %d entries, first %+v, err %v", len(ev), ev[0], err)
	}
	if d, _ := s.Device(ctx, "kitchen"); d.LastError != fmt.Sprintf("502 upstream_error: %d", keepErrors+19) {
		t.Errorf("last error %q", d.LastError)
	}
}

// forEachStore runs f on a new SQLite store and, if the PostgreSQL binaries are
// installed, on a new PostgreSQL database.
func forEachStore(t *testing.T, f func(*testing.T, Store)) {
	t.Run("sqlite", func(t *testing.T) { f(t, openSQLite(t)) })
	t.Run("postgres", func(t *testing.T) {
		s, err := OpenPostgres(context.Background(), pgtest.Shared(t).NewDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		f(t, s)
	})
}

// TestStoreRotateAndImport: on both databases, a rotated device's old token works only
// within its grace period, and an imported one by its hash.
func TestStoreRotateAndImport(t *testing.T) {
	forEachStore(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		now := time.Now()
		old, err := s.Add(ctx, "kitchen", now)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := s.Rotate(ctx, "kitchen", time.Minute, now)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			tok  string
			at   time.Duration
			want error
		}{{old, 59 * time.Second, nil}, {tok, 59 * time.Second, nil}, {old, 61 * time.Second, ErrNoDevice}, {tok, time.Hour, nil}} {
			if _, err := s.ByToken(ctx, tc.tok, now.Add(tc.at)); err != tc.want {
				t.Errorf("token (new %v) at +%v: %v, want %v", tc.tok == tok, tc.at, err, tc.want)
			}
		}
		legacy, _ := newToken()
		if err := s.Import(ctx, Device{Name: "hall", TokenSHA256: hashToken(legacy)}, now); err != nil {
			t.Fatal(err)
		}
		if d, err := s.ByToken(ctx, legacy, now); err != nil || d.Name != "hall" {
			t.Errorf("imported: %+v %v", d, err)
		}
		if _, err := s.Rotate(ctx, "nosuch", time.Minute, now); !errors.Is(err, ErrNoDevice) {
			t.Errorf("rotate unknown: %v", err)
		}
	})
}
