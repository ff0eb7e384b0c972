package broker_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/emulator"
	"github.com/edgevoice/edgevoice/provisioning/broker"
	"github.com/edgevoice/edgevoice/provisioning/broker/internal/pgtest"
)

// TestBrokerLoad (EDGEVOICE_SLOW=1, about 45 s): 1,000 simulated devices × 5 keys
// from loopback clients against edgevoice-broker processes on one PostgreSQL database (and
// on SQLite: phases 1 and 2), minting from the emulator. Phase 1: one replica at 500 mints/s (open loop: the latency
// at the goal's load); phase 2: one replica flat out (its capacity); phase 3: three
// replicas flat out, one killed with SIGKILL half way. Reports mints/s, p50/p99 latency and each
// replica's RSS; fails only if a key is lost or a device is not served, never on timing.
func TestBrokerLoad(t *testing.T) {
	if os.Getenv("EDGEVOICE_SLOW") != "1" {
		t.Skip("slow: set EDGEVOICE_SLOW=1")
	}
	t.Run("postgres", func(t *testing.T) { brokerLoad(t, pgtest.Shared(t).NewDatabase(t), true) })
	t.Run("sqlite", func(t *testing.T) { brokerLoad(t, filepath.Join(t.TempDir(), "broker.db"), false) })
}

