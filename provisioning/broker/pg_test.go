package broker

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/provisioning/broker/internal/pgtest"
	"github.com/edgevoice/edgevoice/provisioning/internal/provtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.RemoveShared()
	os.Exit(code)
}

// replica is one broker replica on a shared PostgreSQL store.
type replica struct {
	store  Store
	broker *Server
	srv    *httptest.Server
}

// pgReplicas starts n broker replicas on one new PostgreSQL database, opened at once
// (so their migrations race), with the fixture's upstream and clock.
func pgReplicas(t *testing.T, n int, up *provtest.Backend, opts ...Option) (string, []*replica) {
	t.Helper()
	url := pgtest.Shared(t).NewDatabase(t)
	reps := make([]*replica, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range reps {
		wg.Go(func() {
			s, err := OpenPostgres(context.Background(), url)
			reps[i], errs[i] = &replica{store: s}, err
		})
	}
	wg.Wait()
	for i, r := range reps {
		if errs[i] != nil {
			t.Fatalf("replica %d: %v", i, errs[i])
		}
		b, err := New(azureGA(t, up), r.store, append([]Option{WithClock(up.Clock())}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		r.broker, r.srv = b, httptest.NewServer(b)
		t.Cleanup(func() { r.srv.Close(); r.store.Close() })
	}
	return url, reps
}

// TestPostgresReplicas: three replicas on one database: a device added on one works on
// all; its rate limit holds across them, also under concurrent requests; disabled or
// removed on one, it is refused by all at their next request.
func TestPostgresReplicas(t *testing.T) {
	provtest.CheckGoroutines(t)
	clk := provtest.NewClock(provtest.Start)
	up := provtest.NewBackend(t, clk)
	_, reps := pgReplicas(t, 3, up, WithRateLimit(6, 3)) // 1 per 10 s, bursts of 3
	ctx := context.Background()
	tok, err := reps[0].store.Add(ctx, "kitchen", clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	var sv int
	if err := reps[0].store.(*sqlStore).db.QueryRow(`SELECT MAX(version) FROM schema_migrations`).Scan(&sv); err != nil || sv != SchemaVersion {
		t.Errorf("schema version %d %v", sv, err)
	}
	for i, r := range reps {
		if code, body := post(t, r.srv.URL, tok, ""); code != 200 {
			t.Errorf("replica %d: %d %s", i, code, body)
		}
	}
	// the burst of 3 is spent across the replicas
	for i, r := range reps {
		if code, _ := post(t, r.srv.URL, tok, ""); code != 429 {
			t.Errorf("replica %d after the burst: %d, want 429", i, code)
		}
	}
	clk.Advance(10 * time.Second)
	if code, _ := post(t, reps[1].srv.URL, tok, ""); code != 200 {
		t.Errorf("after 10 s: %d", code)
	}
	if code, _ := post(t, reps[2].srv.URL, tok, ""); code != 429 {
		t.Errorf("second after 10 s: %d, want 429", code)
	}

	// concurrent: 60 requests over 3 replicas against a fresh burst of 3: exactly 3 keys
	clk.Advance(time.Hour)
	var ok, limited atomic.Int64
	var wg sync.WaitGroup
	for i := range 60 {
		wg.Go(func() {
			switch code, _ := post(t, reps[i%3].srv.URL, tok, ""); code {
			case 200:
				ok.Add(1)
			case 429:
				limited.Add(1)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 3 || limited.Load() != 57 {
		t.Errorf("concurrent: %d keys, %d limited; want 3 and 57", ok.Load(), limited.Load())
	}

	// revoked on one replica: refused by every replica at the next request (no cache
	// to expire, so no wait at all)
	clk.Advance(time.Hour)
	if err := reps[2].store.SetDisabled(ctx, "kitchen", true, clk.Now()); err != nil {
		t.Fatal(err)
	}
	for i, r := range reps {
		if code, _ := post(t, r.srv.URL, tok, ""); code != 401 {
			t.Errorf("replica %d after disable: %d, want 401", i, code)
		}
	}
	reps[0].store.SetDisabled(ctx, "kitchen", false, clk.Now())
	if code, _ := post(t, reps[1].srv.URL, tok, ""); code != 200 {
		t.Errorf("re-enabled: %d", code)
	}
	if err := reps[1].store.Remove(ctx, "kitchen", clk.Now()); err != nil {
		t.Fatal(err)
	}
	for i, r := range reps {
		if code, _ := post(t, r.srv.URL, tok, ""); code != 401 {
			t.Errorf("replica %d after remove: %d, want 401", i, code)
		}
	}
	ev, err := reps[0].store.Audit(ctx, "kitchen", 10)
	if err != nil || len(ev) != 4 || ev[0].Kind != "removed" {
		t.Errorf("audit %+v %v", ev, err)
	}
}

// TestPostgresReplicaKilledMidLoad: 40 devices × 5 keys over three replicas; one replica
// is killed (connections cut, store closed) mid-load and its clients move to the others.
// Every device gets its keys, and the store counts at least every key handed out.
func TestPostgresReplicaKilledMidLoad(t *testing.T) {
	provtest.CheckGoroutines(t)
	clk := provtest.NewClock(provtest.Start)
	up := provtest.NewBackend(t, clk)
	_, reps := pgReplicas(t, 3, up, WithRateLimit(6000, 10), WithClientRateLimit(1e6, 1e6)) // all from 127.0.0.1
	ctx := context.Background()
	const devices, keys = 40, 5
	toks := make([]string, devices)
	for i := range toks {
		var err error
		if toks[i], err = reps[0].store.Add(ctx, fmt.Sprintf("dev%03d", i), clk.Now()); err != nil {
			t.Fatal(err)
		}
	}
	var dead atomic.Bool
	var served, failed atomic.Int64
	got := make([]int, devices)
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	for d := range devices {
		wg.Go(func() {
			rep := d % 3
			for tries := 0; got[d] < keys && tries < 50; tries++ {
				if served.Add(1) == devices*keys/2 && !dead.Swap(true) {
					reps[2].srv.CloseClientConnections()
					reps[2].srv.Close()
					reps[2].store.Close()
				}
				if rep == 2 && dead.Load() {
					rep = d % 2 // the load balancer takes the dead one out
				}
				req, _ := http.NewRequest("POST", reps[rep].srv.URL+"/v1/keys", nil)
				req.Header.Set("Authorization", "Bearer "+toks[d])
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					rep = (rep + 1) % 2
					continue
				}
				resp.Body.Close()
				if resp.StatusCode == 200 {
					got[d]++
				} else {
					failed.Add(1)
					rep = (rep + 1) % 2
				}
			}
		})
	}
	wg.Wait()
	if !dead.Load() {
		t.Fatal("the replica was never killed")
	}
	devs, err := reps[0].store.Devices(ctx)
	if err != nil || len(devs) != devices {
		t.Fatalf("devices after the kill: %d %v", len(devs), err)
	}
	for _, d := range devs {
		i, _ := strconv.Atoi(strings.TrimPrefix(d.Name, "dev"))
		n := got[i]
		if n != keys || d.Mints < int64(n) {
			t.Errorf("device %d (%s): %d keys handed out, %d counted; want %d", i, d.Name, n, d.Mints, keys)
		}
	}
	t.Logf("%d requests failed over to another replica", failed.Load())
}

// TestPostgresOutage: with the database gone, minting fails closed (503, no secret,
// the metric counts it); when it is back, minting recovers without a restart.
func TestPostgresOutage(t *testing.T) {
	provtest.CheckGoroutines(t)
	clk := provtest.NewClock(provtest.Start)
	up := provtest.NewBackend(t, clk)
	var logs logBuffer
	_, reps := pgReplicas(t, 1, up, WithRateLimit(6000, 100), WithLogger(logs.logger()))
	r := reps[0]
	tok, err := r.store.Add(context.Background(), "kitchen", clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := post(t, r.srv.URL, tok, ""); code != 200 {
		t.Fatalf("before the outage: %d", code)
	}
	cl := pgtest.Shared(t)
	if err := cl.Stop(); err != nil {
		t.Fatal(err)
	}
	restarted := false
	defer func() {
		if !restarted {
			cl.Start()
		}
	}()
	asked := up.N.Load()
	for i := range 3 {
		code, body := post(t, r.srv.URL, tok, "")
		if code != 503 || !strings.Contains(body, "store_unavailable") || strings.Contains(body, tok) {
			t.Errorf("outage %d: %d %s, want 503 store_unavailable", i, code, body)
		}
	}
	if up.N.Load() != asked || r.broker.metrics.storeErrors.Load() < 3 || r.broker.metrics.storeUp.Load() != 0 {
		t.Errorf("during the outage: upstream asked %d more times, store errors %d", up.N.Load()-asked, r.broker.metrics.storeErrors.Load())
	}
	if err := cl.Start(); err != nil {
		t.Fatal(err)
	}
	restarted = true
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, _ := post(t, r.srv.URL, tok, "")
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("minting did not recover within 30 s of the database's return (last %d)\n%s", code, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if r.broker.metrics.storeUp.Load() != 1 {
		t.Error("store_up not back to 1")
	}
}
