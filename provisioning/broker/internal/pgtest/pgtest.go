// Package pgtest starts a throwaway PostgreSQL cluster for tests: Debian's server
// binaries (initdb, pg_ctl), a data directory in a temporary directory, listening only on
// a Unix socket there, with trust authentication for the user "edgevoice". As root
// (initdb refuses to run as root) the server runs as the user nobody. Tests are skipped
// when the binaries are missing (build/install-deps.sh installs them).
package pgtest

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"
)

// BinDir is where Debian installs PostgreSQL 15's server binaries.
var BinDir = "/usr/lib/postgresql/15/bin"

// Cluster is a running throwaway cluster.
type Cluster struct {
	dir  string
	cred *syscall.Credential // nil: run as the current user
	dbs  atomic.Int64

	mu      sync.Mutex
	running bool
}

// Available reports whether the PostgreSQL server binaries are installed.
func Available() bool {
	_, err1 := os.Stat(filepath.Join(BinDir, "initdb"))
	_, err2 := os.Stat(filepath.Join(BinDir, "pg_ctl"))
	return err1 == nil && err2 == nil
}

// New initialises and starts a cluster; Stop removes it. It takes about a second.
func New() (*Cluster, error) {
	// as root the server runs as nobody, who must reach the directory: /tmp, whatever
	// TMPDIR says (which may be under root's home)
	base := ""
	if os.Geteuid() == 0 {
		base = "/tmp"
	}
	dir, err := os.MkdirTemp(base, "edgevoice-pg-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("nobody")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pgtest: running as root and no user nobody to run PostgreSQL as: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	// the socket directory must be reachable by the test (and the data's parent by the
	// server)
	if err := os.Chmod(dir, 0o755); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if out, err := c.run("initdb", "-D", c.data(), "-U", "edgevoice", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtest: initdb: %v\n%s", err, out)
	}
	if err := c.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return c, nil
}

func (c *Cluster) data() string { return filepath.Join(c.dir, "data") }

// run runs a server binary as the cluster's user.
func (c *Cluster) run(bin string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(BinDir, bin), args...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	return cmd.CombinedOutput()
}

// Start starts the (stopped) server and waits until it accepts connections.
func (c *Cluster) Start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running {
		return nil
	}
	opts := "-k " + c.dir + " -c listen_addresses= -c fsync=off -c full_page_writes=off" +
		" -c shared_buffers=32MB -c max_connections=300 -c dynamic_shared_memory_type=mmap"
	if out, err := c.run("pg_ctl", "-D", c.data(), "-o", opts, "-l", filepath.Join(c.dir, "server.log"), "-w", "-t", "60", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "server.log"))
		return fmt.Errorf("pgtest: pg_ctl start: %v\n%s\n%s", err, out, log)
	}
	c.running = true
	return nil
}

// Stop stops the server at once (immediate mode: connections are cut, as in a crash).
func (c *Cluster) Stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.running {
		return nil
	}
	if out, err := c.run("pg_ctl", "-D", c.data(), "-m", "immediate", "-w", "stop"); err != nil {
		return fmt.Errorf("pgtest: pg_ctl stop: %v\n%s", err, out)
	}
	c.running = false
	return nil
}

// Remove stops the server and deletes the cluster.
func (c *Cluster) Remove() {
	c.Stop()
	os.RemoveAll(c.dir)
}

// URL is the postgres:// URL of database db.
func (c *Cluster) URL(db string) string {
	return "postgres://edgevoice@/" + db + "?host=" + url.QueryEscape(c.dir) + "&sslmode=disable"
}

// NewDatabase creates an empty database and returns its URL.
func (c *Cluster) NewDatabase(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("t%d", c.dbs.Add(1))
	db, err := sql.Open("pgx", c.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("pgtest: CREATE DATABASE: %v", err)
	}
	return c.URL(name)
}

var (
	shared     *Cluster
	sharedErr  error
	sharedOnce sync.Once
)

// Shared is one cluster for a test binary (started at the first call; skips t if the
// binaries are missing). The test binary's TestMain removes it with RemoveShared.
func Shared(t testing.TB) *Cluster {
	t.Helper()
	if !Available() {
		t.Skipf("PostgreSQL server binaries not in %s (build/install-deps.sh installs postgresql)", BinDir)
	}
	sharedOnce.Do(func() { shared, sharedErr = New() })
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared
}

// RemoveShared removes the Shared cluster, if one was started.
func RemoveShared() {
	if shared != nil {
		shared.Remove()
	}
}
