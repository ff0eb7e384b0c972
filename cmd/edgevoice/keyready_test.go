package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/edgevoice/edgevoice/provisioning/keyd"
)

// TestSocketKeysKeyReady: the appliance's offline poll reads the key daemon's status:
// ready with a key; on demand also when idle or when its backoff is over; not while a
// prefetching daemon backs off or a backoff still runs.
func TestSocketKeysKeyReady(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "keys.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var status keyd.Status
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // a key daemon that answers every status request with status
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			br := bufio.NewReader(c)
			for {
				if _, err := br.ReadBytes('\n'); err != nil {
					break
				}
				mu.Lock()
				b, _ := json.Marshal(map[string]any{"ok": true, "status": status})
				mu.Unlock()
				c.Write(append(b, '\n'))
			}
			c.Close()
		}
	}()
	defer wg.Wait()
	defer ln.Close()
	c := keyd.NewClient(sock)
	defer c.Close()
	k := socketKeys{c: c, minValid: time.Second}
	now := time.Now()
	for _, tc := range []struct {
		name string
		st   keyd.Status
		want bool
	}{
		{"prefetch, key ready", keyd.Status{State: keyd.StateReady, Policy: keyd.PolicyPrefetch, KeyReady: true}, true},
		{"prefetch, backing off", keyd.Status{State: keyd.StateBackoff, Policy: keyd.PolicyPrefetch, NextAttempt: now.Add(-time.Second)}, false},
		{"on demand, idle", keyd.Status{State: keyd.StateIdle, Policy: keyd.PolicyOnDemand}, true},
		{"on demand, backoff over", keyd.Status{State: keyd.StateBackoff, Policy: keyd.PolicyOnDemand, NextAttempt: now.Add(-time.Second)}, true},
		{"on demand, backoff running", keyd.Status{State: keyd.StateBackoff, Policy: keyd.PolicyOnDemand, NextAttempt: now.Add(time.Minute)}, false},
		{"on demand, rejected", keyd.Status{State: keyd.StateRejected, Policy: keyd.PolicyOnDemand}, false},
	} {
		mu.Lock()
		status = tc.st
		mu.Unlock()
		got, err := k.KeyReady(context.Background())
		if err != nil || got != tc.want {
			t.Errorf("%s: KeyReady %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
}
