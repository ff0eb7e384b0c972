package keyd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/edgevoice/edgevoice/internal/backoff"
	"github.com/edgevoice/edgevoice/provisioning"
	"github.com/edgevoice/edgevoice/realtime"
	"github.com/jonboulle/clockwork"
)

// Policy says when the daemon mints keys.
type Policy int

const (
	// PolicyPrefetch always holds one key valid for at least the minimum validity, so a
	// session can start the moment the button is pressed.
	PolicyPrefetch Policy = iota
	// PolicyOnDemand mints only when a client asks.
	PolicyOnDemand
)

// String returns "prefetch" or "on-demand".
func (p Policy) String() string {
	switch p {
	case PolicyPrefetch:
		return "prefetch"
	case PolicyOnDemand:
		return "on-demand"
	}
	return fmt.Sprintf("Policy(%d)", int(p))
}

// MarshalText implements encoding.TextMarshaler.
func (p Policy) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (p *Policy) UnmarshalText(b []byte) error {
	v, err := ParsePolicy(string(b))
	*p = v
	return err
}

// ParsePolicy parses "prefetch" or "on-demand".
func ParsePolicy(s string) (Policy, error) {
	switch s {
	case "prefetch", "":
		return PolicyPrefetch, nil
	case "on-demand", "ondemand":
		return PolicyOnDemand, nil
	}
	return 0, fmt.Errorf("keyd: unknown policy %q (want \"prefetch\" or \"on-demand\")", s)
}

// State is what the daemon is doing.
type State int

const (
	StateStarting        State = iota // not running yet
	StateWaitingForClock              // the wall clock is before SaneTime; TLS would fail
	StateIdle                         // on-demand: nothing to do until asked
	StateReady                        // prefetch: a key is ready
	StateMinting                      // a mint request is in flight
	StateBackoff                      // the last mint failed; waiting before the next attempt
	StateRejected                     // the backend rejected the credential; not retrying
	StateStopped                      // Run returned
	StateNoCredential                 // no credential configured (device not set up); looked for again at each attempt
	StateNotConfigured                // no key profile (device not set up); SetProvider (a reload) sets one
)

var stateNames = [...]string{"starting", "waiting-for-clock", "idle", "ready", "minting", "backoff", "credential-rejected", "stopped", "no-credential", "not-configured"}

// setup reports whether s says the device is not set up (no credential, no profile).
func (s State) setup() bool { return s == StateNoCredential || s == StateNotConfigured }

// String returns the state's name, e.g. "credential-rejected".
func (s State) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// MarshalText implements encoding.TextMarshaler.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *State) UnmarshalText(b []byte) error {
	i := slices.Index(stateNames[:], string(b))
	if i < 0 {
		return fmt.Errorf("keyd: unknown state %q", b)
	}
	*s = State(i)
	return nil
}

// Status is a snapshot of the daemon for the status request. It never holds a key.
type Status struct {
	State               State     `json:"state"`
	Profile             string    `json:"profile"`
	Policy              Policy    `json:"policy"`
	KeyReady            bool      `json:"key_ready"`
	KeyAgeSeconds       float64   `json:"key_age_s"`        // age of the ready key (0 if none)
	KeyExpiresInSeconds float64   `json:"key_expires_in_s"` // remaining lifetime of the ready key
	LastError           string    `json:"last_error,omitempty"`
	LastErrorAt         time.Time `json:"last_error_at,omitzero"`
	NextAttempt         time.Time `json:"next_attempt,omitzero"` // while backing off or rejected
	Requests            uint64    `json:"requests"`              // get requests
	Minted              uint64    `json:"minted"`                // keys minted
	HandedOut           uint64    `json:"handed_out"`            // keys given to clients
	Failures            uint64    `json:"failures"`              // failed mint attempts
	ConsecutiveFailures int       `json:"consecutive_failures"`
}

