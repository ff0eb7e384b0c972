package broker

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// metrics are the broker's counters, served at GET /metrics in the Prometheus text
// format.
type metrics struct {
	requests, mints, authFailures, badRequests atomic.Int64
	limitedDevice, limitedClient               atomic.Int64
	upstreamErrors, clientGone, storeErrors    atomic.Int64
	storeUp                                    atomic.Int64 // 1 after a good store read, 0 after a failed one
}

func (m *metrics) write(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	for _, c := range []struct {
		name, help, typ string
		v               int64
	}{
		{"edgevoice_broker_requests_total", "POST /v1/keys requests.", "counter", m.requests.Load()},
		{"edgevoice_broker_mints_total", "Keys issued.", "counter", m.mints.Load()},
		{"edgevoice_broker_auth_failures_total", "Requests with an unknown or disabled device.", "counter", m.authFailures.Load()},
		{"edgevoice_broker_bad_requests_total", "Requests refused for their body.", "counter", m.badRequests.Load()},
		{`edgevoice_broker_rate_limited_total{scope="device"}`, "Requests refused by a rate limit.", "counter", m.limitedDevice.Load()},
		{`edgevoice_broker_rate_limited_total{scope="client"}`, "", "", m.limitedClient.Load()},
		{"edgevoice_broker_upstream_errors_total", "Mints the upstream failed.", "counter", m.upstreamErrors.Load()},
		{"edgevoice_broker_client_gone_total", "Devices that hung up while their key was minted.", "counter", m.clientGone.Load()},
		{"edgevoice_broker_store_errors_total", "Failed device store accesses (minting refused while the store is down).", "counter", m.storeErrors.Load()},
		{"edgevoice_broker_store_up", "1 if the last device store access worked, else 0.", "gauge", m.storeUp.Load()},
	} {
		name := c.name
		if c.help != "" {
			if i := strings.IndexByte(name, '{'); i >= 0 {
				name = name[:i]
			}
			fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", name, c.help, name, c.typ)
		}
		fmt.Fprintf(w, "%s %d\n", c.name, c.v)
	}
}

// authLogLimiter rate-limits the broker's failure log lines: one failed-auth line per
// client address per authLogEvery (with the count of lines left out), one store-failure
// line per authLogEvery, so a flood of bad tokens cannot flood the log.
type authLogLimiter struct {
	mu        sync.Mutex
	last      map[string]authLogEntry
	lastStore time.Time
}

type authLogEntry struct {
	at      time.Time
	dropped int
}

const (
	authLogEvery   = 10 * time.Second
	authLogClients = 4096 // addresses remembered; beyond, the map starts afresh
)

// allow reports whether a failed authentication of client may be logged now, and how
// many were left out since the last line.
func (l *authLogLimiter) allow(client string, now time.Time) (int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil || len(l.last) >= authLogClients {
		l.last = map[string]authLogEntry{}
	}
	e, seen := l.last[client]
	if seen && now.Sub(e.at) < authLogEvery {
		e.dropped++
		l.last[client] = e
		return 0, false
	}
	l.last[client] = authLogEntry{at: now}
	return e.dropped, true
}

// allowStore reports whether a store failure may be logged now.
func (l *authLogLimiter) allowStore(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.lastStore.IsZero() && now.Sub(l.lastStore) < authLogEvery {
		return false
	}
	l.lastStore = now
	return true
}