func brokerLoad(t *testing.T, dbURL string, replicas bool) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "edgevoice-broker")
	build := exec.Command("go", "build", "-o", bin, "./cmd/edgevoice-broker")
	build.Dir = "../.."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	emu, err := emulator.New(emulator.WithAPIKey("load-test-upstream-key"))
	if err != nil {
		t.Fatal(err)
	}
	if err := emu.Start(""); err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	os.WriteFile(filepath.Join(dir, "upstream.key"), []byte("load-test-upstream-key\n"), 0o600)
	cfg := filepath.Join(dir, "broker.toml")
	os.WriteFile(cfg, []byte("[broker]\nrate_per_minute = 6000\nrate_burst = 50\nclient_rate_per_minute = 1000000\nclient_rate_burst = 1000000\n"), 0o644)

	ctx := context.Background()
	store, err := broker.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	const devices, keys = 1000, 5
	toks := make([]string, devices)
	for i := range toks {
		if toks[i], err = store.Add(ctx, fmt.Sprintf("dev%04d", i), time.Now()); err != nil {
			t.Fatal(err)
		}
	}

	type proc struct {
		cmd       *exec.Cmd
		url       string
		path, key string // the emulator itself (the baseline): its mint path and API key
	}
	start := func() *proc {
		l, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := l.Addr().String()
		l.Close()
		cmd := exec.Command(bin, "broker", "-config", cfg, "-profile", "azure", "-deployment", emulator.DefaultGAModel,
			"-credential-file", filepath.Join(dir, "upstream.key"), "-mint-url", emu.URL()+"/openai/v1/realtime/client_secrets",
			"-sdp-url", emu.URL()+"/openai/v1/realtime/calls", "-listen", addr, "-database", dbURL, "-log-level", "warn")
		var logs strings.Builder
		cmd.Stdout, cmd.Stderr = &logs, &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		p := &proc{cmd: cmd, url: "http://" + addr}
		t.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
			if t.Failed() {
				t.Logf("broker %s log:\n%s", addr, logs.String())
			}
		})
		deadline := time.Now().Add(30 * time.Second)
		for {
			if resp, err := http.Get(p.url + "/healthz"); err == nil {
				resp.Body.Close()
				return p
			}
			if time.Now().After(deadline) {
				t.Fatalf("broker %s did not come up in 30 s:\n%s", addr, logs.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	rss := func(p *proc) string {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
		if err != nil {
			return "?"
		}
		var out []string
		for _, l := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(l, "VmRSS:") || strings.HasPrefix(l, "VmHWM:") {
				out = append(out, strings.Join(strings.Fields(l), " "))
			}
		}
		// CPU time so far: utime and stime, fields 14 and 15 of stat, in 1/100 s
		if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid)); err == nil {
			if i := strings.LastIndexByte(string(stat), ')'); i > 0 {
				if f := strings.Fields(string(stat)[i+2:]); len(f) > 13 {
					var u, s int
					fmt.Sscan(f[11], &u)
					fmt.Sscan(f[12], &s)
					out = append(out, fmt.Sprintf("CPU so far %.2f s", float64(u+s)/100))
				}
			}
		}
		return strings.Join(out, ", ")
	}

	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	defer tr.CloseIdleConnections()
	// run sends keys mints for every device, round robin over the live replicas; a
	// failed request moves to the next replica. pace > 0: open loop, one request every
	// pace (the latency at that load); 0: closed loop from 64 clients (the capacity).
	run := func(name string, reps []*proc, pace time.Duration, kill func(done int64)) {
		var mu sync.Mutex
		var lat, steady []time.Duration // steady: requests sent after the first second
		var done, failed atomic.Int64
		got := make([]int, devices)
		jobs := make(chan int, devices*keys)
		var pacedJobs <-chan int
		t0 := time.Now()
		for range keys {
			for d := range devices {
				jobs <- d
			}
		}
		close(jobs)
		workers := 64
		if pace > 0 {
			// an unbuffered hand-off paced by a clock: the workers only bound the
			// requests in flight
			workers = 256
			paced := make(chan int)
			go func() {
				defer close(paced)
				next := time.Now()
				for d := range jobs {
					if w := time.Until(next); w > 0 {
						time.Sleep(w)
					}
					next = next.Add(pace)
					paced <- d
				}
			}()
			pacedJobs = paced
		} else {
			pacedJobs = jobs
		}
		var dead atomic.Int64
		dead.Store(-1)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				rep := w % len(reps)
				for d := range pacedJobs {
					for tries := 0; ; tries++ {
						if tries == 20 {
							t.Errorf("%s: device %d got no key in 20 tries", name, d)
							break
						}
						if int(dead.Load()) == rep {
							rep = (rep + 1) % len(reps)
						}
						path, tok := "/v1/keys", toks[d]
						if p := reps[rep]; p.path != "" {
							path, tok = p.path, p.key
						}
						req, _ := http.NewRequest("POST", reps[rep].url+path, nil)
						req.Header.Set("Authorization", "Bearer "+tok)
						s := time.Now()
						resp, err := client.Do(req)
						if err == nil {
							resp.Body.Close()
						}
						if err != nil || resp.StatusCode != 200 {
							failed.Add(1)
							rep = (rep + 1) % len(reps)
							continue
						}
						el := time.Since(s)
						mu.Lock()
						lat = append(lat, el)
						if s.Sub(t0) > time.Second {
							steady = append(steady, el)
						}
						got[d]++
						mu.Unlock()
						if n := done.Add(1); kill != nil && n == devices*keys/2 {
							kill(n)
							dead.Store(int64(len(reps) - 1))
						}
						break
					}
				}
			})
		}
		wg.Wait()
		wall := time.Since(t0)
		slices.Sort(lat)
		slices.Sort(steady)
		pct := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))].Round(10 * time.Microsecond) }
		steadyP99 := time.Duration(0)
		if len(steady) > 0 {
			steadyP99 = steady[int(0.99*float64(len(steady)-1))].Round(10 * time.Microsecond)
		}
		for d, n := range got {
			if n != keys {
				t.Errorf("%s: device %d got %d keys, want %d", name, d, n, keys)
			}
		}
		if len(lat) == 0 {
			t.Fatalf("%s: no key minted", name)
		}
		msg := fmt.Sprintf("%s: %s: %d keys in %v = %.0f mints/s over %d replica(s); latency p50 %v p99 %v (after the first second %v) max %v; %d requests retried",
			t.Name(), name, len(lat), wall.Round(time.Millisecond), float64(len(lat))/wall.Seconds(), len(reps), pct(0.5), pct(0.99), steadyP99, lat[len(lat)-1].Round(10*time.Microsecond), failed.Load())
		t.Log(msg)
		fmt.Println("broker load:", msg)
		for i, p := range reps {
			if int(dead.Load()) == i || p.cmd == nil {
				continue
			}
			fmt.Printf("broker load: %s: %s: replica %d RSS: %s\n", t.Name(), name, i, rss(p))
		}
	}

	if replicas {
		// the baseline: the emulator's own latency at that load, without a broker
		run("baseline: the emulator alone, paced 500/s", []*proc{{url: emu.URL(), path: "/openai/v1/realtime/client_secrets", key: "load-test-upstream-key"}}, 2*time.Millisecond, nil)
	}
	one := start()
	run("paced 500/s, 1 replica", []*proc{one}, 2*time.Millisecond, nil)
	run("unpaced, 1 replica", []*proc{one}, 0, nil)
	phases := 2
	if replicas {
		phases = 3
		reps := []*proc{one, start(), start()}
		run("unpaced, 3 replicas, one killed", reps, 0, func(int64) {
			reps[2].cmd.Process.Signal(syscall.SIGKILL)
		})
	}
	// nothing lost: the store counts every key handed out (a key whose answer the kill
	// cut off is counted but not received, so >=)
	devs, err := store.Devices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, d := range devs {
		if d.Mints < int64(phases*keys) {
			t.Errorf("device %s: %d mints counted, want >= %d", d.Name, d.Mints, phases*keys)
		}
		total += d.Mints
	}
	fmt.Printf("broker load: %s: %d mints counted in the store for %d handed out\n", t.Name(), total, phases*devices*keys)
}