// Daemon defaults.
const (
	DefaultMinValidity   = 30 * time.Second
	DefaultBackoffMin    = time.Second
	DefaultBackoffMax    = 5 * time.Minute
	DefaultRejectedRetry = time.Hour
	defaultRefillDelay   = 2 * time.Second
	// refreshMargin is added to the minimum validity when deciding to refresh a
	// prefetched key, to cover the time a mint takes.
	refreshMargin = 5 * time.Second
	// clockPoll is how often the daemon looks at the wall clock while it is insane.
	clockPoll = time.Second
)

// Option configures NewDaemon.
type Option func(*Daemon) error

// WithPolicy sets prefetch or on-demand.
func WithPolicy(p Policy) Option {
	return func(d *Daemon) error { d.policy = p; return nil }
}

// WithMinValidity sets how long a prefetched key must stay valid at least; an older one
// is replaced.
func WithMinValidity(v time.Duration) Option {
	return func(d *Daemon) error {
		if v < 0 {
			return fmt.Errorf("keyd: negative min validity %s", v)
		}
		d.minValid = v
		return nil
	}
}

// WithBackoff sets the first and the longest wait between failed attempts. Each wait gets
// up to 20% extra random jitter, never less, so while the backend is down the daemon
// sends at most one request per max.
func WithBackoff(minWait, maxWait time.Duration) Option {
	return func(d *Daemon) error {
		if minWait <= 0 || maxWait < minWait {
			return fmt.Errorf("keyd: bad backoff bounds %s..%s (want 0 < min <= max)", minWait, maxWait)
		}
		d.bmin, d.bmax = minWait, maxWait
		return nil
	}
}

// WithRejectedRetry sets how long the daemon waits after the credential was rejected
// before it tries once more (Reload retries at once).
func WithRejectedRetry(v time.Duration) Option {
	return func(d *Daemon) error { d.rejectedRetry = v; return nil }
}

// WithCredentialVersion gives the daemon a cheap fingerprint of the credential (of the
// file it is read from, never its content; see provisioning.CredentialVersion). After
// a rejection, a key request made once the fingerprint has changed (the credential was
// replaced) mints at once instead of waiting out the rejected retry, so a fixed
// credential is used at the appliance's next re-check without a restart or SIGHUP.
func WithCredentialVersion(f func() string) Option {
	return func(d *Daemon) error { d.credVersion = f; return nil }
}

// withRefillDelay sets how long prefetch waits after handing a key out before minting the
// next one (default defaultRefillDelay), so the refill does not compete for the CPU with
// the session setup the key is for. A client that asks meanwhile gets a mint at once.
func withRefillDelay(v time.Duration) Option {
	return func(d *Daemon) error {
		if v < 0 {
			return fmt.Errorf("keyd: negative refill delay %s", v)
		}
		d.refillDelay = v
		return nil
	}
}

// WithClock sets the clock (tests use a fake one).
func WithClock(c clockwork.Clock) Option {
	return func(d *Daemon) error { d.clock = c; return nil }
}

// WithLogger sets the logger (nil discards).
func WithLogger(l *slog.Logger) Option {
	return func(d *Daemon) error { d.logger = l; return nil }
}

// WithStatusHook calls f from the daemon's goroutine after every state change (for
// systemd STATUS= lines). f must return quickly.
func WithStatusHook(f func(Status)) Option {
	return func(d *Daemon) error { d.onStatus = f; return nil }
}

// withJitter replaces the backoff's jitter source (a function returning [0,1)); tests
// use it.
func withJitter(f func() float64) Option {
	return func(d *Daemon) error { d.rand = f; return nil }
}

// Daemon keeps keys from one Provider ready and hands each out once.
type Daemon struct {
	p             provisioning.Provider
	clock         clockwork.Clock
	policy        Policy
	minValid      time.Duration
	bmin, bmax    time.Duration
	bo            *backoff.Backoff // waits between failed mints; owned by Run's goroutine under mu
	rejectedRetry time.Duration
	refillDelay   time.Duration
	rand          func() float64
	logger        *slog.Logger
	onStatus      func(Status)
	credVersion   func() string // nil: unknown
	kick          chan struct{}
	reload        chan struct{}

	mu          sync.Mutex
	running     bool
	state       State
	key         *realtime.Key
	waiters     []*waiter
	consecutive int
	nextAttempt time.Time
	rejectedVer string    // credVersion when the credential was rejected
	refillAt    time.Time // prefetch: no refill before (just after a hand-out)
	// Short keys (they live less than minValid + refreshMargin): the ready key is not
	// replaced before refreshAfter, a floor that backs off (shortBo) while they stay
	// short; warnedShort says the warning was logged.
	refreshAfter time.Time
	shortBo      *backoff.Backoff
	warnedShort  bool
	lastErr      error
	lastErrAt    time.Time
	requests     uint64
	minted       uint64
	handed       uint64
	failures     uint64
}

type waiter struct {
	minValid time.Duration
	ch       chan getResult // capacity 1
}

type getResult struct {
	key realtime.Key
	err error
}

// NewDaemon returns a daemon for p; call Run to start it.
func NewDaemon(p provisioning.Provider, opts ...Option) (*Daemon, error) {
	if p == nil {
		return nil, errors.New("BUG: keyd: NewDaemon(nil)")
	}
	d := &Daemon{p: p, minValid: -1, refillDelay: -1, kick: make(chan struct{}, 1), reload: make(chan struct{}, 1)}
	for _, o := range opts {
		if err := o(d); err != nil {
			return nil, err
		}
	}
	if d.clock == nil {
		d.clock = clockwork.NewRealClock()
	}
	if d.minValid < 0 {
		d.minValid = DefaultMinValidity
	}
	if d.bmin == 0 {
		d.bmin, d.bmax = DefaultBackoffMin, DefaultBackoffMax
	}
	if d.refillDelay < 0 {
		d.refillDelay = defaultRefillDelay
	}
	if d.rejectedRetry <= 0 {
		d.rejectedRetry = DefaultRejectedRetry
	}
	// Each wait is the doubled base plus up to 20% jitter, never less, so the backend
	// sees at most one request per max while it is down: internal/backoff's symmetric
	// jitter of ±1/11 around 1.1·base gives exactly [base, 1.2·base].
	d.bo = backoff.New(backoff.Policy{Min: d.bmin + d.bmin/10, Max: d.bmax + d.bmax/10, Jitter: 1.0 / 11}, d.clock)
	floor := max(refreshFloor, d.bmin)
	d.shortBo = backoff.New(backoff.Policy{Min: floor, Max: max(floor, d.bmax)}, d.clock)
	if d.rand != nil {
		d.bo.SetRand(d.rand)
		d.shortBo.SetRand(d.rand)
	}
	if d.logger == nil {
		d.logger = slog.New(slog.DiscardHandler)
	}
	return d, nil
}

// Profile returns the provider's profile.
func (d *Daemon) Profile() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.p.Profile()
}

// SetProvider replaces the provider (a reload with a changed [provisioning] section): the
// ready key and every failure state are dropped, and the next key comes from p.
func (d *Daemon) SetProvider(p provisioning.Provider) {
	if p == nil {
		return
	}
	d.mu.Lock()
	d.p = p
	d.key = nil
	d.rejectedVer = ""
	d.lastErr, d.lastErrAt = nil, time.Time{}
	d.mu.Unlock()
	d.Reload()
}

// Get returns a key valid for at least minValid that no other caller has been given,
// minting one if none is ready. While the daemon backs off after a failure it answers at
// once with ErrUnavailable instead of asking the backend; after a rejected credential it
// answers with ErrCredentialRejected.
func (d *Daemon) Get(ctx context.Context, minValid time.Duration) (realtime.Key, error) {
	d.mu.Lock()
	d.requests++
	now := d.clock.Now()
	if d.key != nil && d.key.ValidFor(now, minValid) {
		k := *d.key
		d.key = nil
		d.handed++
		d.refillAt = now.Add(d.refillDelay)
		d.kickLocked()
		d.mu.Unlock()
		return k, nil
	}
	switch {
	case !d.running:
		d.mu.Unlock()
		return realtime.Key{}, errors.New("keyd: the daemon is not running")
	case d.state == StateRejected && now.Before(d.nextAttempt) && d.credVersion != nil && d.credVersion() != d.rejectedVer:
		d.logger.Info("the credential was replaced after it was rejected; trying it now")
		d.nextAttempt = time.Time{}
	case d.state == StateRejected && now.Before(d.nextAttempt):
		err := d.lastErr
		d.mu.Unlock()
		return realtime.Key{}, fmt.Errorf("keyd: not minting until the credential is replaced: %w", err)
	case d.state.setup():
		// Looking for the credential costs a file lookup, not a backend request: a
		// re-check (the appliance's 3 s hold) tries at once, so a credential put in
		// place is used without a restart.
		d.nextAttempt = time.Time{}
	case now.Before(d.nextAttempt):
		err := d.lastErr
		wait := d.nextAttempt.Sub(now).Round(time.Second)
		d.mu.Unlock()
		return realtime.Key{}, fmt.Errorf("keyd: %w, next attempt in %s; last error: %w", ErrUnavailable, wait, err)
	}
	w := &waiter{minValid: minValid, ch: make(chan getResult, 1)}
	d.waiters = append(d.waiters, w)
	d.kickLocked()
	d.mu.Unlock()
	select {
	case r := <-w.ch:
		return r.key, r.err
	case <-ctx.Done():
		d.mu.Lock()
		defer d.mu.Unlock()
		if i := slices.Index(d.waiters, w); i >= 0 {
			d.waiters = slices.Delete(d.waiters, i, i+1)
		}
		select {
		case r := <-w.ch: // answered meanwhile: keep an unused key for the next caller
			if r.err == nil && d.key == nil {
				d.handed--
				d.key = &r.key
			}
		default:
		}
		return realtime.Key{}, fmt.Errorf("keyd: waiting for a key: %w", ctx.Err())
	}
}

// Reload clears a rejected-credential or backoff state and retries at once (SIGHUP).
func (d *Daemon) Reload() {
	select {
	case d.reload <- struct{}{}:
	default:
	}
}

// Status returns a snapshot. It never contains the key.
func (d *Daemon) Status() Status {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.statusLocked()
}

func (d *Daemon) statusLocked() Status {
	now := d.clock.Now()
	s := Status{State: d.state, Profile: d.p.Profile(), Policy: d.policy, Requests: d.requests, Minted: d.minted,
		HandedOut: d.handed, Failures: d.failures, ConsecutiveFailures: d.consecutive, LastErrorAt: d.lastErrAt}
	if d.lastErr != nil {
		s.LastError = d.lastErr.Error()
	}
	if d.key != nil && d.key.ExpiresAt.After(now) {
		s.KeyReady = true
		s.KeyAgeSeconds = now.Sub(d.key.MintedAt).Seconds()
		s.KeyExpiresInSeconds = d.key.ExpiresAt.Sub(now).Seconds()
	}
	if d.state == StateBackoff || d.state == StateRejected || d.state.setup() {
		s.NextAttempt = d.nextAttempt
	}
	return s
}

func (d *Daemon) kickLocked() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// setStateLocked changes the state; it returns true if the status hook should run.
func (d *Daemon) setStateLocked(s State) bool {
	if d.state == s {
		return false
	}
	d.state = s
	return d.onStatus != nil
}

func (d *Daemon) notify(changed bool) {
	if changed {
		d.onStatus(d.Status())
	}
}

// Run mints and refreshes keys until ctx is done. It first waits for a sane wall clock.
// It returns nil when ctx is cancelled.
func (d *Daemon) Run(ctx context.Context) error {
	d.mu.Lock()
	if d.running {
		d.mu.Unlock()
		return errors.New("BUG: keyd: Daemon.Run called twice")
	}
	d.running = true
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		d.running = false
		for _, w := range d.waiters {
			w.ch <- getResult{err: errors.New("keyd: the daemon is stopping")}
		}
		d.waiters = nil
		d.key = nil
		ch := d.setStateLocked(StateStopped)
		d.mu.Unlock()
		d.notify(ch)
	}()

	for d.clock.Now().Before(SaneTime) {
		d.mu.Lock()
		ch := d.setStateLocked(StateWaitingForClock)
		d.mu.Unlock()
		if ch || d.onStatus == nil {
			d.logger.Info("waiting for the wall clock before using TLS", "now", d.clock.Now().UTC().Format(time.RFC3339), "need_after", SaneTime.Format(time.DateOnly))
		}
		d.notify(ch)
		if !d.sleep(ctx, clockPoll) {
			return nil
		}
	}

	for {
		d.mu.Lock()
		now := d.clock.Now()
		var refreshAt time.Time // prefetch: replace the ready key from then on
		if d.key != nil {
			refreshAt = d.key.ExpiresAt.Add(-d.minValid - refreshMargin)
			if refreshAt.Before(d.refreshAfter) {
				refreshAt = d.refreshAfter // short keys: not in a tight loop
			}
		}
		refill := d.policy == PolicyPrefetch && (d.key == nil || !now.Before(refreshAt))
		need := len(d.waiters) > 0 || refill
		earliest := d.nextAttempt
		if len(d.waiters) == 0 && d.key == nil && d.refillAt.After(earliest) {
			earliest = d.refillAt
		}
		wait := time.Duration(-1)
		mint := false
		switch {
		case need && !now.Before(earliest):
			mint = true
		case need:
			wait = earliest.Sub(now)
		case d.key != nil && d.policy == PolicyPrefetch:
			wait = refreshAt.Sub(now)
		}
		var ch bool
		switch {
		case mint:
			ch = d.setStateLocked(StateMinting)
		case d.state == StateRejected || d.state == StateBackoff || d.state.setup():
		case d.key != nil:
			ch = d.setStateLocked(StateReady)
		default:
			ch = d.setStateLocked(StateIdle)
		}
		p := d.p
		d.mu.Unlock()
		d.notify(ch)

		if mint {
			k, err := p.Mint(ctx, nil)
			if ctx.Err() != nil {
				return nil
			}
			d.mintDone(k, err)
			continue
		}
		var tc <-chan time.Time
		var t clockwork.Timer
		if wait >= 0 {
			t = d.clock.NewTimer(wait)
			tc = t.Chan()
		}
		select {
		case <-ctx.Done():
		case <-d.kick:
		case <-tc:
		case <-d.reload:
			d.mu.Lock()
			d.consecutive = 0
			d.bo.Reset()
			d.nextAttempt = time.Time{}
			if d.state == StateRejected || d.state == StateBackoff || d.state.setup() {
				d.state = StateIdle
			}
			d.mu.Unlock()
			d.logger.Info("reload: retrying now")
		}
		if t != nil {
			t.Stop()
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// sleep waits d on the clock; false if ctx ended.
func (d *Daemon) sleep(ctx context.Context, w time.Duration) bool {
	t := d.clock.NewTimer(w)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.Chan():
		return true
	}
}

// mintDone records the outcome of one mint.
func (d *Daemon) mintDone(k realtime.Key, err error) {
	d.mu.Lock()
	now := d.clock.Now()
	var ch bool
	if err == nil {
		d.minted++
		if d.consecutive > 0 {
			d.logger.Info("minting works again", "after_failures", d.consecutive)
		}
		d.consecutive = 0
		d.bo.Reset()
		d.nextAttempt = time.Time{}
		d.logger.Debug("minted", "key", k)
		d.shortKeyLocked(k, now)
		if len(d.waiters) > 0 {
			w := d.waiters[0]
			d.waiters = d.waiters[1:]
			if k.ValidFor(now, w.minValid) {
				d.handed++
				w.ch <- getResult{key: k}
			} else {
				w.ch <- getResult{err: fmt.Errorf("keyd: the backend's keys live %s, less than the %s asked for", k.ExpiresAt.Sub(now).Round(time.Second), w.minValid)}
				d.key = &k
			}
		} else {
			d.key = &k
		}
		ch = d.setStateLocked(StateReady)
	} else {
		d.failures++
		d.consecutive++
		// said already: the last attempt failed the same way (a request in between set
		// the state to minting, so the state alone cannot tell)
		saidNoCred := d.consecutive > 1 && errors.Is(d.lastErr, provisioning.ErrNoCredential) && !errors.Is(d.lastErr, provisioning.ErrNotConfigured)
		saidNotConf := d.consecutive > 1 && errors.Is(d.lastErr, provisioning.ErrNotConfigured)
		d.lastErr, d.lastErrAt = err, now
		if errors.Is(err, provisioning.ErrNotConfigured) {
			// No profile: nothing to ask until a reload sets one (SetProvider); a key
			// request tries again (at no cost).
			d.nextAttempt = now.Add(d.bo.Next())
			if !saidNotConf {
				d.logger.Error("not configured; keys cannot be minted until [provisioning] profile is set and the daemon reloaded", "err", err)
			}
			ch = d.setStateLocked(StateNotConfigured)
		} else if errors.Is(err, provisioning.ErrNoCredential) {
			// Not set up yet: no backend was asked. Look again after the backoff (or
			// at once when asked); say it once, not at every attempt.
			d.nextAttempt = now.Add(d.bo.Next())
			if !saidNoCred {
				d.logger.Error("no credential; keys cannot be minted until one is configured", "err", err)
			}
			ch = d.setStateLocked(StateNoCredential)
		} else if errors.Is(err, provisioning.ErrCredentialRejected) {
			d.nextAttempt = now.Add(d.rejectedRetry)
			if d.credVersion != nil {
				d.rejectedVer = d.credVersion()
			}
			ch = d.setStateLocked(StateRejected)
			d.logger.Error("credential rejected; not retrying until it is replaced (or SIGHUP)", "err", err, "retry_at", d.nextAttempt.UTC().Format(time.RFC3339))
		} else {
			wait := d.bo.Next()
			if ra := retryAfter(err); ra > wait {
				wait = ra
			}
			d.nextAttempt = now.Add(wait)
			ch = d.setStateLocked(StateBackoff)
			d.logger.Warn("mint failed; backing off", "err", err, "attempt", d.consecutive, "wait", wait.Round(time.Millisecond))
		}
		for _, w := range d.waiters {
			w.ch <- getResult{err: err}
		}
		d.waiters = nil
	}
	d.mu.Unlock()
	d.notify(ch)
}

// retryAfter returns the Retry-After delay a backend sent with err, if any.
func retryAfter(err error) time.Duration {
	var he *provisioning.HTTPError
	if errors.As(err, &he) {
		return he.RetryAfter
	}
	return 0
}

// shortKeyLocked sets the refresh floor after a mint: a key that lives less than
// minValid + refreshMargin + refreshFloor would be due for replacement (almost) at once,
// so the next refresh waits at least the floor, which backs off while the keys stay
// short; the first such key logs a warning.
func (d *Daemon) shortKeyLocked(k realtime.Key, now time.Time) {
	if k.ValidFor(now, d.minValid+refreshMargin+refreshFloor) {
		d.shortBo.Reset()
		d.refreshAfter = time.Time{}
		return
	}
	wait := d.shortBo.Next()
	d.refreshAfter = now.Add(wait)
	if !d.warnedShort {
		d.warnedShort = true
		d.logger.Warn("the backend's keys live shorter than min_validity + 5s, so a prefetched key is stale as soon as it is minted; replacing it at most every "+
			refreshFloor.String()+" (backing off to "+max(refreshFloor, d.bmax).String()+"); lower min_validity or raise key_lifetime",
			"key_lifetime", k.ExpiresAt.Sub(now).Round(time.Second), "min_validity", d.minValid, "next_refresh_in", wait.Round(time.Millisecond))
	}
}

// refreshFloor is the shortest time between two prefetch mints whose keys would be
// replaced at once (keys that live less than the minimum validity plus refreshMargin);
// it doubles up to the backoff's max while the keys stay that short.
const refreshFloor = 5 * time.Second
